"""Pages through HTTP: the chart tab, the library and preview, and the portal's
one-question-per-screen flow with back, save and resume, review and submit."""

import pytest

from assessments import instruments
from assessments.models import Assignment, Questionnaire, Response
from assessments.tests.factories import assign

pytestmark = pytest.mark.django_db


def test_chart_tab_requires_login(world, client):
    r = client.get(f"/patients/{world.me.pk}/assessments/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


@pytest.mark.parametrize("who,whose,code", [
    ("clinician", "me", 200), ("lead", "metabolic", 200), ("clinician", "metabolic", 404),
    ("outsider", "me", 404), ("patient_user", "me", 404),
])
def test_chart_tab_is_gated(world, login, who, whose, code):
    target = world.me if whose == "me" else world.metabolic_patients[0]
    assert login(getattr(world, who)).get(f"/patients/{target.pk}/assessments/").status_code == code


def test_chart_tab_shows_scores_change_and_overdue(world, login, api_login):
    from assessments.tests.factories import phq9_answers

    api = api_login(world.patient_user)
    for scores in ([2] * 6 + [0] * 3, [1] * 4 + [0] * 5):
        a = assign(world.me, instruments.PHQ9)
        api.post(f"/api/v1/me/assignments/{a.pk}/response/", {"answers": phq9_answers(scores)}, format="json")
    import datetime as dt

    from django.utils import timezone
    now = timezone.now()
    assign(world.me, instruments.GAD7, available_at=now - dt.timedelta(days=2), due=now - dt.timedelta(days=1),
           expires_at=now + dt.timedelta(days=1), now=now - dt.timedelta(days=2))
    html = login(world.clinician).get(f"/patients/{world.me.pk}/assessments/").content.decode()
    assert "PHQ-9" in html and "Moderate" in html and "Minimal" in html
    assert "-8" in html and "significant" in html
    assert "overdue" in html


def test_assign_from_the_chart_and_bad_input_keeps_the_form(world, login):
    client = login(world.clinician)
    gad7 = Questionnaire.objects.get(project=world.project, code=instruments.GAD7)
    bad = client.post(f"/patients/{world.me.pk}/assessments/assign/", {"questionnaire": "", "due": "2030-01-01T09:00"})
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    assert 'value="2030-01-01' in bad.content.decode()
    ok = client.post(f"/patients/{world.me.pk}/assessments/assign/", {"questionnaire": str(gad7.pk),
                                                                      "due": "2030-01-01T09:00"})
    assert ok.status_code == 302
    a = Assignment.objects.get()
    assert a.due_at.isoformat() == "2030-01-01T19:00:00+00:00"  # 09:00 in Honolulu
    assert login(world.other_clinician).post(f"/patients/{world.me.pk}/assessments/assign/",
                                             {"questionnaire": str(gad7.pk)}).status_code == 404


def test_library_and_preview_are_gated_by_tenant(world, login):
    client = login(world.clinician)
    assert "PHQ-9" in client.get("/questionnaires/").content.decode()
    phq9 = Questionnaire.objects.get(project=world.project, code=instruments.PHQ9)
    preview = client.get(f"/questionnaires/{phq9.pk}/").content.decode()
    assert "Thoughts that you would be better off dead" in preview and "Several days" in preview
    assert login(world.outsider).get(f"/questionnaires/{phq9.pk}/").status_code == 404
    assert login(world.patient_user).get("/questionnaires/").status_code == 404


def test_library_import_shows_refusals_inline(world, login, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(world.lead)
    bad = SimpleUploadedFile("f.json", b'{"resourceType": "Questionnaire", "name": "x", "item": '
                                       b'[{"linkId": "q1", "text": "?", "type": "attachment"}]}')
    r = client.post("/questionnaires/", {"file": bad})
    assert r.status_code == 400 and "item q1" in r.content.decode()


def test_portal_list_and_one_question_per_screen(world, login):
    a = assign(world.me, instruments.PHQ2)
    client = login(world.patient_user)
    assert "PHQ-2" in client.get("/portal/questionnaires/").content.decode()
    url = f"/portal/questionnaires/{a.pk}/"
    first = client.get(url).content.decode()
    assert "Question 1 of 2" in first and "Little interest or pleasure" in first and "Feeling down" not in first
    bad = client.post(url, {"step": "1", "go": "next", "answer": "LA0000-0"})
    assert bad.status_code == 400 and "Not one of the options" in bad.content.decode()
    assert client.post(url, {"step": "1", "go": "next", "answer": "LA6570-1"}).status_code == 302
    second = client.get(url + "?step=2").content.decode()
    assert "Question 2 of 2" in second and "Feeling down" in second
    # Back keeps the first answer (save and resume).
    back = client.post(url, {"step": "2", "go": "back"})
    assert back["Location"].endswith("?step=1")
    assert 'value="LA6570-1" checked' in client.get(url + "?step=1").content.decode()
    a.refresh_from_db()
    assert a.status == "in_progress" and a.draft == {"/44250-9": "LA6570-1"}
    client.post(url, {"step": "2", "go": "next", "answer": "LA6568-5"})
    review = client.get(url + "?step=3").content.decode()
    assert "Check your answers" in review and "More than half the days" in review
    done = client.post(url, {"step": "3", "go": "submit"}, follow=True)
    assert "Thank you" in done.content.decode()
    assert Response.objects.get().total == 2


def test_portal_pages_are_the_patients_own(world, login):
    theirs = assign(world.cardiac_patients[1], instruments.PHQ2)
    client = login(world.patient_user)
    assert client.get(f"/portal/questionnaires/{theirs.pk}/").status_code == 404
    assert client.post(f"/portal/questionnaires/{theirs.pk}/", {"go": "submit"}).status_code == 404
    assert client.get(f"/portal/questionnaires/{theirs.pk}/done/").status_code == 404
    assert login(world.clinician).get("/portal/questionnaires/").status_code == 404


def test_portal_requires_login(client, world):
    assert client.get("/portal/questionnaires/").status_code == 302
