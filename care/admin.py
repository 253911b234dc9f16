"""Care in admin, through the gate (resource "clinical"). Care-plan templates are edited here;
tasks, medications, doses, plans and goals are written by care's services (pages, API, tasks) and
shown read-only (their history lives in django-simple-history)."""

from django.contrib import admin

from care.models import CarePlan, CarePlanTemplate, Goal, Medication, MedicationDose, Task
from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin


@admin.register(CarePlanTemplate)
class CarePlanTemplateAdmin(GatedAdmin):
    gate_resource = "clinical"
    list_display = ("name", "program", "anchor", "is_active", "created_at")
    list_filter = ("is_active", "anchor")
    search_fields = ("name",)


@admin.register(Task)
class TaskAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("title", "patient", "assignee", "due_at", "priority", "status", "source")
    list_filter = ("status", "priority", "source")
    list_select_related = ("patient", "assignee")


@admin.register(Medication)
class MedicationAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("name", "patient", "dose", "dose_unit", "status", "critical", "patient_reported", "start_date")
    list_filter = ("status", "critical", "patient_reported", "route")
    list_select_related = ("patient",)


@admin.register(MedicationDose)
class MedicationDoseAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("medication", "patient", "scheduled_at", "status", "taken_at")
    list_filter = ("status",)
    list_select_related = ("medication", "patient")


@admin.register(CarePlan)
class CarePlanAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("name", "patient", "start_date", "end_date", "status")
    list_filter = ("status",)
    list_select_related = ("patient",)


@admin.register(Goal)
class GoalAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("title", "patient", "target_value", "current_value", "unit", "due_date", "status")
    list_filter = ("status",)
    list_select_related = ("patient",)


# Visit notes, referrals and excuse notes: written by care's services (signing, issuing, revoking are
# audited steps), so read-only here.
from care.models import ExcuseNote, Referral, VisitNote  # noqa: E402


@admin.register(VisitNote)
class VisitNoteAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("title", "patient", "author", "status", "signed_at", "shareable")
    list_filter = ("status", "shareable", "template")
    list_select_related = ("patient", "author")


@admin.register(Referral)
class ReferralAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("specialty", "patient", "provider", "priority", "status", "created_at")
    list_filter = ("status", "priority")
    list_select_related = ("patient", "provider")


@admin.register(ExcuseNote)
class ExcuseNoteAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ("type", "patient", "provider", "start_date", "end_date", "status", "revoked_at")
    list_filter = ("status", "type")
    list_select_related = ("patient", "provider")
    exclude = ("issued_html",)
# --- Rehab (issue 17): the library, phases, routines and activities are edited here (clinics extend
# them); prescriptions, logs, sessions, sleep and scores are written by care.services and read-only.
from care.models import (  # noqa: E402
    Activity,
    DailyScore,
    Exercise,
    ExerciseLog,
    ExercisePrescription,
    RehabSession,
    SleepLog,
    TherapyPhase,
    TherapyRoutine,
)
from care.services.rehab import RESOURCE as REHAB_RESOURCE  # noqa: E402


@admin.register(Exercise)
class ExerciseAdmin(GatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("name", "category", "program", "equipment", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("name",)
@admin.register(TherapyPhase)
class TherapyPhaseAdmin(GatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("name", "order", "week_start", "week_end", "program")
@admin.register(TherapyRoutine)
class TherapyRoutineAdmin(GatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("name", "phase", "frequency")
@admin.register(Activity)
class ActivityAdmin(GatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("name", "usual_week", "order", "program")
@admin.register(ExercisePrescription)
class ExercisePrescriptionAdmin(ReadOnlyGatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("exercise", "patient", "minutes", "sessions_per_week", "status", "start_date")
    list_filter = ("status",)
    list_select_related = ("exercise", "patient")
@admin.register(ExerciseLog)
class ExerciseLogAdmin(ReadOnlyGatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("patient", "performed_at", "duration_min", "avg_hr", "max_hr", "rpe", "symptomatic", "source")
    list_filter = ("source", "symptomatic")
    list_select_related = ("patient",)
@admin.register(RehabSession)
class RehabSessionAdmin(ReadOnlyGatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("patient", "starts_at", "status")
    list_filter = ("status",)
    list_select_related = ("patient",)
@admin.register(SleepLog)
class SleepLogAdmin(ReadOnlyGatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("patient", "night", "quality", "interruptions")
    list_select_related = ("patient",)
@admin.register(DailyScore)
class DailyScoreAdmin(ReadOnlyGatedAdmin):
    gate_resource = REHAB_RESOURCE
    list_display = ("patient", "date", "overall")
    list_select_related = ("patient",)
