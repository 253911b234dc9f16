import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from conftest import enrol_totp
from mahalo import crypto

pytestmark = pytest.mark.django_db


def test_totp_secrets_are_encrypted_at_rest(world):
    secret = enrol_totp(world.patient_user)
    stored = Authenticator.objects.get(user=world.patient_user, type="totp").data["secret"]
    assert secret not in stored
    assert crypto.decrypt(stored) == secret


def test_key_rotation_re_encrypts_with_the_new_key(world, settings):
    old = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    secret = enrol_totp(world.patient_user)
    new = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: everything must still decrypt
    stored = Authenticator.objects.get(user=world.patient_user, type="totp").data["secret"]
    assert crypto.decrypt(stored) == secret
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(stored)
