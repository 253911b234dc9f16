import pytest
from django.core.management import call_command

from mahalo import access
from mahalo.models import User
from patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_it_is_idempotent(seeded):
    counts = (User.objects.count(), Patient.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (User.objects.count(), Patient.objects.count()) == counts


def test_it_creates_the_documented_accounts_and_scopes(seeded):
    demo = Patient.objects.filter(project__name="Mahalo Demo")
    assert demo.count() >= 60
    assert set(demo.values_list("program__name", flat=True)) == {"Cardiac Rehab", "Metabolic Health"}
    assert Patient.objects.filter(project__name="Other Clinic").exists()
    assert len(set(demo.values_list("status", flat=True))) >= 3

    def user(email):
        return User.objects.get(email=email)

    assert user("admin@demo.mahalo.health").is_superuser
    lead = access.patients_for(user("lead@demo.mahalo.health"))
    assert set(lead) == set(demo)
    cardio = access.patients_for(user("cardio@demo.mahalo.health"))
    assert set(cardio.values_list("program__name", flat=True)) == {"Cardiac Rehab"}
    dietitian = access.patients_for(user("dietitian@demo.mahalo.health"))
    assert set(dietitian.values_list("program__name", flat=True)) == {"Metabolic Health"}
    me = access.patients_for(user("patient@demo.mahalo.health"))
    assert list(me.values_list("email", flat=True)) == ["patient@demo.mahalo.health"]
    assert set(access.patients_for(user("outsider@other.mahalo.health")).values_list("project__name", flat=True)) == {
        "Other Clinic"}


def test_demo_accounts_sign_in_with_the_demo_password(client, seeded, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    landings = {
        "admin@demo.mahalo.health": "home/platform.html",
        "lead@demo.mahalo.health": "home/staff.html",
        "cardio@demo.mahalo.health": "home/staff.html",
        "dietitian@demo.mahalo.health": "home/staff.html",
        "outsider@other.mahalo.health": "home/staff.html",
        "patient@demo.mahalo.health": "portal/home.html",
    }
    for email, template in landings.items():
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": "mahalo-demo"}, follow=True)
        assert response.status_code == 200, email
        assert template in [t.name for t in response.templates], email
