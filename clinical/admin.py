"""Clinical data in Django admin: behind the gate (resource "clinical"), read-only.

Observations are written by the vitals forms, the API and wearables ingest
(through services that validate, classify and audit); admin only looks. Rows carry
`patient`, so mahalo.admin's GatedAdmin scopes them through the gate's patients_for.
"""

from django.contrib import admin

from clinical.models import Observation, RpmConsent
from mahalo.admin import ReadOnlyGatedAdmin


@admin.register(Observation)
class ObservationAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["effective_at", "patient", "metric", "value", "value2", "unit", "method", "context", "source",
                    "device"]
    list_filter = ["metric", "source", "method", "context"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "external_id"]
    list_select_related = ["patient"]
    date_hierarchy = "effective_at"
    show_full_result_count = False  # hundreds of thousands of readings per tenant


# --- Rules and alerts (the rules engine, issue 5) ------------------------------------
# Rules are configuration: edited here, behind the gate (clinical:update). A
# program-scoped role edits only its programs' rules; project-wide rules need a
# global role. Executions and alerts are written by clinical.alerting only: admin
# looks, and the triage queue (/alerts/) is where alerts are worked.

from django import forms  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from clinical.models import Alert, ClinicalRule, RuleExecution  # noqa: E402
from mahalo import access  # noqa: E402
from mahalo.admin import GatedAdmin  # noqa: E402
from mahalo.models import Role  # noqa: E402


class ClinicalRuleForm(forms.ModelForm):
    class Meta:
        model = ClinicalRule
        fields = ["project", "program", "code", "name", "description", "enabled", "metric", "window_days",
                  "condition", "threshold", "threshold_setting", "params", "severity", "action", "priority"]

    def clean_params(self):
        params = self.cleaned_data.get("params") or {}
        if not isinstance(params, dict):
            raise forms.ValidationError('Give an object, e.g. {"context": "home", "min_points": 3}.')
        for key in ("value2_threshold", "at_least", "min_slope"):
            if key in params and not isinstance(params[key], int | float):
                raise forms.ValidationError(f"{key} must be a number.")
        for key in ("min_points", "baseline_days", "baseline_min_points"):
            if key in params and (not isinstance(params[key], int) or params[key] < 0):
                raise forms.ValidationError(f"{key} must be a whole number.")
        return params

    def clean(self):
        data = super().clean()
        condition = data.get("condition")
        if condition and condition != ClinicalRule.Condition.MISSING and data.get("threshold") is None \
                and not data.get("threshold_setting"):
            self.add_error("threshold", "This condition needs a threshold (or a threshold setting).")
        return data


@admin.action(description="Enable selected rules")
def enable_rules(modeladmin, request, queryset):
    for rule in modeladmin.editable(request, queryset):
        rule.enabled = True
        rule.save(update_fields=["enabled", "updated_at"])
        modeladmin.log_change(request, rule, "Enabled")


@admin.action(description="Disable selected rules")
def disable_rules(modeladmin, request, queryset):
    for rule in modeladmin.editable(request, queryset):
        rule.enabled = False
        rule.save(update_fields=["enabled", "updated_at"])
        modeladmin.log_change(request, rule, "Disabled")


@admin.register(ClinicalRule)
class ClinicalRuleAdmin(GatedAdmin):
    gate_resource = "clinical"
    form = ClinicalRuleForm
    list_display = ["name", "code", "program", "metric", "condition", "threshold", "severity", "action", "priority",
                    "enabled", "dry_run"]
    list_filter = ["enabled", "severity", "action", "condition", ("program", admin.RelatedOnlyFieldListFilter)]
    list_editable = ["enabled"]
    search_fields = ["name", "code", "metric", "description"]
    list_select_related = ["program"]
    readonly_fields = ["dry_run", "created_at", "updated_at"]
    actions = [enable_rules, disable_rules]
    fieldsets = [
        (None, {"fields": ["project", "program", "code", "name", "description", "enabled", "dry_run"]}),
        ("Condition", {"fields": ["metric", "window_days", "condition", "threshold", "threshold_setting", "params"]}),
        ("Outcome", {"fields": ["severity", "action", "priority"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Dry run")
    def dry_run(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html('<a href="{}">Try against a patient</a>', reverse("rule_dry_run", args=[obj.pk]))

    def _may_edit(self, request, obj) -> bool:
        user = request.user
        if user.is_superuser:
            return True
        staff = access.staff_of(user)
        if staff is None:
            return False
        if staff.role.scope == Role.SCOPE_GLOBAL:
            return True
        return obj.program_id is not None and obj.program_id in {p.pk for p in access.program_list(user)}

    def editable(self, request, queryset):
        return [r for r in queryset if self._can(request, "update", r) and self._may_edit(request, r)]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self._may_edit(request, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._may_edit(request, obj))


@admin.register(RuleExecution)
class RuleExecutionAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["executed_at", "rule", "patient", "triggered", "alert"]
    list_filter = ["triggered", ("rule", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "rule__code"]
    list_select_related = ["rule", "patient", "alert"]
    date_hierarchy = "executed_at"
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(ReadOnlyGatedAdmin):
    """Look only: acknowledge, resolve, dismiss, snooze and assign in the triage queue,
    where each change is validated and audited."""

    gate_resource = "clinical"
    list_display = ["created_at", "severity", "title", "patient", "status", "assignee", "trigger_count",
                    "escalated_at", "triage"]
    list_filter = ["status", "severity", "code"]
    search_fields = ["title", "code", "patient__last_name", "patient__first_name", "patient__mrn"]
    list_select_related = ["patient", "assignee"]
    date_hierarchy = "created_at"

    @admin.display(description="Triage")
    def triage(self, obj):
        return format_html('<a href="{}">Open in the queue</a>', reverse("alert_detail", args=[obj.pk]))


@admin.register(RpmConsent)
class RpmConsentAdmin(ReadOnlyGatedAdmin):
    """Look only: consent is recorded and withdrawn on the chart's RPM tab (clinical/rpm.py), where
    the billing rule that depends on it is applied and every change is audited."""

    gate_resource = "clinical"
    list_display = ["patient", "obtained_on", "method", "given_by", "obtained_by", "withdrawn_on", "rpm_tab"]
    list_filter = ["method", ("withdrawn_on", admin.EmptyFieldListFilter)]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "given_by"]
    list_select_related = ["patient", "obtained_by", "withdrawn_by"]
    date_hierarchy = "obtained_on"
    show_full_result_count = False

    @admin.display(description="RPM tab")
    def rpm_tab(self, obj):
        return format_html('<a href="{}">Open the RPM tab</a>', reverse("patient_rpm", args=[obj.patient_id]))
