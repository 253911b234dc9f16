"""Golden tests: every built-in scores exactly across every band boundary (through the API),
missing answers are never scored as 0, and an imported LOINC PHQ-9 form scores the same."""

import json
from pathlib import Path

import pytest

from assessments import instruments, scoring
from assessments.models import Questionnaire
from assessments.tests.factories import assign, gad7_answers, phq2_answers, phq9_answers, scores_for_total
from clinical import classify

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"

# (total, expected slug): both sides of every boundary of Kroenke 2001 / Spitzer 2006.
PHQ9_GOLDEN = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
               (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")]
GAD7_GOLDEN = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
               (15, "severe"), (21, "severe")]
PHQ2_GOLDEN = [(0, "negative"), (2, "negative"), (3, "positive"), (6, "positive")]


def _submit(api, assignment, answers):
    r = api.post(f"/api/v1/me/assignments/{assignment.pk}/response/", {"answers": answers}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_phq9_golden_bands_through_the_api(world, api_login):
    api = api_login(world.patient_user)
    for total, slug in PHQ9_GOLDEN:
        # Item 9 stays 0 below 25 so these are plain scores (item 9 has its own tests).
        scores = scores_for_total(total, 8) + [0] if total <= 24 else scores_for_total(total, 9)
        body = _submit(api, assign(world.me, instruments.PHQ9), phq9_answers(scores))
        assert (body["total"], body["severity"]) == (total, slug), total
        assert slug == classify.phq9_severity(total)


def test_gad7_golden_bands_through_the_api(world, api_login):
    api = api_login(world.patient_user)
    for total, slug in GAD7_GOLDEN:
        body = _submit(api, assign(world.me, instruments.GAD7), gad7_answers(scores_for_total(total, 7)))
        assert (body["total"], body["severity"]) == (total, slug), total
        assert slug == classify.gad7_severity(total)


def test_phq2_golden_bands_through_the_api(world, api_login):
    api = api_login(world.patient_user)
    for total, slug in PHQ2_GOLDEN:
        a, b = scores_for_total(total, 2)
        body = _submit(api, assign(world.me, instruments.PHQ2), phq2_answers(a, b))
        assert (body["total"], body["severity"]) == (total, slug), total


def test_phq9_with_a_skipped_item_is_prorated_not_scored_as_zero(world, api_login):
    body = _submit(api_login(world.patient_user), assign(world.me, instruments.PHQ9),
                   phq9_answers([2, 2, 2, 2, 2, 2, 2, None, 0]))
    # 14 over 8 answered items -> 14 x 9 / 8 = 15.75 -> 16 (moderately severe), not 14 (moderate).
    assert body["total"] == 16 and body["prorated"] is True and body["severity"] == "moderately_severe"


def test_phq9_with_three_skipped_items_has_no_total(world, api_login):
    from clinical.models import Observation

    body = _submit(api_login(world.patient_user), assign(world.me, instruments.PHQ9),
                   phq9_answers([3, 3, 3, 3, 3, 3, None, None, None]))
    assert body["total"] is None and body["complete"] is False and body["severity"] == ""
    assert not Observation.objects.filter(patient=world.me, metric="phq9_total").exists()


def test_gad7_with_a_skipped_item_is_incomplete(world, api_login):
    body = _submit(api_login(world.patient_user), assign(world.me, instruments.GAD7),
                   gad7_answers([1, 1, 1, 1, 1, 1, None]))
    assert body["total"] is None and body["complete"] is False


def test_scores_come_from_the_options_not_the_text():
    items = [scoring.Item("a", scored=True), scoring.Item("b", scored=True)]
    decl = {"method": "sum", "bands": [{"min": 0, "max": 10, "code": "x", "label": "X"}]}
    assert scoring.score(decl, items, {"a": 2, "b": 3}).total == 5


def test_a_declared_formula_is_refused_not_ignored():
    with pytest.raises(scoring.ScoringError):
        scoring.check_declaration({"method": "weighted_mean"}, [scoring.Item("a", scored=True)])
    with pytest.raises(scoring.ScoringError):
        scoring.check_declaration({"safety": [{"item": "zz"}]}, [scoring.Item("a", scored=True)])


def test_subscales_sum_their_items():
    items = [scoring.Item(x, scored=True) for x in "abcd"]
    decl = {"subscales": [{"code": "s1", "name": "S1", "items": ["a", "b"]}, {"code": "s2", "items": ["c", "d"]}]}
    result = scoring.score(decl, items, {"a": 1, "b": 2, "c": 3})
    assert result.subscales == {"s1": 3, "s2": None}


def test_reverse_scored_item_flips_its_options(world, api_login):
    data = json.loads((FIXTURES / "valueset_form.json").read_text())
    r = api_login(world.lead).post("/api/v1/questionnaires/import/", data, format="json")
    q = Questionnaire.objects.get(pk=r.json()["id"])
    q.questions.filter(link_id="s2").update(reverse_scored=True)  # "feel rested": often is good
    body = _submit(api_login(world.patient_user), assign(world.me, "sleep_quality"), {"s1": "often", "s2": "often"})
    assert body["total"] == 2  # 2 + (2 + 0 - 2)


def test_an_imported_loinc_phq9_scores_exactly_as_the_builtin(world, api_login):
    data = json.loads((FIXTURES / "loinc_phq9.json").read_text())
    imported = api_login(world.lead).post("/api/v1/questionnaires/import/", data, format="json")
    assert imported.status_code == 201, imported.content
    body = imported.json()
    assert body["code"] == instruments.PHQ9 and body["version"] == 2
    # The computed total item is not asked; the difficulty item is.
    assert [i["link_id"] for i in body["items"]][-1] == "/69722-7" and len(body["items"]) == 10
    builtin = Questionnaire.objects.get(project=world.project, code=instruments.PHQ9, version=1)
    api = api_login(world.patient_user)
    for scores in ([0] * 9, [1, 2, 3, 0, 1, 2, 3, 0, 0], [3] * 8 + [0], [2, 2, 2, 2, 2, 2, 2, None, 0]):
        a = _submit(api, assign(world.me, str(builtin.pk)), phq9_answers(scores))
        b = _submit(api, assign(world.me, body["id"]), phq9_answers(scores))
        assert (a["total"], a["severity"], a["prorated"]) == (b["total"], b["severity"], b["prorated"])
    b = _submit(api, assign(world.me, body["id"]), phq9_answers([0] * 8 + [1]))
    assert b["safety"] is True  # the imported form keeps the safety item
