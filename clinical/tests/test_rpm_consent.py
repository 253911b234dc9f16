"""Issue 21 item 12: RPM consent (who, when, how) on the RPM tab; a patient without it
is kept out of the billing CSV, and the report says why."""

import csv
import io
from datetime import date, timedelta

import pytest

from clinical import rpm
from clinical.models import RpmConsent
from clinical.tests.test_rpm_pages import HTMX, make_episode, reading, report, tab, time_entry
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def consent_url(patient):
    return f"/patients/{patient.pk}/rpm/consent/"


def export_rows(client, program, month="2025-03"):
    response = client.get(f"/reports/rpm/export.csv?program={program.pk}&month={month}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_patient_without_consent_is_left_out_of_the_csv_with_the_reason_shown(login, world):
    with_consent, without = world.cardiac_patients[1], world.cardiac_patients[2]
    make_episode(with_consent, date(2025, 3, 1))
    make_episode(without, date(2025, 3, 1), consent=False)
    for patient in (with_consent, without):
        for i in range(16):
            reading(patient, date(2025, 3, 1) + timedelta(days=i))
        time_entry(patient, world.clinician, date(2025, 3, 4), 25, True)
    client = login(world.lead)
    names = [r[0] for r in export_rows(client, world.cardiac)]
    assert names == [with_consent.full_name]
    page = client.get(report(world.cardiac))
    assert [i["row"].patient.pk for i in page.context["table"]] == [with_consent.pk]
    held = page.context["held"]
    assert [(i["row"].patient.pk, i["reason"]) for i in held] == [(without.pk, rpm.NO_CONSENT)]
    html = page.content.decode()
    assert "Left out of billing (1)" in html and without.full_name in html and rpm.NO_CONSENT in html
    assert AuditEvent.objects.filter(action="export", metadata__held_for_consent=1).exists()


def test_consent_after_the_month_or_withdrawn_before_it_does_not_count(login, world):
    late, gone = world.cardiac_patients[1], world.cardiac_patients[2]
    make_episode(late, date(2025, 3, 1), consent=False)
    make_episode(gone, date(2025, 3, 1), consent=False)
    RpmConsent.objects.create(project=late.project, patient=late, obtained_on=date(2025, 4, 2), method="verbal",
                              obtained_by=world.clinician)
    RpmConsent.objects.create(project=gone.project, patient=gone, obtained_on=date(2025, 1, 2), method="verbal",
                              obtained_by=world.clinician, withdrawn_on=date(2025, 2, 20))
    page = login(world.lead).get(report(world.cardiac))
    reasons = {i["row"].patient.pk: i["reason"] for i in page.context["held"]}
    assert reasons == {late.pk: "Consent obtained 2025-04-02, after this month",
                       gone.pk: "Consent withdrawn 2025-02-20"}
    assert page.context["table"] == []


def test_record_consent_on_the_rpm_tab_who_when_how(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    page = client.get(tab(patient)).content.decode()
    assert "No RPM consent on file" in page
    today = rpm.local_today(patient.tz)
    response = client.post(consent_url(patient), {"consent-obtained_on": today.isoformat(),
                                                  "consent-method": "verbal",
                                                  "consent-given_by": "Leilani K. (daughter, healthcare proxy)",
                                                  "consent-note": "Explained monthly device days and costs"},
                           **HTMX)
    assert response.status_code == 200 and b"RPM consent recorded." in response.content
    consent = RpmConsent.objects.get(patient=patient)
    assert consent.obtained_by == world.clinician and consent.method == "verbal"
    html = client.get(tab(patient)).content.decode()
    assert "No RPM consent on file" not in html
    assert "Leilani K. (daughter, healthcare proxy)" in html and "Verbal (documented by staff)" in html
    assert AuditEvent.objects.filter(actor=world.clinician, patient=patient, action="create",
                                     metadata__what="rpm_consent").exists()


def test_bad_consent_input_is_inline_and_keeps_what_was_typed(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    future = (rpm.local_today(patient.tz) + timedelta(days=3)).isoformat()
    response = client.post(consent_url(patient), {"consent-obtained_on": future, "consent-method": "telepathy",
                                                  "consent-given_by": "Kai"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html and 'value="Kai"' in html
    response = client.post(consent_url(patient), {"consent-obtained_on": future, "consent-method": "written",
                                                  "consent-given_by": "Kai"})
    assert response.status_code == 400 and "can&#x27;t be in the future" in response.content.decode()
    assert not RpmConsent.objects.exists()


def test_withdraw_consent_keeps_the_record(login, world):
    patient = world.cardiac_patients[1]
    make_episode(patient, rpm.local_today(patient.tz) - timedelta(days=10))
    consent = RpmConsent.objects.get(patient=patient)
    client = login(world.clinician)
    html = client.get(tab(patient)).content.decode()
    assert f"Withdraw {patient.full_name}" in html  # the confirmation names the thing
    today = rpm.local_today(patient.tz).isoformat()
    url = f"/patients/{patient.pk}/rpm/consent/{consent.pk}/withdraw/"
    assert client.post(url, {"withdraw-withdrawn_on": today}, **HTMX).status_code == 200
    consent.refresh_from_db()
    assert consent.withdrawn_on is not None and consent.withdrawn_by == world.clinician
    assert "No RPM consent on file" in client.get(tab(patient)).content.decode()
    again = client.post(url, {"withdraw-withdrawn_on": today})
    assert again.status_code == 400 and b"already withdrawn" in again.content


def test_consent_pages_are_gated(client, login, world):
    patient = world.cardiac_patients[1]
    make_episode(patient, date(2025, 3, 1))
    consent = RpmConsent.objects.get(patient=patient)
    data = {"consent-obtained_on": "2025-03-01", "consent-method": "written", "consent-given_by": "Patient"}
    assert client.post(consent_url(patient), data).status_code == 302  # login required
    for user in (world.other_clinician, world.outsider):
        c = login(user)
        assert c.post(consent_url(patient), data).status_code == 404
        assert c.post(f"/patients/{patient.pk}/rpm/consent/{consent.pk}/withdraw/",
                      {"withdraw-withdrawn_on": "2025-03-02"}).status_code == 404
    other = world.cardiac_patients[2]  # a consent id under another patient's URL
    assert login(world.clinician).post(f"/patients/{other.pk}/rpm/consent/{consent.pk}/withdraw/",
                                       {"withdraw-withdrawn_on": "2025-03-02"}).status_code == 404
    assert RpmConsent.objects.get(pk=consent.pk).withdrawn_on is None
