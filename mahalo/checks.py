from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def encryption_keys_configured(app_configs, **kwargs):
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [Warning("FIELD_ENCRYPTION_KEYS is empty: secrets at rest use a key derived from SECRET_KEY.",
                    hint="Generate one with `manage.py rotate_encryption_keys --generate`.", id="mahalo.W001")]


@register(deploy=True)
def staff_mfa_required(app_configs, **kwargs):
    if settings.MAHALO_REQUIRE_STAFF_MFA:
        return []
    return [Warning("MAHALO_REQUIRE_STAFF_MFA is off: staff can reach PHI with a password alone.",
                    id="mahalo.W002")]
