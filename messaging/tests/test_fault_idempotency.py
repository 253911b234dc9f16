"""Issue 20 fault 6: a message send retried with the same Idempotency-Key creates one
message (20 parallel sends created 20). Sequential retries on every database; the
parallel race on PostgreSQL (SQLite serialises writers)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from mahalo.models import IdempotencyKey, StaffMember
from messaging import threads
from messaging.models import Message, Thread

pytestmark = pytest.mark.django_db


def url(world, convo):
    return f"/api/v1/patients/{world.me.pk}/threads/{convo.pk}/messages/"


@pytest.fixture
def convo(world):
    return threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                      actor=world.clinician)


def test_retries_with_one_key_create_one_message(api_login, world, convo):
    api = api_login(world.patient_user)
    answers = [api.post(url(world, convo), {"body": "Dizzy today"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
               for _ in range(20)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert Message.objects.filter(thread=convo).count() == 1
    assert answers[1]["Idempotent-Replayed"] == "true"
    # Another key is another message; no key is no idempotency.
    assert api.post(url(world, convo), {"body": "Dizzy today"}, format="json",
                    HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    assert api.post(url(world, convo), {"body": "Dizzy today"}, format="json").status_code == 201
    assert Message.objects.filter(thread=convo).count() == 3


def test_a_refused_request_does_not_burn_its_key(api_login, world, convo):
    api = api_login(world.patient_user)
    bad = api.post(url(world, convo), {"body": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="k-3").exists()
    good = api.post(url(world, convo), {"body": "Now with words"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201


def test_keys_are_per_user_bounded_and_bound_to_their_endpoint(api_login, world, convo):
    patient = api_login(world.patient_user)
    assert patient.post(url(world, convo), {"body": "x"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k" * 201).status_code == 400
    assert patient.post(url(world, convo), {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    # Another user's same key is theirs.
    staff = api_login(world.clinician)
    assert staff.post(url(world, convo), {"body": "y"}, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Message.objects.filter(thread=convo).count() == 2
    # The same key on another create endpoint is refused, not replayed.
    started = patient.post(f"/api/v1/patients/{world.me.pk}/threads/", {"subject": "New", "body": "z"},
                           format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert started.status_code == 422
    assert Thread.objects.filter(patient=world.me).count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_sends_with_one_key_create_one_message(world, convo):
    if connection.vendor != "postgresql":
        pytest.skip("the parallel race needs PostgreSQL (SQLite serialises writers)")
    barrier = threading.Barrier(20)
    codes, ids = [], []

    def send():
        from django.db import connections

        api = APIClient()
        api.force_login(world.patient_user, backend="django.contrib.auth.backends.ModelBackend")
        barrier.wait()
        r = api.post(url(world, convo), {"body": "Race"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        codes.append(r.status_code)
        ids.append(r.json().get("id"))
        connections.close_all()

    workers = [threading.Thread(target=send) for _ in range(20)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert set(codes) == {201}, codes
    assert len(set(ids)) == 1
    assert Message.objects.filter(thread=convo, body="Race").count() == 1
