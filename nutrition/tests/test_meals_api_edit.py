"""Changing a meal and attaching its photo over the API (me and the staff twin): the same
services as the pages, 400 naming the field with nothing changed, the gate's 404s."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from nutrition.models import Meal
from nutrition.tests.factories import SCRAMBLED, TOAST, food, log

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def jpeg() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 160, 60)).save(buf, "JPEG")
    return SimpleUploadedFile("plate.jpg", buf.getvalue(), content_type="image/jpeg")


def test_a_patient_changes_a_meal_and_only_what_is_sent_changes(api_login, nw):
    api = api_login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")], note="before the walk")
    url = f"/api/v1/me/meals/{meal.pk}/edit/"
    response = api.post(url, {"meal_type": "snack"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["meal_type"] == "snack" and body["note"] == "before the walk" and len(body["items"]) == 1
    response = api.post(url, {"items": [{"food": str(food(SCRAMBLED).pk), "amount": 2, "unit": "large"}]},
                        format="json")
    body = response.json()
    assert response.status_code == 200 and body["items"][0]["grams"] == 122
    assert body["energy_kcal"] == pytest.approx(body["items"][0]["energy_kcal"], abs=0.1)
    assert Meal.objects.get(pk=meal.pk).history.count() == 3


@pytest.mark.parametrize("payload, field", [
    ({"items": [{"food": "00000000-0000-0000-0000-000000000000", "amount": 1, "unit": "g"}]}, "items[0].food"),
    ({"items": [{"amount": 1, "unit": "g"}]}, "items"),
    ({"eaten_at": "2026-01-01T08:00:00"}, "eaten_at"),
    ({"meal_type": "brunch"}, "meal_type"),
    ({"items": []}, "items"),
])
def test_bad_edits_are_400_naming_the_field_and_change_nothing(api_login, nw, payload, field):
    api = api_login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    response = api.post(f"/api/v1/me/meals/{meal.pk}/edit/", payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    meal.refresh_from_db()
    assert meal.meal_type == "breakfast" and meal.items.get().amount == 1 and meal.history.count() == 1


def test_a_time_in_the_future_and_a_unit_the_food_lacks_are_400(api_login, nw):
    api = api_login(nw.patient_user)
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    url = f"/api/v1/me/meals/{meal.pk}/edit/"
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    assert "eaten_at" in api.post(url, {"eaten_at": future}, format="json").json()
    bad_unit = {"items": [{"food": str(food(TOAST).pk), "amount": 1, "unit": "bucket"}]}
    assert "items[0].unit" in api.post(url, bad_unit, format="json").json()


def test_nobody_changes_a_meal_outside_their_scope(api_login, client, nw):
    mine = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    theirs = log(nw.cardiac_patients[1], nw.clinician, [(TOAST, 1, "slice")])
    assert client.post(f"/api/v1/me/meals/{mine.pk}/edit/", {}, content_type="application/json").status_code in (
        401, 403)
    patient = api_login(nw.patient_user)
    assert patient.post(f"/api/v1/me/meals/{theirs.pk}/edit/", {"meal_type": "snack"},
                        format="json").status_code == 404
    assert patient.post(f"/api/v1/patients/{nw.me.pk}/meals/{mine.pk}/edit/", {"meal_type": "snack"},
                        format="json").status_code in (403, 404)
    dietitian = api_login(nw.dietitian)  # metabolic only
    assert dietitian.post(f"/api/v1/patients/{nw.me.pk}/meals/{mine.pk}/edit/", {"meal_type": "snack"},
                          format="json").status_code == 404
    outsider = api_login(nw.outsider)
    assert outsider.post(f"/api/v1/patients/{nw.me.pk}/meals/{mine.pk}/edit/", {"meal_type": "snack"},
                         format="json").status_code in (403, 404)
    clinician = api_login(nw.clinician)
    # a meal of another patient under this patient's URL
    assert clinician.post(f"/api/v1/patients/{nw.me.pk}/meals/{theirs.pk}/edit/", {"meal_type": "snack"},
                          format="json").status_code == 404
    ok = clinician.post(f"/api/v1/patients/{nw.me.pk}/meals/{mine.pk}/edit/", {"meal_type": "snack"},
                        format="json")
    assert ok.status_code == 200 and ok.json()["meal_type"] == "snack"
    for meal in (mine, theirs):
        meal.refresh_from_db()
    assert theirs.meal_type == "breakfast"


def test_photos_over_the_api(api_login, nw):
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    api = api_login(nw.patient_user)
    url = f"/api/v1/me/meals/{meal.pk}/photo/"
    assert api.post(url, {}, format="multipart").json()["photo"]
    text = SimpleUploadedFile("plate.jpg", b"just text, not a photo", content_type="image/jpeg")
    refused = api.post(url, {"photo": text}, format="multipart")
    assert refused.status_code == 400 and "photo" in refused.json()
    meal.refresh_from_db()
    assert not meal.photo
    response = api.post(url, {"photo": jpeg()}, format="multipart")
    assert response.status_code == 200 and response.json()["has_photo"] is True
    meal.refresh_from_db()
    assert meal.photo.name.endswith(".jpg")
    staff = api_login(nw.clinician).post(f"/api/v1/patients/{nw.me.pk}/meals/{meal.pk}/photo/", {"photo": jpeg()},
                                         format="multipart")
    assert staff.status_code == 200
    assert api_login(nw.dietitian).post(f"/api/v1/patients/{nw.me.pk}/meals/{meal.pk}/photo/", {"photo": jpeg()},
                                        format="multipart").status_code == 404


def test_the_flag_off_closes_the_edit_routes(api_login, nw):
    from nutrition.tests.factories import flag

    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    flag(nw.project, False)
    assert api_login(nw.patient_user).post(f"/api/v1/me/meals/{meal.pk}/edit/", {"meal_type": "snack"},
                                           format="json").status_code == 404
    assert api_login(nw.clinician).post(f"/api/v1/patients/{nw.me.pk}/meals/{meal.pk}/edit/",
                                        {"meal_type": "snack"}, format="json").status_code == 404
