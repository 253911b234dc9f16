"""Editing a meal (portal and chart, history kept) and meal photos (validated from the
bytes, size-capped, stored privately, shown to staff and the patient through gated views)."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from mahalo.models import AuditEvent
from nutrition import photos, services
from nutrition.models import Meal
from nutrition.tests.factories import SCRAMBLED, TOAST, food, log

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def local_text(patient, moment):
    return timezone.localtime(moment, services.tz_of(patient)).strftime("%Y-%m-%dT%H:%M")


def png(name="meal.png", size=(40, 30)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, "PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def form(patient, meal_type, at, rows, **extra):
    """rows: [(food, amount, unit)] -> the meal form's POST."""
    data = {"meal_type": meal_type, "eaten_at": local_text(patient, at), "action": "save",
            "food": [str(f.pk) for f, _, _ in rows], "amount": [a for _, a, _ in rows], "unit": [u for _, _, u in rows]}
    data.update(extra)
    return data


# --- Editing ------------------------------------------------------------------------------------

def test_a_patient_edits_their_meal_and_the_history_keeps_the_first_version(login, nw):
    client = login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")], at=timezone.now() - timedelta(hours=2))
    before_sodium = meal.sodium_mg
    page = client.get(f"/portal/nutrition/meals/{meal.pk}/edit/")
    body = page.content.decode()
    toast = food(TOAST)
    slice_id = str(toast.portions.get(unit="slice").pk)
    assert page.status_code == 200 and "Change your breakfast" in body
    assert f'name="food" value="{toast.pk}"' in body and f'value="{slice_id}" selected' in body
    later = timezone.now() - timedelta(hours=1)
    response = client.post(f"/portal/nutrition/meals/{meal.pk}/edit/",
                           form(nw.me, "lunch", later, [(toast, "3", slice_id)]))
    assert response.status_code == 302
    meal.refresh_from_db()
    assert meal.meal_type == "lunch" and meal.items.get().amount == 3
    assert meal.sodium_mg == pytest.approx(before_sodium * 3, rel=0.01)
    assert meal.history.count() == 2 and meal.items.model.history.filter(meal_id=meal.pk).count() == 3
    event = AuditEvent.objects.filter(object_id=str(meal.pk), metadata__event="meal_updated").get()
    assert set(event.metadata["changed"]) >= {"meal_type", "eaten_at", "items"}
    assert Meal.objects.filter(patient=nw.me).count() == 1  # changed, not duplicated


def test_bad_input_on_edit_is_400_keeps_what_was_typed_and_changes_nothing(login, nw):
    client = login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    toast = food(TOAST)
    response = client.post(f"/portal/nutrition/meals/{meal.pk}/edit/",
                           form(nw.me, "breakfast", timezone.now() - timedelta(hours=1), [(toast, "-2", "g")]))
    body = response.content.decode()
    assert response.status_code == 400 and "more than zero" in body and 'value="-2"' in body
    meal.refresh_from_db()
    assert meal.items.get().amount == 1 and meal.history.count() == 1
    future = client.post(f"/portal/nutrition/meals/{meal.pk}/edit/",
                         form(nw.me, "breakfast", timezone.now() + timedelta(hours=3), [(toast, "2", "g")]))
    assert future.status_code == 400 and "in the future" in future.content.decode()


def test_patients_cannot_edit_other_or_removed_meals(client, login, nw):
    other = nw.cardiac_patients[1]
    theirs = log(other, nw.clinician, [(TOAST, 1, "slice")])
    assert client.get(f"/portal/nutrition/meals/{theirs.pk}/edit/").status_code == 302  # login first
    patient = login(nw.patient_user)
    assert patient.get(f"/portal/nutrition/meals/{theirs.pk}/edit/").status_code == 404
    assert patient.post(f"/portal/nutrition/meals/{theirs.pk}/edit/", {"action": "save"}).status_code == 404
    mine = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    services.meal_void(meal=mine, actor=nw.patient_user)
    assert patient.get(f"/portal/nutrition/meals/{mine.pk}/edit/").status_code == 404
    assert patient.get("/portal/nutrition/meals/not-a-uuid/edit/").status_code == 404


def test_a_dietitian_edits_a_meal_on_the_chart_in_scope_only(login, nw):
    patient = nw.metabolic_patients[0]
    meal = log(patient, nw.dietitian, [(SCRAMBLED, 100, "g")])
    client = login(nw.dietitian)
    url = f"/patients/{patient.pk}/nutrition/meals/{meal.pk}/edit/"
    page = client.get(url)
    assert page.status_code == 200 and "Save changes" in page.content.decode()
    egg = food(SCRAMBLED)
    saved = client.post(url, form(patient, "dinner", timezone.now() - timedelta(minutes=30), [(egg, "150", "g")]))
    assert saved.status_code == 302 and saved["Location"].startswith(f"/patients/{patient.pk}/nutrition/?day=")
    meal.refresh_from_db()
    assert meal.meal_type == "dinner" and meal.items.get().grams == 150
    tab = client.get(f"/patients/{patient.pk}/nutrition/?day={meal.local_date}").content.decode()
    assert f"/patients/{patient.pk}/nutrition/meals/{meal.pk}/edit/" in tab
    cardiac = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    assert client.get(f"/patients/{nw.me.pk}/nutrition/meals/{cardiac.pk}/edit/").status_code == 404
    # a meal of one patient under another patient's URL
    assert client.get(f"/patients/{patient.pk}/nutrition/meals/{cardiac.pk}/edit/").status_code == 404
    assert login(nw.outsider).get(url).status_code in (403, 404)


# --- Photos ---------------------------------------------------------------------------------------

def test_a_photo_is_stored_privately_and_shown_to_staff_and_the_patient(login, client, nw):
    patient_client = login(nw.patient_user)
    toast = food(TOAST)
    response = patient_client.post("/portal/nutrition/", form(nw.me, "breakfast", timezone.now() - timedelta(minutes=5),
                                                               [(toast, "1", "g")], photo=png()))
    assert response.status_code == 302
    meal = Meal.objects.get(patient=nw.me)
    assert meal.photo.name.startswith("meals/") and meal.photo.name.endswith(".png")
    assert "meal" not in meal.photo.name.split("/")[-1]  # a random name, not the upload's
    own = patient_client.get(f"/portal/nutrition/meals/{meal.pk}/photo/")
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert b"".join(own.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    staff = login(nw.clinician)
    tab = staff.get(f"/patients/{nw.me.pk}/nutrition/").content.decode()
    photo_url = f"/patients/{nw.me.pk}/nutrition/meals/{meal.pk}/photo/"
    assert f'src="{photo_url}"' in tab
    shown = staff.get(photo_url)
    assert shown.status_code == 200 and shown["X-Content-Type-Options"] == "nosniff"
    assert shown["Cache-Control"] == "private, no-store" and "sandbox" in shown["Content-Security-Policy"]
    assert AuditEvent.objects.filter(object_id=str(meal.pk), action="read").exists()
    assert login(nw.dietitian).get(photo_url).status_code == 404  # another program's patient
    assert login(nw.outsider).get(photo_url).status_code in (403, 404)


def test_photo_urls_need_a_login_and_a_meal_without_photo_is_404(client, login, nw):
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    assert client.get(f"/patients/{nw.me.pk}/nutrition/meals/{meal.pk}/photo/").status_code == 302
    assert client.get(f"/portal/nutrition/meals/{meal.pk}/photo/").status_code == 302
    assert login(nw.clinician).get(f"/patients/{nw.me.pk}/nutrition/meals/{meal.pk}/photo/").status_code == 404
    other = log(nw.cardiac_patients[1], nw.clinician, [(TOAST, 1, "slice")])
    assert login(nw.patient_user).get(f"/portal/nutrition/meals/{other.pk}/photo/").status_code == 404


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("meal.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg"),
     "a photo; choose"),
    (SimpleUploadedFile("meal.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png"),
     "be read; take it again"),
    (SimpleUploadedFile("meal.png", b"", content_type="image/png"), "empty"),
])
def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(login, nw, upload, message):
    toast = food(TOAST)
    response = login(nw.patient_user).post("/portal/nutrition/", form(
        nw.me, "breakfast", timezone.now() - timedelta(minutes=5), [(toast, "30", "g")], photo=upload))
    body = response.content.decode()
    assert response.status_code == 400 and message in body
    assert 'value="30"' in body  # the meal as typed is still there
    assert not Meal.objects.exists()


def test_a_photo_over_the_cap_is_refused(login, nw, monkeypatch):
    monkeypatch.setattr(photos, "MAX_BYTES", 100)
    toast = food(TOAST)
    response = login(nw.patient_user).post("/portal/nutrition/", form(
        nw.me, "breakfast", timezone.now() - timedelta(minutes=5), [(toast, "30", "g")], photo=png(size=(200, 200))))
    assert response.status_code == 400 and "larger than" in response.content.decode()
    assert not Meal.objects.exists()


def test_an_edit_replaces_or_removes_the_photo_and_history_keeps_the_old_one(login, nw):
    client = login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")], photo=png())
    first = meal.photo.name
    toast = food(TOAST)
    slice_id = str(toast.portions.get(unit="slice").pk)
    url = f"/portal/nutrition/meals/{meal.pk}/edit/"
    assert "Remove the photo saved" in client.get(url).content.decode()
    client.post(url, form(nw.me, "breakfast", meal.eaten_at, [(toast, "1", slice_id)], photo=png("b.png")))
    meal.refresh_from_db()
    assert meal.photo.name != first and meal.photo.storage.exists(first)
    client.post(url, form(nw.me, "breakfast", meal.eaten_at, [(toast, "1", slice_id)], remove_photo="1"))
    meal.refresh_from_db()
    assert not meal.photo
    assert {h.photo for h in meal.history.all()} >= {first, ""}
