"""Pages: the chart's Assessments tab, the staff questionnaire library and preview, and the
portal's questionnaires (one question per screen, save and resume, crisis screen).

Every protected row is loaded through mahalo.access (404 for missing and forbidden alike);
every write is a call to assessments.services.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from assessments import fhir, services
from assessments.forms import AssignForm, ImportForm, OutcomeForm
from assessments.models import Assignment, Question, Questionnaire, Response, SafetyEvent
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell

# --- Chart tab ------------------------------------------------------------------------------------------


def _tab(request, patient, *, assign_form=None, outcome_forms=None, status=200) -> HttpResponse:
    now = timezone.now()
    assignments = list(access.scoped(request.user, Assignment.objects, "clinical").filter(patient=patient)
                       .select_related("questionnaire").order_by("-available_at")[:50])
    events = list(access.scoped(request.user, SafetyEvent.objects, "clinical").filter(patient=patient)
                  .select_related("question", "outcome_by", "response__questionnaire"))
    context = {
        "history": services.history(patient),
        "open_assignments": [a for a in assignments if a.is_open],
        "past_assignments": [a for a in assignments if not a.is_open][:20],
        "overdue_ids": {a.pk for a in assignments if a.is_open and a.due_at and a.due_at < now},
        "safety_events": events,
        "open_safety": [e for e in events if not e.outcome],
        "outcome_forms": outcome_forms or {},
        "outcome_form": OutcomeForm(),
        "can_write": access.can(request.user, "clinical", "write"),
        "can_update": access.can(request.user, "clinical", "update"),
        "assign_form": assign_form or AssignForm(questionnaires=services.published(patient.project),
                                                 tz=patient.program.tz),
        "tzname": patient.program.timezone,
        "now": now,
    }
    response = shell.render_chart(request, patient, "assessments", context)
    response.status_code = status
    return response


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("clinical", "read")
def patient_assessments(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")
    return _tab(request, patient)


@require_POST
@permission_required("clinical", "write")
def assign(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", "clinical")
    form = AssignForm(request.POST, questionnaires=services.published(patient.project), tz=patient.program.tz)
    if form.is_valid():
        questionnaire = services.resolve(patient.project, form.cleaned_data["questionnaire"])
        try:
            services.assignment_create(patient=patient, questionnaire=questionnaire, actor=request.user,
                                       due=form.cleaned_data["due"], request=request)
            return redirect("patient_assessments", patient.pk)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
    return _tab(request, patient, assign_form=form, status=400)


@require_POST
@permission_required("clinical", "update")
def safety_outcome(request: HttpRequest, patient_id, event_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", "clinical")
    event = access.load(request, SafetyEvent.objects.filter(patient=patient), event_id, resource="clinical",
                        action="update")
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.safety_outcome_record(event=event, outcome=form.cleaned_data["outcome"],
                                           note=form.cleaned_data["note"], actor=request.user, request=request)
            return redirect("patient_assessments", patient.pk)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
    return _tab(request, patient, outcome_forms={event.pk: form}, status=400)


# --- Staff library and preview -------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@permission_required("clinical", "read")
def library(request: HttpRequest) -> HttpResponse:
    form, status = ImportForm(), 200
    if request.method == "POST":
        if not access.can(request.user, "clinical", "write"):
            return render(request, "403.html", status=403)
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > fhir.MAX_BYTES:
                    raise fhir.ImportRefused([f"The file is larger than {fhir.MAX_BYTES // 1024} KB."])
                questionnaire = services.questionnaire_import(project=access.project_of(request.user),
                                                              raw=upload.read(), actor=request.user, request=request)
                return redirect("questionnaire_preview", questionnaire.pk)
            except fhir.ImportRefused as exc:
                for message in exc.errors:
                    form.add_error("file", message)
        status = 400
    rows = access.scoped(request.user, Questionnaire.objects, "clinical").order_by("name", "-version")
    return render(request, "assessments/library.html", {"rows": rows, "form": form,
                                                        "can_write": access.can(request.user, "clinical", "write")},
                  status=status)


@permission_required("clinical", "read")
def preview(request: HttpRequest, questionnaire_id) -> HttpResponse:
    questionnaire = access.load(request, Questionnaire.objects, questionnaire_id, resource="clinical", via="project")
    questions = list(questionnaire.questions.all())
    return render(request, "assessments/preview.html", {"questionnaire": questionnaire, "questions": questions,
                                                        "total": len([q for q in questions if q.answerable])})


# --- Portal ---------------------------------------------------------------------------------------------


@shell.portal_page
def portal_list(request: HttpRequest, patient) -> HttpResponse:
    mine = access.scoped(request.user, Assignment.objects, "clinical").filter(patient=patient)
    done = mine.filter(status=Assignment.Status.COMPLETED).select_related("questionnaire").order_by(
        "-completed_at")[:10]
    return render(request, "assessments/portal_list.html", {
        "portal_nav": "questionnaires", "open": services.open_assignments(patient), "done": done})


def _portal_assignment(request, patient, assignment_id, action="read") -> Assignment:
    return access.load(request, Assignment.objects.filter(patient=patient).select_related("questionnaire"),
                       assignment_id, resource="clinical", action=action)


@vary_on_headers("HX-Request")
@shell.portal_page
def portal_answer(request: HttpRequest, patient, assignment_id) -> HttpResponse:
    assignment = _portal_assignment(request, patient, assignment_id,
                                    "write" if request.method == "POST" else "read")
    if assignment.status == Assignment.Status.COMPLETED:
        return redirect("portal_questionnaire_done", assignment.pk)
    questions = list(assignment.questionnaire.questions.all())
    if not assignment.is_open or (assignment.expires_at and assignment.expires_at <= timezone.now()):
        return render(request, "assessments/portal_closed.html", {"portal_nav": "questionnaires",
                                                                  "assignment": assignment}, status=410)
    if request.method == "POST":
        return _portal_post(request, patient, assignment, questions)
    return _render_step(request, assignment, questions, _step_number(request.GET.get("step")))


def _step_number(raw) -> int:
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


def _render_step(request, assignment, questions, number: int, *, errors=None, typed=None, status=200):
    draft = assignment.draft or {}
    asked = services.steps(questions, draft)
    base = {"portal_nav": "questionnaires", "assignment": assignment, "questionnaire": assignment.questionnaire,
            "count": len(asked), "errors": errors or {}}
    if number > len(asked):
        rows = [{"number": i, "question": q, "display": _display(q, draft.get(q.link_id))}
                for i, q in enumerate(asked, start=1)]
        return render(request, "assessments/portal_review.html", {**base, "rows": rows, "step": len(asked) + 1},
                      status=status)
    question = asked[number - 1]
    value = typed if typed is not None else draft.get(question.link_id)
    template = "assessments/portal_answer.html#card" if request.htmx else "assessments/portal_answer.html"
    return render(request, template, {**base, "question": question, "step": number, "value": value,
                                      "values": value if isinstance(value, list) else [value],
                                      "error": (errors or {}).get(question.link_id)}, status=status)


def _display(question: Question, value) -> str:
    if value in (None, "", []):
        return ""
    if question.options:
        labels = {o["code"]: o.get("display") or o["code"] for o in question.options}
        return "; ".join(labels.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value]))
    return str(value)


def _portal_post(request, patient, assignment, questions) -> HttpResponse:
    go = request.POST.get("go", "next")
    number = _step_number(request.POST.get("step"))
    url = reverse("portal_questionnaire", args=[assignment.pk])
    if go == "back":
        return redirect(f"{url}?step={max(number - 1, 1)}")
    if go == "submit":
        try:
            services.response_submit(assignment=assignment, answers=assignment.draft or {}, actor=request.user,
                                     via=Response.Via.PORTAL, request=request)
        except ValidationError as exc:
            return _render_step(request, assignment, questions, len(questions) + 1, errors=exc.message_dict,
                                status=400)
        return redirect("portal_questionnaire_done", assignment.pk)
    asked = services.steps(questions, assignment.draft or {})
    if not 1 <= number <= len(asked):
        return redirect(f"{url}?step={len(asked) + 1}")
    question = asked[number - 1]
    value = (request.POST.getlist("answer") if question.type == Question.Type.MULTIPLE
             else request.POST.get("answer", "").strip())
    try:
        assignment = services.answer_step(assignment=assignment, question=question, value=value, actor=request.user,
                                          request=request)
    except ValidationError as exc:
        return _render_step(request, assignment, questions, number, errors=exc.message_dict, typed=value, status=400)
    return redirect(f"{url}?step={number + 1}")


@shell.portal_page
def portal_done(request: HttpRequest, patient, assignment_id) -> HttpResponse:
    assignment = _portal_assignment(request, patient, assignment_id)
    response = getattr(assignment, "response", None) if assignment.status == Assignment.Status.COMPLETED else None
    if response is None:
        return redirect("portal_questionnaire", assignment.pk)
    crisis = services.crisis_resources(patient) if response.safety_flag else None
    follow_up = services.open_assignments(patient).filter(source=Assignment.Source.TRIGGER).first()
    return render(request, "assessments/portal_done.html", {"portal_nav": "questionnaires",
                                                            "assignment": assignment, "response": response,
                                                            "crisis": crisis, "follow_up": follow_up})
