"""Feature flags switch their module off everywhere (issue 18): nav, pages, API and tasks, per tenant.

Modules that shipped on stay on until a FeatureFlag row turns them off; food tracking is opt-in.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import instruments
from assessments import services as assessment_services
from assessments.tests.factories import assign
from mahalo import config
from mahalo.models import FeatureFlag
from messaging.tests.factories import default_thread, png_bytes
from patients import shell

pytestmark = pytest.mark.django_db


def _switch(project, key, on):
    FeatureFlag.objects.update_or_create(project=project, name=key, defaults={"enabled": on})


def test_defaults_rows_and_tenants(world):
    assert config.feature_on(world.project, config.WELLNESS)  # shipped on
    assert not config.feature_on(world.project, config.NUTRITION)  # opt-in
    assert config.feature_on(world.project, config.REHAB)  # the key exists for the rehab module
    _switch(world.project, config.WELLNESS, False)
    _switch(world.project, config.NUTRITION, True)
    assert not config.feature_on(world.project, config.WELLNESS)
    assert config.feature_on(world.project, config.NUTRITION)
    assert config.feature_on(world.other_project, config.WELLNESS)  # per tenant
    assert not config.feature_on(world.other_project, config.NUTRITION)
    assert not config.feature_on(world.project, "no_such_module")


def test_one_query_per_request_cache(world):
    holder = type("Req", (), {})()
    with CaptureQueriesContext(connection) as ctx:
        for key in config.FEATURES:
            config.feature_on(world.project, key, cache=holder)
        config.features_on(world.project, cache=holder)
    assert len(ctx.captured_queries) == 1


def _portal_keys(patient):
    return {p["key"] for p in shell.portal_nav(patient, "")}


def test_questionnaires(api_login, login, world):
    assignment = assign(world.me, instruments.PHQ9)
    type(assignment).objects.filter(pk=assignment.pk).update(reminded_at=None)  # as a scheduled one opening now
    _switch(world.project, config.QUESTIONNAIRES, False)
    assert "questionnaires" not in _portal_keys(world.me)
    assert login(world.patient_user).get("/portal/questionnaires/").status_code == 404
    assert api_login(world.patient_user).get("/api/v1/me/assignments/").status_code == 404
    assert api_login(world.clinician).get("/questionnaires/").status_code == 404
    # The chart's Assessments tab (history, safety follow-up) stays.
    assert api_login(world.clinician).get(f"/patients/{world.me.pk}/assessments/").status_code == 200
    assert assessment_services.expire_and_remind()["reminded"] == 0
    assignment.refresh_from_db()
    assert assignment.reminded_at is None
    _switch(world.project, config.QUESTIONNAIRES, True)
    assert "questionnaires" in _portal_keys(world.me)
    assert login(world.patient_user).get("/portal/questionnaires/").status_code == 200
    assert api_login(world.patient_user).get("/api/v1/me/assignments/").status_code == 200
    assert assessment_services.expire_and_remind()["reminded"] == 1


def test_wellness(api_login, login, world):
    from assessments.wellness import tasks

    _switch(world.project, config.WELLNESS, False)
    assert "wellness" not in _portal_keys(world.me)
    assert login(world.patient_user).get("/portal/wellness/").status_code == 404
    assert api_login(world.patient_user).get("/api/v1/me/wellness-sessions/").status_code == 404
    assert api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/wellness-sessions/").status_code == 404
    assert tasks.sweep(minutes=0) == 0
    _switch(world.project, config.WELLNESS, True)
    assert "wellness" in _portal_keys(world.me)
    assert login(world.patient_user).get("/portal/wellness/").status_code == 200
    assert api_login(world.patient_user).get("/api/v1/me/wellness-sessions/").status_code == 200


def test_wellness_task_skips_a_switched_off_tenant(world):
    from assessments.wellness import tasks
    from assessments.wellness.models import WellnessSession

    session = WellnessSession.objects.create(project=world.project, program=world.cardiac, patient=world.me,
                                             kind=WellnessSession.Kind.FULL)
    _switch(world.project, config.WELLNESS, False)
    assert tasks.process_session(str(session.pk)) == "switched off"
    session.refresh_from_db()
    assert session.attempts == 0


def test_telehealth(api_login, login, world):
    from scheduling import tasks

    thread = default_thread(world.me, world.clinician)
    _switch(world.project, config.TELEHEALTH, False)
    api = api_login(world.clinician)
    assert api.get("/api/v1/scheduling/calls/").status_code == 404
    assert api.post("/api/v1/scheduling/calls/", {"thread": str(thread.pk)}, format="json").status_code == 404
    assert login(world.clinician).get(f"/calls/thread/{thread.pk}/new/").status_code == 404
    assert api_login(world.patient_user).get("/api/v1/scheduling/calls/").status_code == 404
    page = login(world.clinician).get(f"/messages/{thread.pk}/").content.decode()
    assert f"/calls/thread/{thread.pk}/" not in page
    # The visits API itself stays (only video is switched off).
    assert api.get("/api/v1/scheduling/visits/").status_code == 200
    assert tasks.prepare_video_room("00000000-0000-0000-0000-000000000000") == "gone"
    _switch(world.project, config.TELEHEALTH, True)
    assert api.get("/api/v1/scheduling/calls/").status_code == 200
    assert login(world.clinician).get(f"/calls/thread/{thread.pk}/new/").status_code == 200


def test_rpm(client, world):
    from mahalo.models import User

    def fresh(user):  # the flags are cached on the user object for one request
        return User.objects.get(pk=user.pk)

    def get(user, url):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client.get(url)

    _switch(world.project, config.RPM, False)
    assert "rpm" not in {t["key"] for t in shell.tabs_for(fresh(world.lead), world.me)}
    assert get(world.lead, f"/patients/{world.me.pk}/rpm/").status_code == 404
    assert get(world.lead, "/reports/rpm/").status_code == 404
    assert 'href="/reports/rpm/"' not in get(world.dietitian, "/patients/").content.decode()  # reports:read
    _switch(world.project, config.RPM, True)
    assert "rpm" in {t["key"] for t in shell.tabs_for(fresh(world.lead), world.me)}
    assert get(world.lead, f"/patients/{world.me.pk}/rpm/").status_code == 200
    assert 'href="/reports/rpm/"' in get(world.dietitian, "/patients/").content.decode()


def test_message_attachments(api_login, login, world):
    thread = default_thread(world.me, world.clinician)
    url = f"/api/v1/patients/{world.me.pk}/threads/{thread.pk}/messages/"

    def send():
        upload = SimpleUploadedFile("scan.png", png_bytes(), content_type="image/png")
        return api_login(world.patient_user).post(url, {"body": "see file", "files": [upload]}, format="multipart")

    _switch(world.project, config.MESSAGE_ATTACHMENTS, False)
    refused = send()
    assert refused.status_code == 400 and "Attachments are switched off" in refused.content.decode()
    assert not thread.messages.filter(body="see file").exists()
    assert 'type="file"' not in login(world.patient_user).get(f"/portal/messages/{thread.pk}/").content.decode()
    _switch(world.project, config.MESSAGE_ATTACHMENTS, True)
    assert send().status_code == 201
    assert 'type="file"' in login(world.patient_user).get(f"/portal/messages/{thread.pk}/").content.decode()


def test_nutrition_is_opt_in(api_login, login, world):
    assert api_login(world.dietitian).get("/api/v1/foods/", {"q": "egg"}).status_code == 404
    assert login(world.dietitian).get("/nutrition/foods/").status_code == 404
    assert "nutrition" not in _portal_keys(world.me)
    _switch(world.project, config.NUTRITION, True)
    assert api_login(world.dietitian).get("/api/v1/foods/", {"q": "egg"}).status_code == 200
    assert "nutrition" in _portal_keys(world.me)


def test_anonymous_meet_the_login_first(client, world):
    _switch(world.project, config.WELLNESS, False)
    response = client.get("/portal/wellness/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/v1/me/wellness-sessions/").status_code in (401, 403)
