"""The built-in instruments: PHQ-9, PHQ-2 and GAD-7 (CLINICAL.md), as FHIR R4 Questionnaires
with LOINC codes for panel, items and answers, and their scoring declarations
(assessments/scoring.py). The PHQ and GAD-7 are free to use without permission (Pfizer).

`scoring_for_code` also serves the importer: a LOINC PHQ-9 form from elsewhere gets exactly
the built-in's scoring, so it scores the same.
"""

from __future__ import annotations

import copy

LOINC = "http://loinc.org"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

PHQ9, PHQ2, GAD7 = "44249-1", "55757-9", "69737-5"
PHQ9_ITEM9 = "44260-8"

FREQUENCY = [("LA6568-5", "Not at all", 0), ("LA6569-3", "Several days", 1),
             ("LA6570-1", "More than half the days", 2), ("LA6571-9", "Nearly every day", 3)]
DIFFICULTY = [("LA6572-7", "Not difficult at all"), ("LA6573-5", "Somewhat difficult"),
              ("LA6575-0", "Very difficult"), ("LA6574-3", "Extremely difficult")]

PHQ9_ITEMS = [
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    ("44258-2", "Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    ("44253-3", "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
                "fidgety or restless that you have been moving around a lot more than usual"),
    (PHQ9_ITEM9, "Thoughts that you would be better off dead or of hurting yourself in some way"),
]
GAD7_ITEMS = [
    ("69725-0", "Feeling nervous, anxious or on edge"),
    ("68509-9", "Not being able to stop or control worrying"),
    ("69733-4", "Worrying too much about different things"),
    ("69734-2", "Trouble relaxing"),
    ("69735-9", "Being so restless that it is hard to sit still"),
    ("69689-8", "Becoming easily annoyed or irritable"),
    ("69736-7", "Feeling afraid as if something awful might happen"),
]
TWO_WEEKS = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"

PHQ9_BANDS = [{"min": 0, "max": 4, "code": "minimal", "label": "Minimal"},
              {"min": 5, "max": 9, "code": "mild", "label": "Mild"},
              {"min": 10, "max": 14, "code": "moderate", "label": "Moderate"},
              {"min": 15, "max": 19, "code": "moderately_severe", "label": "Moderately severe"},
              {"min": 20, "max": 27, "code": "severe", "label": "Severe"}]
GAD7_BANDS = [{"min": 0, "max": 4, "code": "minimal", "label": "Minimal"},
              {"min": 5, "max": 9, "code": "mild", "label": "Mild"},
              {"min": 10, "max": 14, "code": "moderate", "label": "Moderate"},
              {"min": 15, "max": 21, "code": "severe", "label": "Severe"}]
PHQ2_BANDS = [{"min": 0, "max": 2, "code": "negative", "label": "Negative screen"},
              {"min": 3, "max": 6, "code": "positive", "label": "Positive screen (PHQ-9 advised)"}]

SCORING: dict[str, dict] = {
    PHQ9: {"method": "sum", "items": [c for c, _ in PHQ9_ITEMS], "classifier": "phq9", "bands": PHQ9_BANDS,
           # Kroenke/Pfizer: up to two blank items may be estimated from the answered ones.
           "missing": {"policy": "prorate", "max_missing": 2},
           "safety": [{"item": PHQ9_ITEM9, "min_score": 1}],
           "total": {"code": "44261-6", "metric": "phq9_total"}, "max": 27, "significant_change": 5,
           "source": "Kroenke 2001"},
    PHQ2: {"method": "sum", "items": [c for c, _ in PHQ9_ITEMS[:2]], "bands": PHQ2_BANDS,
           "missing": {"policy": "incomplete"}, "total": {"code": "55758-7", "metric": "phq2_total"}, "max": 6,
           "triggers": [{"min_total": 3, "assign": PHQ9, "carry": True}], "source": "Kroenke 2003"},
    GAD7: {"method": "sum", "items": [c for c, _ in GAD7_ITEMS], "classifier": "gad7", "bands": GAD7_BANDS,
           "missing": {"policy": "incomplete"}, "total": {"code": "70274-6", "metric": "gad7_total"}, "max": 21,
           "source": "Spitzer 2006"},
}
TOTAL_CODES = frozenset(s["total"]["code"] for s in SCORING.values())


def scoring_for_code(code: str) -> dict | None:
    value = SCORING.get(code)
    return copy.deepcopy(value) if value is not None else None


def _choice(code: str, text: str, options, *, required: bool = False) -> dict:
    opts = []
    for option in options:
        entry = {"valueCoding": {"system": LOINC, "code": option[0], "display": option[1]}}
        if len(option) > 2:
            entry["extension"] = [{"url": ORDINAL, "valueDecimal": option[2]}]
        opts.append(entry)
    item = {"linkId": f"/{code}", "code": [{"system": LOINC, "code": code, "display": text}], "text": text,
            "type": "choice", "answerOption": opts}
    if required:
        item["required"] = True
    return item


def _questionnaire(code: str, title: str, name: str, description: str, items: list[dict]) -> dict:
    return {"resourceType": "Questionnaire", "status": "active", "name": name, "title": title,
            "description": description, "url": f"http://loinc.org/q/{code}",
            "code": [{"system": LOINC, "code": code, "display": title}], "item": items}


def builtin_definitions() -> list[tuple[dict, str]]:
    """(FHIR Questionnaire, preamble) of each built-in."""
    phq9_items = [_choice(c, t, FREQUENCY) for c, t in PHQ9_ITEMS]
    phq9_items.append(_choice("69722-7", "If you checked off any problems, how difficult have these problems made "
                                         "it for you to do your work, take care of things at home, or get along "
                                         "with other people?", DIFFICULTY))
    return [
        (_questionnaire(PHQ9, "PHQ-9", "PHQ9", "Patient Health Questionnaire-9: depression severity (0-27).",
                        phq9_items), TWO_WEEKS),
        (_questionnaire(PHQ2, "PHQ-2", "PHQ2", "Patient Health Questionnaire-2: depression screen (0-6; 3 or more "
                                               "calls for a PHQ-9).",
                        [_choice(c, t, FREQUENCY) for c, t in PHQ9_ITEMS[:2]]), TWO_WEEKS),
        (_questionnaire(GAD7, "GAD-7", "GAD7", "Generalized Anxiety Disorder-7: anxiety severity (0-21).",
                        [_choice(c, t, FREQUENCY) for c, t in GAD7_ITEMS]),
         "Over the last 2 weeks, how often have you been bothered by the following problems?"),
    ]
