"""Portal invitations: staff give a patient a portal login.

`patient_invite` creates (or reuses) the patient's own login with no usable
password and emails them a "set your password" link made with allauth's
password-reset machinery. Setting the password through that link is the
patient's first sign-in step; receiving the link at the address proves they own
it, so `mark_email_verified_on_reset` (a receiver of allauth's `password_reset`
signal, connected when this module is imported: PatientsConfig.ready imports it) marks that
address verified: with ACCOUNT_EMAIL_VERIFICATION="mandatory" the patient then
signs in straight to the portal instead of going round a second confirmation
email. allauth 65 itself never marks an address verified on a password reset.
"""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import reverse

from mahalo import audit
from mahalo.models import StaffMember, User
from patients.models import Patient

INVITE_TEMPLATE = "emails/portal_invite"


def _known_to_tenant(user, project) -> bool:
    """Whether the login is one of this tenant's own (its staff, or a portal login of its patients)."""
    return (StaffMember.objects.filter(user=user, project=project).exists()
            or Patient.objects.filter(user=user, project=project).exists())


def _refuse_foreign_login(user, patient: Patient) -> None:
    """An existing login with the patient's email that isn't theirs is never taken over. What the
    refusal says depends only on this tenant's data (issue 12: no account oracle): a login of another
    tenant or of a platform operator gets the same answer as any address this tenant can't vouch for."""
    if not _known_to_tenant(user, patient.project):
        raise ValueError(f"{user.email} can't be used for this patient's portal login. "
                         "Ask the patient for another email address, or ask support to check it.")
    if StaffMember.objects.filter(user=user).exists():
        raise ValueError(f"{user.email} is a staff login. A patient needs their own email address for the portal.")
    if Patient.objects.filter(user=user).exclude(pk=patient.pk).exists():
        raise ValueError(f"{user.email} is already the portal login of another patient. "
                         "Each patient needs their own email address.")
    raise ValueError(f"An account with {user.email} already exists and isn't linked to this patient. "
                     "Ask an administrator to check it before inviting.")


def invite_url(request, user) -> str:
    key = default_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key})
    return request.build_absolute_uri(path)


def patient_invite(*, patient: Patient, actor, request) -> User:
    """Create or reuse `patient`'s portal login and email them an invitation.

    Refuses (ValueError, message fit for the user) a patient without an email,
    an archived patient, an email that belongs to anyone else's login, and a
    login whose email no longer matches the record. Inviting again re-sends."""
    email = (patient.email or "").strip().lower()
    if not email:
        raise ValueError("This patient has no email address. Add one to their record, then send the invitation.")
    if patient.status == Patient.Status.ARCHIVED:
        raise ValueError("This patient is archived. Restore them before inviting them to the portal.")

    with transaction.atomic():
        user = patient.user
        created = False
        if user is not None:
            if user.email.lower() != email:
                raise ValueError(
                    f"This patient's portal login is {user.email}, not {email} as on their record. "
                    "Correct the record, or have the patient change their login email in their account settings."
                )
            if not user.is_active:
                raise ValueError("This patient's portal login is switched off. An administrator can switch it on.")
        else:
            existing = User.objects.filter(email__iexact=email).first()
            if existing is not None:
                _refuse_foreign_login(existing, patient)
            user = User.objects.create_user(email=email, password=None, full_name=patient.full_name)
            created = True
            patient.user = user
            patient._history_user = actor
            patient.save(update_fields=["user", "updated_at"])
        address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
        if address is None:
            EmailAddress.objects.filter(user=user, primary=True).update(primary=False)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        audit.record(action="write", request=request, actor=actor, resource="patients", patient=patient,
                     metadata={"portal_invite": {"email": email, "new_login": created}})

    _send(patient=patient, user=user, actor=actor, url=invite_url(request, user))
    return user


def _send(*, patient: Patient, user, actor, url: str) -> None:
    project = patient.project
    context = {
        "patient": patient,
        "user": user,
        "url": url,
        "brand": project.display_name,
        "program": patient.program.name,
        "inviter": actor.get_full_name() if actor is not None else "",
        "support_email": project.support_email,
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = " ".join(render_to_string(f"{INVITE_TEMPLATE}_subject.txt", context).split())
    body = render_to_string(f"{INVITE_TEMPLATE}_message.txt", context)
    html = render_to_string(f"{INVITE_TEMPLATE}_message.html", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()


@receiver(password_reset, dispatch_uid="patients_portal_invite_verify_email")
def mark_email_verified_on_reset(sender, request, user, **kwargs) -> None:
    """A portal patient who set their password from an emailed link owns the
    address it went to. Only when that is unambiguous: the login has exactly one
    address and it is the login's email (with several, the link may have gone to
    any of them)."""
    patient = Patient.objects.filter(user=user).select_related("project").first()
    if patient is None:
        return
    addresses = list(EmailAddress.objects.filter(user=user))
    if len(addresses) != 1 or addresses[0].email.lower() != (user.email or "").lower():
        return
    address = addresses[0]
    if not address.verified or not address.primary:
        address.verified = True
        address.primary = True
        address.save(update_fields=["verified", "primary"])
        audit.record(action="update", request=request, actor=user, resource="patients", patient=patient,
                     metadata={"email_verified": address.email, "via": "password_reset"})
