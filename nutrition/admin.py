"""Nutrition in admin, through the gate (resource "nutrition"). Foods, diet types and
menus are edited here; meals, drinks and targets are written by services (pages, API)
and shown read-only (their history lives in django-simple-history)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin
from nutrition import foods
from nutrition.models import (
    NUTRIENT_FIELDS,
    DietType,
    FluidIntake,
    Food,
    FoodCategory,
    FoodPortion,
    Meal,
    MealItem,
    Menu,
    MenuItem,
    NutritionTarget,
)


class FoodAdminForm(forms.ModelForm):
    class Meta:
        model = Food
        fields = ["project", "source", "source_id", "name", "brand", "category", "barcode", "health_rating",
                  "notes", "is_active", *NUTRIENT_FIELDS]

    def clean(self):
        data = super().clean()
        try:
            foods.check_nutrients({f: data.get(f) for f in NUTRIENT_FIELDS})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return data


class FoodPortionInline(admin.TabularInline):
    model = FoodPortion
    extra = 0
    fields = ("sequence", "amount", "unit", "grams")


@admin.register(Food)
class FoodAdmin(GatedAdmin):
    gate_resource = "nutrition"
    form = FoodAdminForm
    inlines = [FoodPortionInline]
    list_display = ("name", "source", "category", "energy_kcal", "sodium_mg", "health_rating", "is_active")
    list_filter = ("source", "is_active")
    search_fields = ("name", "brand", "barcode", "source_id")
    list_select_related = ("category",)
    readonly_fields = ("revision", "source_version", "created_by")

    def save_model(self, request, obj, form, change):
        if change and any(f in form.changed_data for f in NUTRIENT_FIELDS):
            obj.revision += 1  # items eaten before say the food changed since
        obj.search_text = foods.search_text_for(obj.name, obj.brand)
        obj.search_rank = foods.rank_for(obj.name, obj.category.code if obj.category_id else "",
                                         local=obj.project_id is not None)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FoodCategory)
class FoodCategoryAdmin(GatedAdmin):
    gate_resource = "nutrition"
    list_display = ("name", "code", "project")
    search_fields = ("name",)


@admin.register(DietType)
class DietTypeAdmin(GatedAdmin):
    gate_resource = "nutrition"
    list_display = ("name", "code", "energy_kcal", "sodium_mg", "fluid_ml", "carbohydrate_g")
    search_fields = ("name",)


class MenuItemInline(admin.TabularInline):
    model = MenuItem
    extra = 1
    raw_id_fields = ("food",)
    fields = ("meal_type", "food", "amount", "unit", "order")


@admin.register(Menu)
class MenuAdmin(GatedAdmin):
    gate_resource = "nutrition"
    inlines = [MenuItemInline]
    list_display = ("title", "program", "diet_type", "is_active")
    list_filter = ("is_active",)

    def save_formset(self, request, form, formset, change):
        # A menu may only use shared foods and its own tenant's.
        for item_form in formset.forms:
            food = item_form.cleaned_data.get("food") if hasattr(item_form, "cleaned_data") else None
            if food is not None and food.project_id not in (None, form.instance.project_id):
                raise ValidationError("A menu can only use shared foods and your clinic's foods.")
        super().save_formset(request, form, formset, change)


class MealItemInline(admin.TabularInline):
    model = MealItem
    extra = 0
    can_delete = False
    fields = ("food_name", "amount", "unit", "grams", "energy_kcal", "sodium_mg", "fluid_ml")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Meal)
class MealAdmin(ReadOnlyGatedAdmin):
    gate_resource = "nutrition"
    inlines = [MealItemInline]
    list_display = ("patient", "meal_type", "eaten_at", "local_date", "logged_at", "source", "energy_kcal",
                    "sodium_mg", "voided_at")
    list_filter = ("meal_type", "source")
    list_select_related = ("patient",)
    date_hierarchy = "eaten_at"


@admin.register(FluidIntake)
class FluidIntakeAdmin(ReadOnlyGatedAdmin):
    gate_resource = "nutrition"
    list_display = ("patient", "drink", "amount_ml", "fluid_ml", "taken_at", "voided_at")
    list_select_related = ("patient",)


@admin.register(NutritionTarget)
class NutritionTargetAdmin(ReadOnlyGatedAdmin):
    gate_resource = "nutrition"
    list_display = ("patient", "diet_type", "energy_kcal", "sodium_mg", "fluid_ml", "updated_by", "updated_at")
    list_select_related = ("patient", "diet_type", "updated_by")


