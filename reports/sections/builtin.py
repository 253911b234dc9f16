"""The built-in sections and the built-in report layouts (issue 18). Imported by ReportsConfig.ready."""

from __future__ import annotations

from reports.sections import Section, register_section
from reports.sections import care as c
from reports.sections import clinical as k

T = "reports/sections/{}.html"

for order, (key, label, build, description) in enumerate(
    [
        ("patient_header", "Patient", k.patient_header, "Name, MRN, date of birth, program and the period."),
        ("alerts", "Alerts", k.alerts, "Alerts raised in the period, by severity."),
        ("rehab", "Rehab progress", c.rehab, "Exercise sessions, minutes and weekly scores."),
        ("vitals", "Vitals", k.vitals, "Graphs of the readings, month-by-month means, blood pressure categories."),
        ("wearables", "Wearable trends", c.wearables, "HRV, resting heart rate, sleep and steps per day."),
        ("medications", "Medications and adherence", c.medications, "Medications and the doses taken."),
        ("nutrition", "Nutrition", c.nutrition_section, "Sodium, fluid and energy per day against targets."),
        ("questionnaires", "Questionnaire scores", c.questionnaires, "PHQ-9, GAD-7 and other totals."),
        ("labs", "Labs", k.labs, "Lab results with reference ranges."),
        ("care_plan", "Care plan", c.care_plan, "Phases and goals."),
        ("visits", "Visit notes", c.visits, "Visits in the period with their notes."),
    ]
):
    register_section(Section(key, label, T.format(key), build, description, order=order * 10))

# Built-in layouts every tenant gets (reports.services.ensure_builtin_templates): (slug, name, days,
# audience, sections, description).
BUILTIN_TEMPLATES = [
    (
        "monthly_rpm",
        "Monthly RPM summary",
        30,
        "clinician",
        ["patient_header", "vitals", "wearables", "medications", "alerts"],
        "A month of remote monitoring: readings, device days, adherence and alerts.",
    ),
    (
        "cardiac_rehab",
        "Cardiac rehab progress",
        84,
        "clinician",
        [
            "patient_header",
            "rehab",
            "vitals",
            "wearables",
            "medications",
            "nutrition",
            "questionnaires",
            "care_plan",
            "labs",
            "alerts",
        ],
        "Progress through cardiac rehabilitation: exercise, vitals, recovery, adherence and goals.",
    ),
    (
        "visit_summary",
        "Visit summary",
        30,
        "patient",
        ["patient_header", "visits", "vitals", "medications", "care_plan"],
        "What was discussed and what comes next, for the patient.",
    ),
    (
        "pre_visit",
        "Pre-visit snapshot",
        14,
        "clinician",
        ["patient_header", "alerts", "vitals", "wearables", "medications", "questionnaires", "labs"],
        "The last two weeks at a glance before a visit.",
    ),
]
