"""Verified clinicians (issue 19): an admin with settings:update verifies licence and certification
(who, when, evidence), in admin; changed credentials clear it; patients see "Verified"."""

import pytest
from django.urls import reverse

from mahalo.models import AuditEvent, StaffMember
from mahalo.tests.factories import make_staff, staff

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:mahalo_staffmember_changelist")


def _admin(world):
    user = make_staff(world.project, "Administrator", email="admin@t.test")
    user.is_staff = True
    user.save()
    return user


def _credentials(user, **kw):
    member = staff(user)
    for k, v in {"license_number": "HI-MD-12345", "certifications": ["ABIM Cardiovascular Disease"],
                 "verification_note": "Hawaii board lookup 2026-12-01", **kw}.items():
        setattr(member, k, v)
    member.save()
    return member


def test_admin_verifies_with_evidence_and_patients_see_it(world, client, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    member = _credentials(world.clinician)
    admin_user = _admin(world)
    client.force_login(admin_user)
    response = client.post(CHANGELIST, {"action": "verify_credentials", "_selected_action": [member.pk]})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_verified and member.verified_by == admin_user and member.verified_at
    event = AuditEvent.objects.get(object_id=str(member.pk), metadata__what="staff_verified")
    assert event.actor == admin_user and event.metadata["note"] == "Hawaii board lookup 2026-12-01"

    from patients.care_team import care_team_add

    care_team_add(patient=world.me, staff=member, actor=world.lead)
    client.force_login(world.patient_user)
    page = client.get(reverse("portal_care_team")).content.decode()
    assert "Verified" in page and "HI-MD-12345" in page and "ABIM Cardiovascular Disease" in page


def test_no_evidence_or_no_licence_no_verification(world, client, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    no_note = _credentials(world.clinician, verification_note="")
    no_licence = _credentials(world.other_clinician, license_number="")
    client.force_login(_admin(world))
    response = client.post(CHANGELIST, {"action": "verify_credentials",
                                        "_selected_action": [no_note.pk, no_licence.pk]}, follow=True)
    assert b"Say what evidence you checked" in response.content and b"Record the licence number" in response.content
    assert not StaffMember.objects.filter(is_verified=True).exists()


def test_clinical_lead_without_settings_update_cannot_verify(world, client, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    member = _credentials(world.clinician)
    world.lead.is_staff = True
    world.lead.save()
    client.force_login(world.lead)
    client.post(CHANGELIST, {"action": "verify_credentials", "_selected_action": [member.pk]})
    member.refresh_from_db()
    assert not member.is_verified
    from mahalo.services import staff_verify

    with pytest.raises(Exception, match="administrator"):
        staff_verify(staff=member, actor=world.lead, note="x")
    with pytest.raises(Exception, match="administrator"):  # another tenant's admin
        staff_verify(staff=member, actor=world.outsider, note="x")


def test_changed_licence_clears_the_verification(world, client, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    from mahalo.services import staff_verify

    admin_user = _admin(world)
    member = staff_verify(staff=_credentials(world.clinician), actor=admin_user, note="board lookup")
    client.force_login(admin_user)
    url = reverse("admin:mahalo_staffmember_change", args=[member.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({"license_number": "HI-MD-99999", "certifications": '["ABIM Cardiovascular Disease"]',
                 "user": world.clinician.pk, "project": world.project.pk, "role": member.role_id,
                 "specialties": "[]", "telehealth_enabled": "on", "is_active": "on",
                 "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    member.refresh_from_db()
    assert member.license_number == "HI-MD-99999" and not member.is_verified and member.verified_by is None
