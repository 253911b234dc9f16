"""Nutrition over the API (DESIGN "Fixed points"):

    GET  /api/v1/foods/?q=                         search (per-100 g nutrients incl. sodium_mg, portions)
    GET  /api/v1/foods/<uuid>/                     one food
    GET/POST /api/v1/me/meals/                     my meals; log one (items: food, amount, unit)
    GET  /api/v1/me/meals/<uuid>/                  one of my meals
    POST /api/v1/me/meals/<uuid>/remove/           remove it (kept, marked removed)
    POST /api/v1/me/meals/<uuid>/edit/             change it (meal_type, eaten_at, note, items)
    POST /api/v1/me/meals/<uuid>/photo/            attach or replace its photo (multipart `photo`)
    POST /api/v1/patients/<uuid>/meals/<uuid>/edit/ and .../photo/   the same, staff
    GET/POST /api/v1/patients/<uuid>/meals/        staff, for a patient in scope
    GET/POST /api/v1/me/fluids/  and  /api/v1/patients/<uuid>/fluids/
    GET  /api/v1/me/nutrition/days/<YYYY-MM-DD>/   totals against targets (fluids included)
    GET  /api/v1/patients/<uuid>/nutrition/days/<YYYY-MM-DD>/
    GET  /api/v1/me/nutrition/target/ ; GET/PUT /api/v1/patients/<uuid>/nutrition/target/

Patient-owned rows go through `GatedViewSet` (the gate scopes, 404s and audits). Foods are
reference data, not a patient's: shared USDA rows plus the caller's tenant's own foods,
through `foods.visible_foods(access.project_of(user))`. The `food_tracking` flag off
for the tenant: every route answers 404. Writes call nutrition.services, the same
functions the pages call; bad input is 400 naming the field, nothing stored.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from clinical.api import AwareDateTime, StrictNumber
from mahalo import access, audit
from mahalo.api import GatedViewSet, RecordOpen
from mahalo.credentials import StampedJWTAuthentication
from nutrition import foods, services
from nutrition.models import NUTRIENT_FIELDS, TARGET_FIELDS, FluidIntake, Food, Meal, MealType


def _feature_or_404(project) -> None:
    if not services.feature_on(project):
        raise Http404("Food tracking is off for this program.")


def _as_400(exc: DjangoValidationError):
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


@extend_schema_field(OpenApiTypes.STR)
class PlainChoice(serializers.ChoiceField):
    """A choice shown as a plain string in OpenAPI: several models have a `source` with
    different choices, and one enum component per name is all the schema can hold."""


# --- Foods ------------------------------------------------------------------------------

class PortionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    amount = serializers.FloatField()
    unit = serializers.CharField()
    grams = serializers.FloatField()


class FoodSerializer(serializers.ModelSerializer):
    source = PlainChoice(choices=Food.Source.choices, read_only=True, help_text="usda | label | clinic")
    category = serializers.CharField(source="category.name", default="", read_only=True)
    portions = PortionSerializer(many=True, read_only=True)
    per = serializers.SerializerMethodField()

    class Meta:
        model = Food
        fields = ["id", "name", "brand", "source", "source_version", "source_id", "category", "barcode",
                  "health_rating", "per", *NUTRIENT_FIELDS, "portions"]

    def get_per(self, obj) -> str:
        return "100 g"


def _foods_project(request):
    project = access.project_of(request.user)
    _feature_or_404(project)
    return project


@extend_schema(parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="What the person typed"),
                           OpenApiParameter("barcode", OpenApiTypes.STR),
                           OpenApiParameter("limit", OpenApiTypes.INT, description="1-50, default 20")],
               responses=FoodSerializer(many=True), summary="Search foods (per-100 g nutrients, portions)")
@api_view(["GET"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated, RecordOpen])
def food_list(request):
    project = _foods_project(request)
    q, barcode = request.query_params.get("q", "").strip(), request.query_params.get("barcode", "").strip()
    try:
        limit = min(max(int(request.query_params.get("limit", 20)), 1), 50)
    except ValueError:
        raise serializers.ValidationError({"limit": ["Enter a whole number."]}) from None
    if len(q) > 100:
        raise serializers.ValidationError({"q": ["At most 100 characters."]})
    if barcode:
        rows = list(foods.visible_foods(project).filter(barcode=barcode).select_related("category")
                    .prefetch_related("portions")[:limit])
    elif q:
        rows = foods.food_search(q, project=project, limit=limit)
    else:
        raise serializers.ValidationError({"q": ["Type what you ate (or give a barcode)."]})
    return Response(FoodSerializer(rows, many=True).data)


@extend_schema(responses=FoodSerializer, summary="One food")
@api_view(["GET"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated, RecordOpen])
def food_detail(request, pk):
    project = _foods_project(request)
    food = foods.visible_foods(project).select_related("category").prefetch_related("portions").filter(pk=pk).first()
    if food is None:
        raise Http404
    return Response(FoodSerializer(food).data)


# --- Meals ------------------------------------------------------------------------------

class MealItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    food = serializers.UUIDField(source="food_id")
    food_name = serializers.CharField()
    amount = serializers.FloatField()
    unit = serializers.CharField()
    grams = serializers.FloatField()
    fluid_ml = serializers.FloatField()
    food_changed = serializers.SerializerMethodField(help_text="The food's nutrients were corrected after this "
                                                               "item was logged (the item keeps its own values).")

    def get_food_changed(self, obj) -> bool:
        return obj.food.revision != obj.food_revision

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data.update({f: getattr(instance, f) for f in NUTRIENT_FIELDS})
        return data


class MealSerializer(serializers.ModelSerializer):
    source = PlainChoice(choices=Meal.Source.choices, read_only=True, help_text="manual | photo | barcode | app | menu")
    items = MealItemSerializer(many=True, read_only=True)
    entered_by = serializers.SerializerMethodField()

    class Meta:
        model = Meal
        fields = ["id", "meal_type", "eaten_at", "local_date", "logged_at", "updated_at", "source", "note",
                  "energy_kcal", "sodium_mg", "fluid_ml", "has_photo", "entered_by", "items"]

    has_photo = serializers.SerializerMethodField()

    def get_has_photo(self, obj) -> bool:
        return bool(obj.photo)

    def get_entered_by(self, obj) -> str:
        if not obj.entered_by_id:
            return ""
        return "patient" if obj.entered_by_id == obj.patient.user_id else (obj.entered_by.full_name or "staff")


class ItemIn(serializers.Serializer):
    food = serializers.UUIDField()
    amount = StrictNumber()
    unit = serializers.CharField(max_length=80, default="g", help_text='"g", "ml", or a portion of the food: its '
                                                                        'unit ("cup"), label ("1 cup") or id.')


class MealIn(serializers.Serializer):
    meal_type = serializers.ChoiceField(choices=MealType.choices)
    eaten_at = AwareDateTime(help_text="When it was eaten, with a UTC offset; not in the future.")
    source = PlainChoice(choices=Meal.Source.choices, default=Meal.Source.APP,
                         help_text="manual | photo | barcode | app | menu (default app)")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    items = ItemIn(many=True, allow_empty=False)


def _log_meal(request, patient, source_default: str) -> Response:
    incoming = MealIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    try:
        items = services.items_from_input(patient, [dict(i) for i in data["items"]])
        meal = services.meal_log(patient=patient, actor=request.user, meal_type=data["meal_type"],
                                 eaten_at=data["eaten_at"], items=items, source=data.get("source") or source_default,
                                 note=data["note"], request=request, via="api")
    except DjangoValidationError as exc:
        raise _as_400(exc) from None
    meal = (Meal.objects.select_related("patient", "entered_by")  # gate: the meal just written
            .prefetch_related("items__food").get(pk=meal.pk))
    return Response(MealSerializer(meal).data, status=status.HTTP_201_CREATED)


class MealEditIn(serializers.Serializer):
    """What changes; anything left out stays as it was. `items` replaces all the items."""

    meal_type = serializers.ChoiceField(choices=MealType.choices, required=False)
    eaten_at = AwareDateTime(required=False, help_text="When it was eaten, with a UTC offset; not in the future.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    items = ItemIn(many=True, allow_empty=False, required=False)


class PhotoIn(serializers.Serializer):
    photo = serializers.FileField(help_text="JPEG, PNG, WebP or HEIC, at most 8 MB (checked from the bytes).")


def _meal_out(meal) -> Response:
    meal = (Meal.objects.select_related("patient", "entered_by")  # gate: the meal the caller just changed
            .prefetch_related("items__food").get(pk=meal.pk))
    return Response(MealSerializer(meal).data)


def _edit_meal(request, meal) -> Response:
    incoming = MealEditIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    try:
        items = (services.items_from_input(meal.patient, [dict(i) for i in data["items"]])
                 if "items" in data else None)
        services.meal_update(meal=meal, actor=request.user, meal_type=data.get("meal_type"),
                             eaten_at=data.get("eaten_at"), note=data.get("note"), items=items, request=request,
                             via="api")
    except DjangoValidationError as exc:
        raise _as_400(exc) from None
    return _meal_out(meal)


def _meal_photo(request, meal) -> Response:
    upload = request.FILES.get("photo")
    if upload is None:
        raise serializers.ValidationError({"photo": ["Send the photo as the multipart field `photo`."]})
    try:
        services.meal_update(meal=meal, actor=request.user, photo=upload, request=request, via="api")
    except DjangoValidationError as exc:
        raise _as_400(exc) from None
    return _meal_out(meal)


def _me(request):
    me = access.patient_of(request.user)
    if me is None or access.is_staff_user(request.user):
        raise Http404("No patient record for this account.")
    _feature_or_404(me.project)
    return me


DATE_PARAMS = [OpenApiParameter("date", OpenApiTypes.DATE, description="Only this local day")]


class _MealBase(GatedViewSet):
    model = Meal
    resource = "nutrition"
    serializer_class = MealSerializer
    related = ("patient", "entered_by")
    prefetch = ("items__food",)

    def narrow(self, queryset):
        qs = queryset.filter(voided_at__isnull=True)
        if raw := self.request.query_params.get("date"):
            qs = qs.filter(local_date=_parse_day(raw, "date"))
        return qs


def _parse_day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise serializers.ValidationError({field: ["Use a date like 2026-03-04."]}) from None


@extend_schema_view(
    list=extend_schema(parameters=DATE_PARAMS, summary="A patient's meals, newest first"),
    create=extend_schema(request=MealIn, responses={201: MealSerializer}, summary="Log a meal for a patient (staff)"),
)
class PatientMealViewSet(mixins.ListModelMixin, _MealBase):
    patient_url_kwarg = "patient_pk"

    def list(self, request, *args, **kwargs):
        _feature_or_404(access.patient_for_request(request, kwargs["patient_pk"], "read", "nutrition").project)
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        patient = access.patient_for_request(request, kwargs["patient_pk"], "write", "nutrition")
        if not access.is_staff_user(request.user):
            raise Http404
        _feature_or_404(patient.project)
        return _log_meal(request, patient, Meal.Source.MANUAL)

    def _staff_meal(self, request, kwargs):
        patient = access.patient_for_request(request, kwargs["patient_pk"], "write", "nutrition")
        if not access.is_staff_user(request.user):
            raise Http404
        _feature_or_404(patient.project)
        return self.get_object()  # gated for write, bounded by the URL's patient

    @extend_schema(request=MealEditIn, responses=MealSerializer,
                   summary="Change a patient's meal (staff; items replace all items; history kept)")
    def edit(self, request, *args, **kwargs):
        return _edit_meal(request, self._staff_meal(request, kwargs))

    @extend_schema(request={"multipart/form-data": PhotoIn}, responses=MealSerializer,
                   summary="Attach or replace a patient's meal photo (staff)")
    def photo(self, request, *args, **kwargs):
        return _meal_photo(request, self._staff_meal(request, kwargs))


@extend_schema_view(
    list=extend_schema(parameters=DATE_PARAMS, summary="My meals, newest first"),
    create=extend_schema(request=MealIn, responses={201: MealSerializer}, summary="Log one of my meals"),
    retrieve=extend_schema(summary="One of my meals"),
)
class MyMealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MealBase):
    def narrow(self, queryset):
        return super().narrow(queryset).filter(patient_id=_me(self.request).pk)

    def retrieve(self, request, *args, **kwargs):
        _me(request)
        return super().retrieve(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        me = _me(request)
        patient = access.get_patient_for(request.user, me.pk, "write", "nutrition")
        return _log_meal(request, patient, Meal.Source.APP)

    def _my_meal(self, request):
        me = _me(request)
        meal = self.get_object()  # gated for write: only my own meals
        if meal.patient_id != me.pk:
            raise Http404
        return meal

    @extend_schema(request=MealEditIn, responses=MealSerializer,
                   summary="Change one of my meals (items replace all items; history kept)")
    def edit(self, request, *args, **kwargs):
        return _edit_meal(request, self._my_meal(request))

    @extend_schema(request={"multipart/form-data": PhotoIn}, responses=MealSerializer,
                   summary="Attach or replace the photo of one of my meals")
    def photo(self, request, *args, **kwargs):
        return _meal_photo(request, self._my_meal(request))

    @extend_schema(request=None, responses=MealSerializer,
                   summary="Remove one of my meals (kept in the record, marked removed)")
    def remove(self, request, *args, **kwargs):
        me = _me(request)
        meal = self.get_object()  # gated for write: only my own meals
        if meal.patient_id != me.pk:
            raise Http404
        services.meal_void(meal=meal, actor=request.user, request=request, via="api")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Fluids -----------------------------------------------------------------------------

class FluidSerializer(serializers.ModelSerializer):
    source = PlainChoice(choices=Meal.Source.choices, read_only=True)

    class Meta:
        model = FluidIntake
        fields = ["id", "amount_ml", "fluid_ml", "drink", "food", "taken_at", "local_date", "logged_at", "source"]


class FluidIn(serializers.Serializer):
    amount_ml = StrictNumber()
    taken_at = AwareDateTime()
    drink = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    food = serializers.UUIDField(required=False, allow_null=True, help_text="A drink from the food table: only "
                                                                             "its water counts as fluid.")


def _log_fluid(request, patient) -> Response:
    incoming = FluidIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    food = None
    if data.get("food"):
        food = foods.visible_foods(patient.project).prefetch_related("portions").filter(pk=data["food"]).first()
        if food is None:
            raise serializers.ValidationError({"food": ["Unknown food."]})
    try:
        entry = services.fluid_log(patient=patient, actor=request.user, amount_ml=data["amount_ml"],
                                   taken_at=data["taken_at"], drink=data["drink"], food=food,
                                   source="app" if patient.user_id == request.user.pk else "manual",
                                   request=request, via="api")
    except DjangoValidationError as exc:
        raise _as_400(exc) from None
    return Response(FluidSerializer(entry).data, status=status.HTTP_201_CREATED)


class _FluidBase(GatedViewSet):
    model = FluidIntake
    resource = "nutrition"
    serializer_class = FluidSerializer

    def narrow(self, queryset):
        qs = queryset.filter(voided_at__isnull=True)
        if raw := self.request.query_params.get("date"):
            qs = qs.filter(local_date=_parse_day(raw, "date"))
        return qs


@extend_schema_view(list=extend_schema(parameters=DATE_PARAMS, summary="A patient's drinks"),
                    create=extend_schema(request=FluidIn, responses={201: FluidSerializer},
                                         summary="Log a drink for a patient (staff)"))
class PatientFluidViewSet(mixins.ListModelMixin, _FluidBase):
    patient_url_kwarg = "patient_pk"

    def list(self, request, *args, **kwargs):
        _feature_or_404(access.patient_for_request(request, kwargs["patient_pk"], "read", "nutrition").project)
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        patient = access.patient_for_request(request, kwargs["patient_pk"], "write", "nutrition")
        if not access.is_staff_user(request.user):
            raise Http404
        _feature_or_404(patient.project)
        return _log_fluid(request, patient)


@extend_schema_view(list=extend_schema(parameters=DATE_PARAMS, summary="My drinks"),
                    create=extend_schema(request=FluidIn, responses={201: FluidSerializer}, summary="Log a drink"))
class MyFluidViewSet(mixins.ListModelMixin, _FluidBase):
    def narrow(self, queryset):
        return super().narrow(queryset).filter(patient_id=_me(self.request).pk)

    def create(self, request, *args, **kwargs):
        me = _me(request)
        return _log_fluid(request, access.get_patient_for(request.user, me.pk, "write", "nutrition"))


# --- Days and targets ------------------------------------------------------------------------

TargetRow = inline_serializer("NutritionTargetRow", fields={
    "nutrient": serializers.CharField(), "label": serializers.CharField(), "unit": serializers.CharField(),
    "kind": serializers.ChoiceField(choices=["limit", "goal"]), "value": serializers.FloatField(),
    "target": serializers.FloatField(allow_null=True), "percent": serializers.IntegerField(allow_null=True),
    "status": serializers.ChoiceField(choices=["no_target", "within", "over", "met", "below"])})
DaySchema = inline_serializer("NutritionDay", fields={
    "date": serializers.DateField(), "timezone": serializers.CharField(),
    "totals": serializers.DictField(child=serializers.FloatField()), "salt_g": serializers.FloatField(),
    "targets": TargetRow.__class__(many=True), "sodium_sources": serializers.ListField(child=serializers.DictField()),
    "meals": MealSerializer(many=True), "fluids": FluidSerializer(many=True)})


def _day_response(request, patient, raw_day: str, *, audit_read: bool) -> Response:
    _feature_or_404(patient.project)
    day = _parse_day(raw_day, "date")
    summary = services.day_summary(patient, day)
    if audit_read:  # staff reads are audited by the gate's loader
        audit.record(request=request, action="read", resource="nutrition", patient=patient,
                     metadata={"via": "api", "day": day.isoformat()})
    for meal in summary["meals"]:
        meal.patient = patient
    return Response({
        "date": day.isoformat(), "timezone": str(services.tz_of(patient)), "totals": summary["totals"],
        "salt_g": summary["salt_g"], "targets": summary["targets"], "sodium_sources": summary["sodium_sources"],
        "meals": MealSerializer(summary["meals"], many=True).data,
        "fluids": FluidSerializer(summary["fluids"], many=True).data,
    })


class _DayBase(GatedViewSet):
    model = Meal
    resource = "nutrition"
    serializer_class = MealSerializer


class PatientDayViewSet(_DayBase):
    @extend_schema(responses=DaySchema, summary="A patient's local day: totals against targets, meals, fluids")
    def day(self, request, patient_pk, day):
        patient = access.patient_for_request(request, patient_pk, "read", "nutrition")
        return _day_response(request, patient, day, audit_read=False)


class MyDayViewSet(_DayBase):
    @extend_schema(responses=DaySchema, summary="My local day: totals against targets, meals, fluids")
    def day(self, request, day):
        return _day_response(request, _me(request), day, audit_read=True)


class TargetSerializer(serializers.Serializer):
    diet_type = serializers.UUIDField(required=False, allow_null=True)
    menu = serializers.UUIDField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_fields(self):
        fields = super().get_fields()
        for name in TARGET_FIELDS:
            fields[name] = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100_000)
        return fields


def _target_data(target) -> dict:
    if target is None:
        return {**{f: None for f in TARGET_FIELDS}, "diet_type": None, "menu": None, "note": "", "updated_at": None}
    return {**target.targets(), "diet_type": target.diet_type_id, "menu": target.menu_id, "note": target.note,
            "updated_at": target.updated_at}


class PatientTargetViewSet(_DayBase):
    @extend_schema(responses=TargetSerializer, summary="A patient's daily nutrition targets")
    def get(self, request, patient_pk):
        patient = access.patient_for_request(request, patient_pk, "read", "nutrition")
        _feature_or_404(patient.project)
        return Response(TargetSerializer(_target_data(services.target_of(patient))).data)

    @extend_schema(request=TargetSerializer, responses=TargetSerializer,
                   summary="Set a patient's daily targets (staff); a diet type fills what it defines")
    def put(self, request, patient_pk):
        patient = access.patient_for_request(request, patient_pk, "update", "nutrition")
        if not access.is_staff_user(request.user):
            raise Http404
        _feature_or_404(patient.project)
        incoming = TargetSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        from nutrition.models import DietType, Menu

        diet = menu = None
        if data.get("diet_type"):
            diet = DietType.objects.filter(project_id=patient.project_id, pk=data["diet_type"]).first()
            if diet is None:
                raise serializers.ValidationError({"diet_type": ["Unknown diet type."]})
        if data.get("menu"):
            menu = Menu.objects.filter(project_id=patient.project_id, pk=data["menu"]).first()
            if menu is None:
                raise serializers.ValidationError({"menu": ["Unknown menu."]})
        values = {f: data[f] for f in TARGET_FIELDS if f in data}
        try:
            target = services.target_set(patient=patient, actor=request.user, values=values, diet_type=diet,
                                         menu=menu, note=data.get("note", ""), request=request, via="api")
        except DjangoValidationError as exc:
            raise _as_400(exc) from None
        return Response(TargetSerializer(_target_data(target)).data)


class MyTargetViewSet(_DayBase):
    @extend_schema(responses=TargetSerializer, summary="My daily nutrition targets")
    def get(self, request):
        return Response(TargetSerializer(_target_data(services.target_of(_me(request)))).data)
