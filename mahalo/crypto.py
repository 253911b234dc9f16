"""Secrets at rest (TOTP secrets now; OAuth tokens with the wearables module).

FIELD_ENCRYPTION_KEYS holds Fernet keys, newest first. Encryption always uses
the first; decryption tries each, so a new key can be put in front, then
`manage.py rotate_encryption_keys` re-encrypts every stored secret, then the old
key can be dropped. With no keys configured (a laptop), one is derived from
SECRET_KEY; `check --deploy` warns about that. The derived key stays last in the
decryption list so that secrets written before keys were configured can still be
read and rotated onto the real key.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "generate_key", "rotate"]


def _derived_key() -> bytes:
    digest = hashlib.sha256(f"mahalo-field-encryption:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys] + [Fernet(_derived_key())])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _current().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate)."""
    return _current().rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


# Apps that store encrypted columns register how to re-encrypt them, so `rotate_encryption_keys`
# (in the core) covers every secret without importing the apps above it.
# A rotator re-encrypts its rows inside the caller's transaction and returns how many values it rotated.
ROTATORS: dict[str, object] = {}


def register_rotator(label: str, rotator) -> None:
    """`label` names the secrets in the command's summary (e.g. "wearable OAuth token(s)")."""
    ROTATORS[label] = rotator
