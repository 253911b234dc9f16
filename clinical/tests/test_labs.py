"""Lab orders (workflow), results (complete the order, colours, A1C class), the Labs tab."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinical import labs
from clinical.models import BloodTest, LabOrder
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def tab(patient):
    return f"/patients/{patient.pk}/labs/"


def order_for(world, patient=None, tests=("HbA1c", "LDL cholesterol")):
    return labs.lab_order_create(patient=patient or world.cardiac_patients[1], tests=list(tests), notes="fasting",
                                 actor=world.clinician)


def result(name="HbA1c", value=6.1, unit="%", low=4.0, high=5.6, hours=2):
    return labs.ResultIn(test_name=name, value=value, unit=unit, reference_low=low, reference_high=high,
                         recorded_at=timezone.now() - timedelta(hours=hours))


def test_valid_transitions(world):
    order = order_for(world)
    assert order.status == "ordered"
    order = labs.lab_order_transition(order=order, to="in_progress", actor=world.clinician)
    assert order.status == "in_progress"
    order = labs.lab_order_transition(order=order, to="cancelled", actor=world.clinician, reason="Patient declined")
    assert order.status == "cancelled" and order.cancelled_reason == "Patient declined"
    assert AuditEvent.objects.filter(metadata__event="lab_order_transition").count() == 2


@pytest.mark.parametrize(("start", "to"), [
    ("ordered", "completed"),        # only by entering results
    ("in_progress", "ordered"),      # no going back
    ("cancelled", "in_progress"),    # terminal
    ("completed", "cancelled"),      # terminal
    ("ordered", "bogus"),
])
def test_invalid_transitions_are_refused_with_a_message(world, start, to):
    order = order_for(world)
    LabOrder.objects.filter(pk=order.pk).update(status=start)
    with pytest.raises(ValidationError) as exc:
        labs.lab_order_transition(order=order, to=to, actor=world.clinician, reason="x")
    assert exc.value.message_dict["status"][0]
    order.refresh_from_db()
    assert order.status == start


def test_cancel_needs_a_reason(world):
    order = order_for(world)
    with pytest.raises(ValidationError) as exc:
        labs.lab_order_transition(order=order, to="cancelled", actor=world.clinician, reason="  ")
    assert "reason" in exc.value.message_dict
    order.refresh_from_db()
    assert order.status == "ordered"


def test_results_complete_the_order_atomically(world):
    order = order_for(world)
    rows = labs.lab_results_enter(patient=order.patient, order=order, actor=world.clinician,
                                  results=[result(), result("LDL cholesterol", 88, "mg/dL", None, 100)])
    order.refresh_from_db()
    assert order.status == "completed" and order.completed_at is not None
    assert [r.lab_order_id for r in rows] == [order.pk, order.pk]
    # It passed through "in progress": the history shows every step.
    assert list(order.history.order_by("history_date").values_list("status", flat=True)) == [
        "ordered", "in_progress", "completed"]
    assert rows[0].loinc == "4548-4"


def test_a_bad_row_stores_nothing_and_leaves_the_order_open(world):
    order = order_for(world)
    bad = result("LDL cholesterol", 88, "mg/dL", 120, 100)  # low above high
    with pytest.raises(ValidationError) as exc:
        labs.lab_results_enter(patient=order.patient, order=order, actor=world.clinician, results=[result(), bad])
    assert "results.1.reference_high" in exc.value.message_dict
    assert BloodTest.objects.count() == 0
    order.refresh_from_db()
    assert order.status == "ordered"


def test_no_results_on_a_closed_order(world):
    order = order_for(world)
    labs.lab_order_transition(order=order, to="cancelled", actor=world.clinician, reason="duplicate")
    with pytest.raises(ValidationError):
        labs.lab_results_enter(patient=order.patient, order=order, actor=world.clinician, results=[result()])
    assert BloodTest.objects.count() == 0


def test_results_without_an_order(world):
    patient = world.cardiac_patients[1]
    rows = labs.lab_results_enter(patient=patient, actor=world.clinician, results=[result("TSH", 2.1, "mIU/L",
                                                                                          0.4, 4.0)])
    assert rows[0].lab_order is None and rows[0].in_range is True


def test_future_and_naive_times_are_refused(world):
    patient = world.cardiac_patients[1]
    future = result(hours=-3)
    naive = result()
    naive.recorded_at = naive.recorded_at.replace(tzinfo=None)
    for r in (future, naive):
        with pytest.raises(ValidationError):
            labs.lab_results_enter(patient=patient, actor=world.clinician, results=[r])


def test_colours_and_a1c_classes(world):
    patient = world.cardiac_patients[1]
    high, ok, none = labs.lab_results_enter(patient=patient, actor=world.clinician, results=[
        result("HbA1c", 6.7), result("Potassium", 4.2, "mmol/L", 3.5, 5.1), result("Ferritin", 80, "ng/mL", None,
                                                                                   None)])
    assert (high.in_range, high.color) == (False, "red")
    assert (ok.in_range, ok.color) == (True, "green")
    assert (none.in_range, none.color) == (None, "")
    assert labs.a1c_category(high) == "diabetes"
    assert labs.a1c_category(BloodTest(test_name="A1C", value=5.7, unit="%")) == "prediabetes"
    assert labs.a1c_category(BloodTest(test_name="HbA1c", value=5.6, unit="%")) == "normal"
    assert labs.a1c_category(BloodTest(test_name="HbA1c", value=48, unit="mmol/mol")) == ""
    assert labs.a1c_category(ok) == ""


# --- The tab -----------------------------------------------------------------------------


def test_tab_requires_login_and_scope(client, login, world):
    patient = world.cardiac_patients[1]
    assert client.get(tab(patient)).status_code == 302
    assert login(world.other_clinician).get(tab(patient)).status_code == 404
    assert login(world.outsider).get(tab(patient)).status_code == 404
    assert login(world.patient_user).get(tab(world.me)).status_code == 404
    assert login(world.other_clinician).post(tab(patient), {"action": "order", "tests": ["TSH"]}).status_code == 404
    assert LabOrder.objects.count() == 0


def test_tab_groups_results_with_text_not_colour_alone(login, world):
    patient = world.cardiac_patients[1]
    for days, value in ((200, 5.9), (100, 6.3), (1, 6.8)):
        labs.lab_results_enter(patient=patient, actor=world.clinician,
                               results=[result("HbA1c", value, hours=24 * days)])
    labs.lab_results_enter(patient=patient, actor=world.clinician, results=[result("Sodium", 140, "mmol/L", 135,
                                                                                   145)])
    page = login(world.clinician).get(tab(patient)).content.decode()
    assert page.count('class="lb-group"') == 2
    assert "Out of range (high)" in page and "In range" in page
    assert "ADA: <strong>Diabetes range</strong>" in page
    assert '<svg class="lb-spark"' in page and "HbA1c trend: 5.9" in page


def test_order_form_workflow_and_results_through_the_tab(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    assert client.post(tab(patient), {"action": "order", "tests": ["TSH"], "other_tests": "Vitamin D",
                                      "notes": ""}).status_code == 302
    order = LabOrder.objects.get()
    assert order.tests == ["TSH", "Vitamin D"]
    page = client.get(tab(patient), {"results_for": order.pk}).content.decode()
    assert 'value="TSH"' in page and 'value="Vitamin D"' in page
    when = (timezone.now() - timedelta(hours=1)).astimezone(patient.program.tz).strftime("%Y-%m-%dT%H:%M")
    data = {"action": "results", "order": order.pk, "recorded_at": when, "r-TOTAL_FORMS": "2",
            "r-INITIAL_FORMS": "2", "r-0-test_name": "TSH", "r-0-value": "abc", "r-0-unit": "mIU/L",
            "r-0-reference_low": "0.4", "r-0-reference_high": "4.0", "r-1-test_name": "Vitamin D",
            "r-1-value": "31", "r-1-unit": "ng/mL"}
    bad = client.post(tab(patient), data)
    assert bad.status_code == 400 and "Enter a number." in bad.content.decode()
    assert 'value="abc"' in bad.content.decode()
    assert BloodTest.objects.count() == 0
    data["r-0-value"] = "5.2"
    assert client.post(tab(patient), data).status_code == 302
    order.refresh_from_db()
    assert order.status == "completed" and BloodTest.objects.filter(lab_order=order).count() == 2


def test_invalid_transition_through_the_tab_shows_the_message(login, world):
    order = order_for(world)
    client = login(world.clinician)
    response = client.post(tab(order.patient), {"action": "transition", "order": order.pk, "to": "cancelled",
                                                "reason": ""})
    assert response.status_code == 400 and "Give a reason for cancelling." in response.content.decode()


def test_read_only_role_cannot_order(login, world):
    patient = world.metabolic_patients[0]
    client = login(world.dietitian)
    assert "New lab order" not in client.get(tab(patient)).content.decode()
    assert client.post(tab(patient), {"action": "order", "tests": ["TSH"]}).status_code == 404
    assert LabOrder.objects.count() == 0
