"""The route × role × foreign-object matrix (issue 12): every URL pattern and every admin model, as every
demo role, with objects of patients in four scopes.

Routes are enumerated from the URLconf and admin models from `admin.site`, so a new route cannot be
forgotten: a route whose parameters the matrix cannot fill fails `test_every_route_is_covered` until it
is given a filler in PARAMS (or listed in NOT_FILLED with a reason).

For every request: never a 500, and the body never names a patient outside the role's scope (names,
emails and MRNs of every out-of-scope patient are searched for). For a URL naming an object the role may
not see: a refusal (404/403/405, or the login page for the anonymous).

The demo (seed_demo) is seeded once per module inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ROLES = {
    "anonymous": None,
    "superuser": "admin@demo.mahalo.health",
    "lead": "lead@demo.mahalo.health",
    "cardio": "cardio@demo.mahalo.health",
    "dietitian": "dietitian@demo.mahalo.health",
    "patient": "patient@demo.mahalo.health",
    "outsider": "outsider@other.mahalo.health",
}
# Four scopes of patients: the portal patient, another patient of their program, a patient of the
# tenant's other program, a patient of the other tenant.
SCOPES = ("self", "cardiac", "metabolic", "foreign")

# URL kwarg -> model label. A route-specific entry (route name, kwarg) wins.
KWARG_MODELS = {
    "patient_id": "patients.Patient", "patient_pk": "patients.Patient",
    "link_id": "patients.CareTeamLink", "thread_id": "messaging.Thread", "message_id": "messaging.Message",
    "message_pk": "messaging.Message", "attachment_id": "messaging.Attachment",
    "visit_id": "scheduling.Visit", "request_id": "scheduling.VisitRequest", "slot_id": "scheduling.Slot",
    "availability_id": "scheduling.Availability", "connection_id": "wearables.Connection",
    "alert_id": "clinical.Alert", "rule_id": "clinical.ClinicalRule", "observation_id": "clinical.Observation",
    "recommendation_id": "clinical.Recommendation", "episode_id": "clinical.RpmEpisode",
    "meal_id": "nutrition.Meal", "food_id": "nutrition.Food", "assignment_id": "assessments.Assignment",
    "questionnaire_id": "assessments.Questionnaire",
    "call_id": "scheduling.VirtualVisitSession", "consent_id": "clinical.RpmConsent",
    "task_id": "care.Task", "medication_id": "care.Medication", "plan_id": "care.CarePlan", "goal_id": "care.Goal",
    "dose_id": "care.MedicationDose", "note_id": "care.VisitNote", "referral_id": "care.Referral",
    "excuse_id": "care.ExcuseNote",
    "prescription_id": "care.ExercisePrescription", "phase_id": "care.TherapyPhase", "activity_id": "care.Activity",
    "routine_id": "care.TherapyRoutine",
    "report_id": "reports.Report", "export_id": "reports.ReportExport", "summary_id": "reports.WeeklySummary",
    "program_id": "patients.Program", "job_id": "reports.FhirExportJob",
}
ROUTE_MODELS = {
    ("patient_import_detail", "import_id"): "patients.PatientImport",
    ("patient_import_run", "import_id"): "patients.PatientImport",
    ("patient_import_errors", "import_id"): "patients.PatientImport",
    ("portal_apple_health_status", "import_id"): "wearables.AppleHealthImport",
    ("staff_apple_health_status", "import_id"): "wearables.AppleHealthImport",
    ("api_patient_threads", "pk"): "messaging.Thread", ("api_patient_thread", "pk"): "messaging.Thread",
    ("api_thread_messages", "pk"): "messaging.Thread", ("api_thread_read", "pk"): "messaging.Thread",
    ("api_thread_message_edit", "pk"): "messaging.Thread", ("api_thread_message_delete", "pk"): "messaging.Thread",
    ("api_thread_message_record", "pk"): "messaging.Thread",
    ("notification_read", "pk"): "messaging.Notification",
    ("portal_event_act", "event_id"): "scheduling.CalendarEvent",
    ("portal_today_event", "event_id"): "scheduling.CalendarEvent",
    ("assessments_safety_outcome", "event_id"): "assessments.SafetyEvent",
    ("api_food", "pk"): "nutrition.Food", ("api_my_meal", "pk"): "nutrition.Meal",
    ("api_my_meal_remove", "pk"): "nutrition.Meal", ("api_questionnaire", "pk"): "assessments.Questionnaire",
    ("api_questionnaire_fhir", "pk"): "assessments.Questionnaire",
    ("api_patient_assignment_response", "pk"): "assessments.Assignment",
    ("api_my_assignment_response", "pk"): "assessments.Assignment",
    ("api_my_meal_edit", "pk"): "nutrition.Meal", ("api_my_meal_photo", "pk"): "nutrition.Meal",
    ("api_patient_meal_edit", "pk"): "nutrition.Meal", ("api_patient_meal_photo", "pk"): "nutrition.Meal",
    ("api_my_wellness_session", "pk"): "assessments.WellnessSession",
    ("api_patient_wellness_session", "pk"): "assessments.WellnessSession",
    ("portal_wellness_session", "session_id"): "assessments.WellnessSession",
    ("api_my_dose", "pk"): "care.MedicationDose",
    ("api_patient_lab", "pk"): "clinical.LabOrder", ("api_my_notification_read", "pk"): "messaging.Notification",
    ("api_my_calendar_event", "pk"): "scheduling.CalendarEvent",
    ("referral_attachment", "attachment_id"): "care.ReferralAttachment",
}
ROUTER_MODELS = {  # DRF router basenames: their `pk`
    "patient": "patients.Patient", "scheduling-visit": "scheduling.Visit",
    "scheduling-visit-request": "scheduling.VisitRequest", "alert": "clinical.Alert",
    "scheduling-call": "scheduling.VirtualVisitSession", "rule": "clinical.ClinicalRule", "care-task": "care.Task",
    "program": "patients.Program",
}
# Plain values (not objects).
CONSTANTS = {
    "format": "json", ("api-root", "format"): ".json", ("calendar_feed", "token"): "not-a-feed-token",
    "day": "2026-01-15", "provider": "whoop", "key": "not-a-key", "uidb36": "1",
    ("care_team_act", "action"): "end", ("care_team_respond", "action"): "approve",
    ("schedule_request_act", "action"): "triage", ("schedule_availability_act", "action"): "pause",
    ("portal_request_act", "action"): "cancel", ("portal_event_act", "action"): "skip",
    ("fhir_type", "resource_type"): "Observation", ("fhir_read", "resource_type"): "Observation",
    ("fhir_read", "resource_id"): "not-an-id", ("fhir_export_file", "file_name"): "Patient.ndjson",
    ("alert_action", "action"): "acknowledge", ("call_act", "action"): "cancel", ("task_action", "action"): "complete",
    ("report_share", "token"): "not-a-share-token", ("report_share_pdf", "token"): "not-a-share-token",
}
# How an object reaches its owner, for models without a direct `patient` field.
OWNER_PATHS = {
    "messaging.Message": ("patient", "thread__patient"),
    "messaging.Attachment": ("patient", "message__thread__patient"),
    "messaging.MessageRevision": ("patient", "message__thread__patient"),
    "messaging.MessageReceipt": ("patient", "message__thread__patient"),
    "messaging.ThreadParticipant": ("patient", "thread__patient"),
    "messaging.Notification": ("user", "recipient"),
    "scheduling.CalendarFeedToken": ("user", "user"),
    "patients.PatientImport": ("imports", "created_by"),
    "patients.CareTeamLink": ("link", "patient"),
    "care.ReferralAttachment": ("patient", "referral__patient"),
    "care.NoteAddendum": ("patient", "note__patient"),
    # Rehab's library rows: the tenant's (program empty) or a clinic's; reached through the tenant.
    "care.TherapyPhase": ("project", "project"), "care.Activity": ("project", "project"),
}
# The admin lists a patient's notifications (deliveries) to staff who see the patient.
ADMIN_OWNER_PATHS = {"messaging.Notification": ("patient", "patient")}
# Routes the matrix does not drive, each with the reason.
NOT_FILLED: dict[str, str] = {
    "account_confirm_email": "allauth's signed key; any value is a bad key (covered by key=not-a-key anyway)",
}
# Unauthenticated by design (login, signup, reset, health, webhooks, feeds by secret token).
PUBLIC = re.compile(r"^/(accounts/|healthz|favicon|api/v1/auth/|api/schema|api/docs|wearables/(callback|webhooks)/"
                    r"|calendar/feed/|share/reports/)")
REFUSED = {400, 401, 403, 404, 405}


@dataclass
class Route:
    name: str
    template: str  # the path with {kwarg} holes
    kwargs: tuple[str, ...]

    def url(self, values: dict) -> str:
        return "/" + self.template.format(**values)


def _routes() -> list[Route]:
    out = []

    def walk(patterns, prefix):
        for p in patterns:
            text = str(p.pattern)
            if isinstance(p, URLResolver):
                if text.startswith("admin/"):
                    continue
                walk(p.url_patterns, prefix + text)
            elif isinstance(p, URLPattern):
                out.append(_route(p.name or "", prefix + text))

    walk(get_resolver().url_patterns, "")
    return out


def _route(name: str, raw: str) -> Route:
    text = raw.replace("{", "{{").replace("}", "}}")
    kwargs = []

    def hole(m):
        kwargs.append(m.group(1))
        return "{" + m.group(1) + "}"

    text = re.sub(r"\\?\.?\(\?P<(\w+)>[^)]*\)", lambda m: ("." if m.group(0).startswith(("\\.", ".")) else "")
                  + hole(m), text)
    text = re.sub(r"<(?:\w+:)?(\w+)>", hole, text)
    text = text.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")
    return Route(name, text, tuple(kwargs))


ROUTES = _routes()


def _kwarg_target(route: Route, kwarg: str):
    """('model', label) or ('value', text) or None when the matrix can't fill it."""
    if (route.name, kwarg) in ROUTE_MODELS:
        return "model", ROUTE_MODELS[(route.name, kwarg)]
    if (route.name, kwarg) in CONSTANTS:
        return "value", CONSTANTS[(route.name, kwarg)]
    if kwarg == "pk" and "-" in route.name:
        basename = route.name.rsplit("-", 1)[0]
        for base in (basename, basename.rsplit("-", 1)[0]):
            if base in ROUTER_MODELS:
                return "model", ROUTER_MODELS[base]
    if kwarg in KWARG_MODELS:
        return "model", KWARG_MODELS[kwarg]
    if kwarg in CONSTANTS:
        return "value", CONSTANTS[kwarg]
    return None


def test_every_route_is_covered():
    """A new route either gets a filler here or is listed with a reason: it is never silently skipped."""
    missing = [f"{r.name} {r.template} ({k})" for r in ROUTES if r.name not in NOT_FILLED
               for k in r.kwargs if _kwarg_target(r, k) is None]
    assert not missing, "Routes the matrix can't fill (add them to its PARAMS):\n" + "\n".join(missing)
    assert len(ROUTES) > 150


def _owner(label, admin=False):
    model = apps.get_model(label)
    if admin and label in ADMIN_OWNER_PATHS:
        return ADMIN_OWNER_PATHS[label]
    if label in OWNER_PATHS:
        return OWNER_PATHS[label]
    if label == "patients.Patient":
        return "patient", "pk"
    if label == "mahalo.Project":
        return "project", "self"
    names = {f.name for f in model._meta.get_fields()}
    for kind in ("patient", "program", "project"):
        if kind in names:
            return kind, kind
    for kind in ("user", "owner", "staff", "recipient"):
        if kind in names:
            return "user", kind if kind != "staff" else "staff__user"
    return "platform", None


# --- the seeded world -------------------------------------------------------------------------------

class Demo:
    def __init__(self):
        from allauth.mfa.models import Authenticator

        from conftest import enrol_totp
        from mahalo import access
        from mahalo.models import User
        from patients.models import CareTeamLink, Patient

        self.users = {role: User.objects.get(email=email) if email else None for role, email in ROLES.items()}
        for role, user in self.users.items():
            if user is not None and role != "patient" and not Authenticator.objects.filter(user=user).exists():
                enrol_totp(user)
        me = Patient.objects.get(user=self.users["patient"])
        self.me = me
        self.scopes = {
            "self": Patient.objects.filter(pk=me.pk),
            "cardiac": Patient.objects.filter(program=me.program).exclude(pk=me.pk),
            "metabolic": Patient.objects.filter(project=me.project).exclude(program=me.program),
            "foreign": Patient.objects.exclude(project=me.project),
        }
        _complete(self)
        everyone = list(Patient.objects.select_related("user"))
        self.markers = {}
        self.visible = {}
        for role, user in self.users.items():
            seen = set(access.patients_for(user).values_list("pk", flat=True)) if user else set()
            self.visible[role] = seen
            # A patient who asked this clinician to join their care team is named to them (the request,
            # its notification) before the link is active.
            asked = set(CareTeamLink.objects.filter(staff__user=user).values_list("patient", flat=True)) if user \
                else set()
            inside = {m for p in everyone if p.pk in seen | asked for m in _markers(p) | _contacts(p)}
            self.markers[role] = sorted({m for p in everyone if p.pk not in seen for m in _markers(p)} - inside)
        self._objects = {}

    def obj(self, label, scope, admin=False):
        key = (label, scope, admin)
        if key not in self._objects:
            kind, path = _owner(label, admin)
            model = apps.get_model(label)
            patients = self.scopes[scope]
            if kind == "patient":
                qs = model._default_manager.filter(**{f"{path}__in": patients}) if path != "pk" else patients
            elif kind == "program":
                qs = model._default_manager.filter(**{f"{path}__in": patients.values("program")})
            elif kind == "project":
                lookup = "pk" if path == "self" else path
                qs = model._default_manager.filter(**{f"{lookup}__in": patients.values("project")})
                if scope != "foreign" and not qs.exists():  # platform-wide rows (the food table)
                    qs = model._default_manager.filter(**{f"{path}__isnull": True})
            elif kind == "link":
                qs = model._default_manager.filter(patient__in=patients)
            elif kind in ("user", "imports"):
                users = {"self": ["patient"], "cardiac": ["cardio"], "metabolic": ["dietitian"],
                         "foreign": ["outsider"]}[scope]
                qs = model._default_manager.filter(**{f"{path}__in": [self.users[u] for u in users]})
            else:
                qs = model._default_manager.none()
            self._objects[key] = qs.order_by("pk").first()
        return self._objects[key]

    def may_see(self, role, label, obj, admin=False) -> bool:
        """Whether the role may see obj by the gate (superusers everything)."""
        if role == "superuser":
            return True
        user = self.users[role]
        if user is None:
            return False
        from mahalo import access

        kind, path = _owner(label, admin)
        if kind == "patient":
            patient = obj if path == "pk" else _follow(obj, path)
            return patient is None or patient.pk in self.visible[role]
        if kind == "program":
            program = _follow(obj, path)
            return program is None or access.programs_for(user).filter(pk=program.pk).exists()
        if kind == "project":
            project = _follow(obj, path)
            return project is None or getattr(access.project_of(user), "pk", None) == project.pk
        if kind == "user":
            return _follow(obj, path) == user
        if kind == "imports":
            return access.imports_for(user).filter(pk=obj.pk).exists()
        if kind == "link":  # a care-team request is addressed to its clinician before it grants anything
            return obj.patient_id in self.visible[role] or obj.staff.user_id == user.pk or (
                role == "patient" and obj.patient.user_id == user.pk)
        return False


def _care_documents(patient, staff):
    """A visit note, a referral with a file and an excuse note (issued) of this patient, by their clinician."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile

    from care.services import notes, referrals

    note = notes.note_create(patient=patient, actor=staff, via="test")
    notes.note_update(note=note, actor=staff, sections={"plan": "Walk daily"}, shareable=True)
    notes.note_sign(note=note, actor=staff)
    referrals.referral_create(patient=patient, actor=staff, data=referrals.ReferralIn(specialty="Cardiology",
                                                                                       reason="Palpitations"),
                              files=[SimpleUploadedFile("n.txt", b"plain note", content_type="text/plain")])
    excuse = referrals.excuse_create(patient=patient, actor=staff, data=referrals.ExcuseIn(
        type="WORK", start_date=patient.today, end_date=patient.today + timedelta(days=2), reason="Rest"))
    referrals.excuse_issue(note=excuse, actor=staff)


def _complete(demo):
    """Rows the demo does not seed, one per scope, so every route has objects to attack."""
    from decimal import Decimal

    from assessments import instruments
    from assessments.services import response_submit
    from assessments.tests.factories import assign, phq9_answers
    from care.demo import ensure_library
    from care.services import rehab
    from clinical.tests.factories import BloodTestFactory, LabOrderFactory, RecommendationFactory
    from messaging.models import Thread
    from messaging.tests.factories import attach
    from patients.tests.factories import PatientImportFactory
    from reports.models import FhirExportJob
    from reports.tests.factories import export_row, report_row, summary_row
    from wearables.models import AppleHealthImport

    staff_of_scope = {"self": "cardio", "cardiac": "cardio", "metabolic": "dietitian", "foreign": "outsider"}
    for scope, patients in demo.scopes.items():
        patient = patients.order_by("pk").first()
        staff = demo.users[staff_of_scope[scope]]
        if scope != "self":
            PatientImportFactory(created_by=staff, file=ContentFile(b"first_name,last_name\n", name="p.csv"))
        RecommendationFactory(patient=patient)
        BloodTestFactory(patient=patient, lab_order=LabOrderFactory(patient=patient))
        AppleHealthImport.objects.create(project=patient.project, patient=patient, file="imports/x.zip",
                                         original_name="export.zip")
        response_submit(assignment=assign(patient, instruments.PHQ9), answers=phq9_answers([0] * 8 + [1]),
                        actor=staff, via="staff")
        _care_documents(patient, demo.users["lead"] if scope == "metabolic" else staff)  # the dietitian can't write
        export_row(report_row(patient, actor=staff), actor=staff)  # a generated report and a web link
        summary_row(patient)
        FhirExportJob.objects.create(project=patient.project, program=patient.program, requested_by=staff,
                                     kind="group", request_url=f"/fhir/R4/Group/{patient.program_id}/$export")
        thread = Thread.objects.filter(patient__in=patients).order_by("pk").first()
        if thread is not None:
            attach(thread, thread.created_by or staff)
        ensure_library(patient.project)  # rehab: the tenant's library and a prescription per scope
        rehab.prescription_create(patient=patient, actor=staff, via="test", data=rehab.PrescriptionIn(
            exercise=rehab.exercises_for(patient).first(), minutes=20, sessions_per_week=3, hrr_low=Decimal("0.4"),
            hrr_high=Decimal("0.6"), resting_hr=65, max_hr=150, start_date=patient.today))


def _follow(obj, path):
    if path == "self":
        return obj
    for part in path.split("__"):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _patient_of(obj):
    kind, path = _owner(obj._meta.label)
    return _follow(obj, path) if kind == "patient" and path != "pk" else None


def _contacts(patient) -> set[str]:
    # Demo contacts are drawn from the same name lists: another patient's name may be a contact's.
    return {patient.emergency_contact_1_name, patient.emergency_contact_2_name, patient.primary_caregiver}


def _markers(patient) -> set[str]:
    out = {patient.full_name}
    if patient.mrn and len(patient.mrn) >= 5:
        out.add(patient.mrn)
    for email in (patient.email, getattr(patient.user, "email", "")):
        if email:
            out.add(email)
    return {m for m in out if len(m) >= 5}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")), STORAGES={
        **settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}})
    with django_db_blocker.unblock(), media:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
            yield Demo()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _client(demo, role):
    client = Client(raise_request_exception=False)
    user = demo.users[role]
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _check(demo, role, method, url, response, refused: bool, problems: list):
    status = response.status_code
    if status >= 500:
        problems.append(f"{role} {method} {url}: {status}")
        return
    if refused and status not in REFUSED:
        login_redirect = status == 302 and (role == "anonymous" or "/login" in response.get("Location", ""))
        if not login_redirect:
            problems.append(f"{role} {method} {url}: {status} for an object out of scope")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    leaked = [m for m in demo.markers[role] if m in text]
    if leaked:
        problems.append(f"{role} {method} {url}: names out-of-scope patients {leaked[:3]}")


def _cells(demo, route):
    """(url, refused) for each scope the route can be filled for; one cell for routes without objects."""
    if not route.kwargs:
        return [(route.url({}), False)]
    cells = []
    for scope in SCOPES:
        values, owners = {}, []
        # Objects first, then the patient they belong to: a cell is one patient's, as a real URL is.
        order = sorted(route.kwargs, key=lambda k: _kwarg_target(route, k) == ("model", "patients.Patient"))
        for kwarg in order:
            kind, target = _kwarg_target(route, kwarg)
            if kind == "value":
                values[kwarg] = target
                continue
            obj = demo.obj(target, scope)
            if target == "patients.Patient":
                obj = next((p for _, o in owners if (p := _patient_of(o)) is not None), obj)
            if obj is None:
                break
            values[kwarg] = obj.pk
            owners.append((target, obj))
        else:
            cells.append((route.url(values), owners))
    return cells


PAGE_ROUTES = [r for r in ROUTES if r.name not in NOT_FILLED]


@pytest.mark.parametrize("role", list(ROLES))
def test_pages_and_api(demo, role):
    client = _client(demo, role)
    problems, unfilled = [], []
    for route in PAGE_ROUTES:
        cells = _cells(demo, route)
        if not cells:
            unfilled.append(route.name)
        rendered = False
        for url, owners in cells:
            refused = bool(owners) and not all(demo.may_see(role, label, obj) for label, obj in owners)
            if role == "anonymous" and not PUBLIC.match(url):
                refused = True
            if not refused and rendered:
                continue  # one in-scope page per route is enough to find a 500 or a leak in it
            methods = [("GET", {})] if refused else [("GET", {}), ("HTMX", {"HTTP_HX_REQUEST": "true"})]
            for method, extra in methods:
                response = client.get(url, **extra)
                _check(demo, role, method, url, response, refused, problems)
            rendered = rendered or not refused
            if refused or role in ("anonymous", "outsider"):
                with transaction.atomic():
                    response = client.post(url, {})
                    transaction.set_rollback(True)
                _check(demo, role, "POST", url, response, refused, problems)
    # Every route with objects must have an object in at least one scope of the demo.
    assert not unfilled, f"No demo object fills these routes (seed one, or list them in NOT_FILLED): {unfilled}"
    assert not problems, "\n".join(problems)


ADMIN_MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("role", list(ROLES))
def test_admin(demo, role):
    client = _client(demo, role)
    problems = []
    for model in ADMIN_MODELS:
        label = model._meta.label
        info = (model._meta.app_label, model._meta.model_name)
        base = "/admin/{}/{}/".format(*info)
        for url in (base, base + "add/"):
            response = client.get(url)
            _check(demo, role, "GET", url, response, role == "anonymous", problems)
        for scope in SCOPES:
            obj = demo.obj(label, scope, admin=True)
            if obj is None:
                continue
            refused = not demo.may_see(role, label, obj, admin=True)
            url = f"{base}{obj.pk}/change/"
            response = client.get(url)
            if refused and response.status_code == 302 and "/change/" not in response.get("Location", ""):
                continue  # the admin's "doesn't exist" redirect to its index
            _check(demo, role, "GET", url, response, refused, problems)
    assert not problems, "\n".join(problems)


def test_admin_models_are_all_listed():
    assert len(ADMIN_MODELS) >= 50
