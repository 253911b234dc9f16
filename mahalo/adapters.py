from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from mahalo import crypto


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Accounts are created by a program (staff, or patients they enrol);
        # nobody signs themselves up to a health record.
        return False


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored encrypted with FIELD_ENCRYPTION_KEYS (allauth stores them plain by default)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
