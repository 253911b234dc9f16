"""What the per-app security reviews share (`<app>/tests/test_security_review.py`).

Each review is a list of concrete attacks through HTTP by a clinician of another
program, another tenant's admin, a role without the permission, or another
patient. A case lives with the app whose routes it attacks; a case that needs
another app's test data (a thread, say) lives with the higher of the two apps,
so test imports point the way the layers do (DESIGN "Layout").
"""

import pytest

# Malformed object ids: each must answer 404 like any unknown id, never 500.
BAD_IDS = ["not-a-uuid", "1", "%00", "' OR 1=1 --", "0" * 200]

# Findings of the security review that the app now fixes (kept as regression tests).
NUL_500 = pytest.mark.security_fixed  # was a 500 on PostgreSQL: NUL bytes now answer 400
TYPE_500 = pytest.mark.security_fixed  # was a 500: a list or object where JSON wants a string now answers 400


@pytest.fixture
def tmp_media(settings, tmp_path):
    """Uploads (attachments, import files) go to a per-test folder on local disk."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
