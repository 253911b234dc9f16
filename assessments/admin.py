"""Admin: instruments (a published version is read-only: publish a new version instead),
schedules, and read-only views of assignments, responses and safety events (services write them)."""

from dateutil.rrule import rrulestr
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from assessments.models import Assignment, Question, Questionnaire, Response, SafetyEvent, Schedule
from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    fields = ["order", "link_id", "code", "text", "type", "required", "options", "enable_when", "help_text",
              "reverse_scored"]

    def _editable(self, obj) -> bool:
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None):
        return self._editable(obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj)

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Questionnaire)
class QuestionnaireAdmin(GatedAdmin):
    gate_resource = "clinical"
    list_display = ["name", "code", "version", "status", "builtin", "project"]
    list_filter = ["status", "builtin", "kind"]
    search_fields = ["name", "code"]
    inlines = [QuestionInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            # Immutable once published; only retiring it is allowed.
            return [f.name for f in self.model._meta.fields if f.name != "status"]
        return ["builtin", "published_at", "created_by"]


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["project", "program", "patient", "questionnaire", "rrule", "starts_on", "local_time",
                  "window_hours", "active"]

    def clean_rrule(self):
        value = self.cleaned_data["rrule"].strip().removeprefix("RRULE:")
        try:
            rrulestr(value)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"Not a valid RRULE: {exc}") from None
        if "COUNT=" not in value.upper() and "UNTIL=" not in value.upper():
            raise ValidationError("Give an end: COUNT=… or UNTIL=….")
        return value


@admin.register(Schedule)
class ScheduleAdmin(GatedAdmin):
    gate_resource = "clinical"
    form = ScheduleForm
    list_display = ["questionnaire", "program", "patient", "rrule", "starts_on", "local_time", "active"]
    list_filter = ["active"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["questionnaire", "patient", "status", "source", "available_at", "due_at", "expires_at"]
    list_filter = ["status", "source"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["questionnaire", "patient", "submitted_at", "total", "severity", "via", "safety_flag"]
    list_filter = ["via", "safety_flag", "complete"]


@admin.register(SafetyEvent)
class SafetyEventAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "answer_display", "created_at", "due_at", "outcome", "outcome_at"]
    list_filter = ["outcome"]
