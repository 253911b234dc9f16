"""Care's models, one module per concept (DESIGN.md "Where the seed tables go"): tasks, medications and
their doses, care plans and goals, visit notes, referrals and excuse notes, rehab (exercise, prescriptions,
logs, sessions, phases, routines, activities), sleep logs and daily scores."""

from care.models.medications import Medication, MedicationDose  # noqa: F401
from care.models.notes import NoteAddendum, VisitNote  # noqa: F401
from care.models.plans import CarePlan, CarePlanTemplate, Goal  # noqa: F401
from care.models.referrals import ExcuseNote, Referral, ReferralAttachment  # noqa: F401
from care.models.rehab import (  # noqa: F401
    Activity,
    ActivityClearance,
    Exercise,
    ExerciseLog,
    ExercisePrescription,
    PhaseProgress,
    RehabSession,
    TherapyPhase,
    TherapyRoutine,
)
from care.models.scores import DailyScore, SleepLog  # noqa: F401
from care.models.tasks import Task, TaskComment  # noqa: F401
