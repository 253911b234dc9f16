"""Days against targets, targets with history, totals as Observations, the rules
(sodium over target on N of M days, fluid over restriction, no meals) and reminders."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from clinical import alerting
from clinical.models import Alert, Observation
from messaging.models import Notification
from nutrition import services
from nutrition.tests.factories import MILK, SOUP, TOAST, log

pytestmark = pytest.mark.django_db


def at_local(patient, days_back: int, hour: int = 12):
    tz = services.tz_of(patient)
    day = services.today_for(patient) - timedelta(days=days_back)
    moment = datetime.combine(day, time(hour), tzinfo=tz)
    return min(moment, timezone.now() - timedelta(minutes=1))


def test_the_day_shows_totals_against_targets_with_fluids_and_sodium_sources(api_login, nw):
    patient = nw.me
    api = api_login(nw.clinician)
    response = api.put(f"/api/v1/patients/{patient.pk}/nutrition/target/",
                       {"sodium_mg": 1500, "fluid_ml": 1500, "energy_kcal": 2000}, format="json")
    assert response.status_code == 200 and response.json()["sodium_mg"] == 1500
    log(patient, nw.patient_user, [(SOUP, 1, "serving 1 cup"), (TOAST, 2, "slice")], meal_type="lunch",
        at=at_local(patient, 0, 0))
    services.fluid_log(patient=patient, actor=nw.patient_user, amount_ml=500, taken_at=at_local(patient, 0, 0))
    day = services.today_for(patient).isoformat()
    body = api.get(f"/api/v1/patients/{patient.pk}/nutrition/days/{day}/").json()
    rows = {r["nutrient"]: r for r in body["targets"]}
    soup_sodium = body["meals"][0]["items"][0]["sodium_mg"]
    assert rows["sodium_mg"]["target"] == 1500 and rows["sodium_mg"]["kind"] == "limit"
    assert rows["sodium_mg"]["value"] == pytest.approx(body["totals"]["sodium_mg"], abs=0.1)
    soup_fluid = body["meals"][0]["items"][0]["fluid_ml"]
    assert body["totals"]["fluid_ml"] == pytest.approx(500 + soup_fluid, abs=0.2)  # the soup's water counts
    assert body["salt_g"] == pytest.approx(body["totals"]["sodium_mg"] * 2.54 / 1000, abs=0.05)
    top = body["sodium_sources"][0]
    assert top["food"].startswith("Soup") and top["percent"] == round(soup_sodium / body["totals"]["sodium_mg"] * 100)
    mine = api_login(nw.patient_user).get(f"/api/v1/me/nutrition/days/{day}/").json()
    assert mine["totals"] == body["totals"]
    assert api.get(f"/api/v1/patients/{patient.pk}/nutrition/days/yesterday/").status_code == 400


def test_targets_keep_who_changed_them_and_bad_values_are_400(api_login, nw):
    patient = nw.metabolic_patients[0]
    api = api_login(nw.dietitian)
    assert api.put(f"/api/v1/patients/{patient.pk}/nutrition/target/", {"sodium_mg": -3},
                   format="json").status_code == 400
    url = f"/api/v1/patients/{patient.pk}/nutrition/target/"
    assert api.put(url, {"sodium_mg": 2300}, format="json").status_code == 200
    assert api.put(url, {"sodium_mg": 2000}, format="json").status_code == 200
    target = services.target_of(patient)
    assert [h.sodium_mg for h in target.history.order_by("history_date")] == [2300, 2000]
    assert {h.history_user for h in target.history.all()} == {nw.dietitian}
    assert api_login(nw.patient_user).put(f"/api/v1/patients/{nw.me.pk}/nutrition/target/", {"sodium_mg": 5000},
                                          format="json").status_code in (403, 404)
    assert api_login(nw.clinician).get(f"/api/v1/patients/{patient.pk}/nutrition/target/").status_code == 404


def test_daily_totals_are_written_as_observations(nw):
    patient = nw.me
    services.target_set(patient=patient, actor=nw.clinician, values={"fluid_ml": 1000})
    log(patient, nw.patient_user, [(MILK, 1, "cup")], at=at_local(patient, 0, 0))
    rows = {o.metric: o for o in Observation.objects.filter(patient=patient)}
    assert {"energy_intake", "sodium_intake", "fluid_intake", "fluid_target_pct"} <= set(rows)
    assert rows["fluid_intake"].value == pytest.approx(244 * 0.8913, abs=1)
    assert rows["fluid_target_pct"].value == pytest.approx(rows["fluid_intake"].value / 10, abs=0.2)
    assert rows["energy_intake"].source == "patient"


def test_sodium_over_target_on_3_of_7_days_raises_one_alert(nw):
    patient = nw.metabolic_patients[0]
    services.ensure_nutrition_rules(patient.program)
    services.target_set(patient=patient, actor=nw.dietitian, values={"sodium_mg": 1000})
    for back in (4, 2):
        log(patient, nw.dietitian, [(SOUP, 2, "serving 1 cup")], meal_type="lunch", at=at_local(patient, back))
    alerting.evaluate_patient(patient)
    assert not Alert.objects.filter(patient=patient, code="nutrition_sodium_over_target").exists()
    log(patient, nw.dietitian, [(SOUP, 2, "serving 1 cup")], meal_type="lunch", at=at_local(patient, 0, 0))
    alerting.evaluate_patient(patient)
    alert = Alert.objects.get(patient=patient, code="nutrition_sodium_over_target")
    assert alert.evidence["readings"][0]["value"] == 3
    # A computed tally is named by what it counts, not called "a reading" of "3 days in 1 day".
    assert alert.body.startswith("Days over sodium target: 3 days, at or above the limit of 3 days (")
    assert "reading" not in alert.body
    alerting.evaluate_patient(patient)
    assert Alert.objects.filter(patient=patient, code="nutrition_sodium_over_target").count() == 1


def test_fluid_over_restriction_today_raises_an_alert(nw):
    patient = nw.me
    services.ensure_nutrition_rules(patient.program)
    services.target_set(patient=patient, actor=nw.clinician, values={"fluid_ml": 1500})
    services.fluid_log(patient=patient, actor=nw.patient_user, amount_ml=1000, taken_at=at_local(patient, 0, 0))
    alerting.evaluate_patient(patient)
    assert not Alert.objects.filter(code="nutrition_fluid_over_limit").exists()
    services.fluid_log(patient=patient, actor=nw.patient_user, amount_ml=700, taken_at=at_local(patient, 0, 0))
    alerting.evaluate_patient(patient)  # the ingest signal queues this on commit; tests run it directly
    alert = Alert.objects.get(patient=patient, code="nutrition_fluid_over_limit")
    assert "113" in alert.body
    assert alert.body.startswith("Fluid, % of restriction (day): 113")


def test_no_meals_for_3_days_raises_an_alert_only_for_patients_who_logged_before(nw):
    patient = nw.metabolic_patients[1]
    services.ensure_nutrition_rules(patient.program)
    rule = next(r for r in alerting.applicable_rules(patient) if r.code == "nutrition_no_meals")
    assert not alerting.evaluate_patient(patient, rules=[rule])[0].result.fired  # never logged: nothing to miss
    log(patient, nw.dietitian, [(TOAST, 1, "slice")], at=at_local(patient, 5))
    assert alerting.evaluate_patient(patient, rules=[rule])[0].result.fired


def test_rules_are_created_only_where_food_tracking_is_on(nw):
    assert services.ensure_nutrition_rules(nw.cardiac) == 3
    assert services.ensure_nutrition_rules(nw.cardiac) == 0
    assert services.ensure_nutrition_rules(nw.other_program) == 0


def test_the_food_log_reminder_goes_once_to_patients_without_a_meal_today(nw):
    from mahalo.models import ProgramSetting

    ProgramSetting.objects.create(program=nw.cardiac, key=services.REMINDER_HOUR_KEY, value="0")
    other_user = nw.cardiac_patients[1]
    assert services.send_food_log_reminders() >= 1
    assert Notification.objects.filter(event_type="food_log_reminder", recipient=nw.patient_user).exists()
    count = Notification.objects.filter(event_type="food_log_reminder").count()
    services.send_food_log_reminders()
    assert Notification.objects.filter(event_type="food_log_reminder").count() == count  # once a day
    assert other_user.user_id is None  # no portal login: nothing to send


def test_no_reminder_after_a_meal_or_with_the_flag_off(nw):
    from mahalo.models import ProgramSetting
    from nutrition.tests.factories import flag

    ProgramSetting.objects.create(program=nw.cardiac, key=services.REMINDER_HOUR_KEY, value="0")
    log(nw.me, nw.patient_user, [(TOAST, 1, "slice")], at=at_local(nw.me, 0, 0))
    services.send_food_log_reminders()
    assert not Notification.objects.filter(event_type="food_log_reminder").exists()
    flag(nw.project, False)
    nw.me.meals.update(voided_at=timezone.now())
    assert services.send_food_log_reminders() == 0
