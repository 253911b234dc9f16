"""Nutrition pages: the chart's Nutrition tab (staff), the portal's Food & fluids page
(patients, phone first) and the clinic food list (staff with nutrition:write).

Views parse, gate, call a service and render; the meal form's state machine is
forms.MealEntry, shared by the portal and the chart. The `food_tracking` flag off for
the tenant: every page answers 404 (the shell hides the tab and the portal entry).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from mahalo import access, audit
from mahalo.decorators import permission_required
from nutrition import foods, menus, photos, services
from nutrition.charts import nutrition_charts
from nutrition.forms import FluidForm, FoodForm, MealEntry, TargetForm
from nutrition.models import Food, Meal
from patients import shell

RANGES = (7, 30)


def _after_save(request, url: str) -> HttpResponse:
    # HTMX swaps only the form; after a save the whole page (totals, message) is new.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _feature_or_404(project) -> None:
    if not services.feature_on(project):
        raise Http404("Food tracking is off.")


def _day_param(request, patient) -> date:
    raw = request.GET.get("day", "")
    try:
        day = date.fromisoformat(raw) if raw else services.today_for(patient)
    except ValueError:
        day = services.today_for(patient)
    return min(day, services.today_for(patient))


def _range_param(request) -> int:
    try:
        days = int(request.GET.get("days", 7))
    except ValueError:
        days = 7
    return days if days in RANGES else 7


# --- Chart tab (staff) ----------------------------------------------------------------------

def _chart_context(request, patient, entry=None, target_form=None, day=None) -> dict:
    day = day or _day_param(request, patient)
    days = _range_param(request)
    can_write = access.can(request.user, "nutrition", "write")
    overview = services.days_overview(patient, days)
    return {
        "summary": services.day_summary(patient, day), "overview": overview,
        "charts": nutrition_charts(overview),
        "day": day, "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < services.today_for(patient) else None,
        "days": days, "ranges": RANGES, "tzname": str(services.tz_of(patient)),
        "entry": entry if entry is not None else (MealEntry(patient) if can_write else None),
        "can_write": can_write, "can_set_targets": access.can(request.user, "nutrition", "update"),
        "target_form": target_form or _target_form(patient),
        "target_history": _target_history(patient),
        "meal_action": reverse("patient_nutrition", args=[patient.pk]),
    }


def _target_form(patient) -> TargetForm:
    target = services.target_of(patient)
    initial = {**target.targets(), "diet_type": target.diet_type_id, "menu": target.menu_id,
               "note": target.note} if target else {}
    return TargetForm(initial=initial, patient=patient)


def _target_history(patient, limit: int = 5) -> list:
    target = services.target_of(patient)
    if target is None:
        return []
    return list(target.history.select_related("history_user").order_by("-history_date")[:limit])


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("nutrition", "read")
def patient_nutrition(request: HttpRequest, patient_id) -> HttpResponse:
    """The Nutrition tab; POST logs a meal for the patient (a dietitian on a call)."""
    patient = access.patient_for_request(request, patient_id, "read", "nutrition")
    _feature_or_404(patient.project)
    entry = None
    status = 200
    if request.method == "POST":
        patient = access.patient_for_request(request, patient_id, "write", "nutrition")
        url = reverse("patient_nutrition", args=[patient.pk])
        entry, done, status = _meal_post(request, patient, action_url=url, success_url=url, via="chart",
                                         message="Meal logged.")
        if done is not None:
            return done
    response = shell.render_chart(request, patient, "nutrition", _chart_context(request, patient, entry=entry))
    response.status_code = status
    return response


def _meal_post(request, patient, *, action_url: str, success_url: str, via: str, message: str, meal=None):
    """The meal form's POST (new or edit, chart or portal): (entry, a response when done or
    when HTMX asked for the form alone, status). Errors keep everything typed."""
    entry = MealEntry(patient, request.POST, meal=meal, files=request.FILES)
    if entry.wants_save and entry.save(actor=request.user, request=request, via=via):
        messages.success(request, message)
        return entry, _after_save(request, success_url), 200
    status = 400 if entry.errors or any(r["errors"] for r in entry.rows) else 200
    if request.htmx and request.headers.get("HX-Target") == "meal-form":
        return entry, render(request, "nutrition/_meal_form.html#form", {
            "entry": entry, "patient": patient, "meal_action": action_url}, status=status), status
    return entry, None, status


def _photo_response(meal) -> HttpResponse:
    """A meal photo, inline, never cached, never sniffed or run (the bytes were checked at upload)."""
    if not meal.photo:
        raise Http404("No photo.")
    try:
        handle = meal.photo.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("No photo.") from None
    response = FileResponse(handle, content_type=photos.content_type(meal))
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("nutrition", "write")
def patient_meal_edit(request: HttpRequest, patient_id, meal_id) -> HttpResponse:
    """Edit a meal on the chart (the tab, its form filled with the meal); history kept."""
    patient = access.patient_for_request(request, patient_id, "write", "nutrition")
    _feature_or_404(patient.project)
    meal = access.load(request, Meal.objects.filter(patient=patient, voided_at__isnull=True), meal_id,
                       resource="nutrition", action="write")
    action = reverse("patient_meal_edit", args=[patient.pk, meal.pk])
    back = reverse("patient_nutrition", args=[patient.pk]) + f"?day={meal.local_date}"
    entry, status = MealEntry(patient, meal=meal), 200
    if request.method == "POST":
        entry, done, status = _meal_post(request, patient, meal=meal, action_url=action, success_url=back,
                                         via="chart", message="Meal updated.")
        if done is not None:
            return done
    context = _chart_context(request, patient, entry=entry, day=meal.local_date)
    context.update(meal_action=action, cancel_url=back, editing_meal=meal)
    response = shell.render_chart(request, patient, "nutrition", context)
    response.status_code = status
    return response


@permission_required("nutrition", "read")
def patient_meal_photo(request: HttpRequest, patient_id, meal_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "nutrition")
    _feature_or_404(patient.project)
    meal = access.load(request, Meal.objects.filter(patient=patient), meal_id, resource="nutrition", action="read")
    return _photo_response(meal)


@require_POST
@permission_required("nutrition", "update")
def patient_targets(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", "nutrition")
    _feature_or_404(patient.project)
    form = TargetForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            services.target_set(patient=patient, actor=request.user, values=form.values(),
                                diet_type=form.cleaned_data["diet_type"], menu=form.cleaned_data["menu"],
                                note=form.cleaned_data["note"], request=request, via="chart")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Targets saved.")
            return redirect(reverse("patient_nutrition", args=[patient.pk]))
    response = shell.render_chart(request, patient, "nutrition", _chart_context(request, patient, target_form=form))
    response.status_code = 400
    return response


@require_POST
@permission_required("nutrition", "write")
def patient_meal_remove(request: HttpRequest, patient_id, meal_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", "nutrition")
    meal = access.load(request, Meal.objects.filter(patient=patient), meal_id, resource="nutrition", action="write")
    services.meal_void(meal=meal, actor=request.user, request=request, via="chart")
    messages.success(request, "Meal removed.")
    return redirect(reverse("patient_nutrition", args=[patient.pk]) + f"?day={meal.local_date}")


# --- Portal (patients) --------------------------------------------------------------------------

def _portal_context(patient, entry=None, fluid_form=None) -> dict:
    today = services.today_for(patient)
    yesterday = services.live_meals(patient).filter(local_date=today - timedelta(days=1))
    return {
        "patient": patient, "portal_nav": "nutrition", "summary": services.day_summary(patient, today),
        "entry": entry or MealEntry(patient), "fluid_form": fluid_form or FluidForm(),
        "recent": services.recent_foods(patient), "tzname": str(services.tz_of(patient)),
        "copyable": sorted(set(yesterday.values_list("meal_type", flat=True))),
        "overview": services.days_overview(patient, 7), "meal_action": reverse("portal_nutrition"),
        "plan": menus.plan(menus.menu_of(patient)), "menu": menus.menu_of(patient),
    }


@vary_on_headers("HX-Request", "HX-Target")
@shell.portal_page
def portal_nutrition(request: HttpRequest, patient) -> HttpResponse:
    patient = access.get_patient_for(request.user, patient.pk, "read", "nutrition")
    _feature_or_404(patient.project)
    entry, status = None, 200
    if request.method == "POST":
        patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
        url = reverse("portal_nutrition")
        entry, done, status = _meal_post(request, patient, action_url=url, success_url=url, via="portal",
                                         message="Meal logged. Your care team can see it.")
        if done is not None:
            return done
    else:
        audit.record(request=request, action="read", resource="nutrition", patient=patient,
                     metadata={"via": "portal", "page": "nutrition"})
    return render(request, "nutrition/portal.html", _portal_context(patient, entry=entry), status=status)


@require_POST
@shell.portal_page
def portal_fluid(request: HttpRequest, patient) -> HttpResponse:
    patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
    _feature_or_404(patient.project)
    data = request.POST.copy()
    if data.get("quick_ml"):  # a quick-amount button (glass, mug, bottle)
        data["amount_ml"] = data["quick_ml"]
    form = FluidForm(data)
    if form.is_valid():
        try:
            services.fluid_log(patient=patient, actor=request.user, amount_ml=form.cleaned_data["amount_ml"],
                               taken_at=timezone.now(), drink=form.cleaned_data["drink"] or "Water",
                               request=request, via="portal")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Added {form.cleaned_data['amount_ml']:g} mL.")
            return redirect("portal_nutrition")
    return render(request, "nutrition/portal.html", _portal_context(patient, fluid_form=form), status=400)


@require_POST
@shell.portal_page
def portal_copy(request: HttpRequest, patient) -> HttpResponse:
    """Copy yesterday's meal of a type (e.g. breakfast) to now."""
    patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
    _feature_or_404(patient.project)
    meal_type = request.POST.get("meal_type", "")
    try:
        services.meal_copy(patient=patient, actor=request.user, meal_type=meal_type, eaten_at=timezone.now(),
                           from_day=services.today_for(patient) - timedelta(days=1), request=request, via="portal")
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, f"Copied yesterday's {meal_type}.")
    return redirect("portal_nutrition")


@vary_on_headers("HX-Request", "HX-Target")
@shell.portal_page
def portal_meal_edit(request: HttpRequest, patient, meal_id) -> HttpResponse:
    """Change one of my meals (what, how much, when, the photo); the care team sees the history."""
    patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
    _feature_or_404(patient.project)
    meal = access.load(request, Meal.objects.filter(patient=patient, voided_at__isnull=True), meal_id,
                       resource="nutrition", action="write")
    action = reverse("portal_meal_edit", args=[meal.pk])
    entry, status = MealEntry(patient, meal=meal), 200
    if request.method == "POST":
        entry, done, status = _meal_post(request, patient, meal=meal, action_url=action,
                                         success_url=reverse("portal_nutrition"), via="portal",
                                         message="Meal updated. Your care team can see the change.")
        if done is not None:
            return done
    context = _portal_context(patient, entry=entry)
    context.update(meal_action=action, cancel_url=reverse("portal_nutrition"), editing_meal=meal)
    return render(request, "nutrition/portal.html", context, status=status)


@shell.portal_page
def portal_meal_photo(request: HttpRequest, patient, meal_id) -> HttpResponse:
    patient = access.get_patient_for(request.user, patient.pk, "read", "nutrition")
    _feature_or_404(patient.project)
    meal = access.load(request, Meal.objects.filter(patient=patient), meal_id, resource="nutrition", action="read")
    return _photo_response(meal)


@require_POST
@shell.portal_page
def portal_menu_log(request: HttpRequest, patient) -> HttpResponse:
    """Log a meal of my meal plan as eaten now (one tap)."""
    patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
    _feature_or_404(patient.project)
    meal_type = request.POST.get("meal_type", "")
    try:
        menus.meal_from_menu(patient=patient, actor=request.user, meal_type=meal_type, eaten_at=timezone.now(),
                             request=request, via="portal")
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, f"Logged your planned {meal_type}. Change it if you ate something else.")
    return redirect("portal_nutrition")


@require_POST
@shell.portal_page
def portal_meal_remove(request: HttpRequest, patient, meal_id) -> HttpResponse:
    patient = access.get_patient_for(request.user, patient.pk, "write", "nutrition")
    meal = access.load(request, Meal.objects.filter(patient=patient), meal_id, resource="nutrition", action="write")
    services.meal_void(meal=meal, actor=request.user, request=request, via="portal")
    messages.success(request, "Meal removed.")
    return redirect("portal_nutrition")


# --- Clinic foods (staff) -------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("nutrition", "write")
def food_list(request: HttpRequest) -> HttpResponse:
    project = access.project_of(request.user)
    _feature_or_404(project)
    q = request.GET.get("q", "").strip()[:100]
    own = list(Food.objects.filter(project=project).select_related("category").order_by("name")[:200])
    results = foods.food_search(q, project=project, limit=25) if q else []
    template = "nutrition/foods.html#results" if request.htmx else "nutrition/foods.html"
    return render(request, template, {"own": own, "results": results, "q": q})


@permission_required("nutrition", "write")
def food_edit(request: HttpRequest, food_id=None) -> HttpResponse:
    project = access.project_of(request.user)
    _feature_or_404(project)
    food = None
    if food_id is not None:
        food = access.load(request, Food.objects.prefetch_related("portions"), food_id, resource="nutrition",
                           action="update", via="project")
    form = FoodForm(request.POST or None, project=project, initial=_food_initial(food))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = foods.food_save(
                project=project, actor=request.user, food=food, name=data["name"], brand=data["brand"],
                source=data["source"], category=data["category"], barcode=data["barcode"],
                health_rating=data["health_rating"], notes=data["notes"], nutrients=form.nutrients(),
                serving_grams=data["serving_grams"] if data["per"] == "serving" else None,
                serving_unit=data["serving_unit"], request=request)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("food_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "nutrition/food_form.html", {"form": form, "food": food}, status=status)


def _food_initial(food) -> dict:
    if food is None:
        return {"source": "clinic", "per": "100g"}
    return {"name": food.name, "brand": food.brand, "source": food.source, "category": food.category_id,
            "barcode": food.barcode, "health_rating": food.health_rating, "notes": food.notes, "per": "100g",
            **food.nutrients()}
