from functools import lru_cache

from django import template
from django.conf import settings

register = template.Library()


@lru_cache(maxsize=4)
def _home_country_code(region: str) -> int:
    import phonenumbers

    return phonenumbers.country_code_for_region(region)


@register.filter
def phone(value) -> str:
    """A stored E.164 number as people write it: national form at home, international otherwise.

    Compares country calling codes rather than asking phonenumbers for the region:
    for +1 that lookup tries every NANP country's patterns (a registry page is 50 rows)."""
    if not value:
        return ""
    try:
        if value.country_code == _home_country_code(settings.PHONENUMBER_DEFAULT_REGION):
            return value.as_national
        return value.as_international
    except AttributeError:
        return str(value)


def phone_from_e164(text: str) -> str:
    """The same display from a stored E.164 string, without parsing it where we can.

    Registry rows read the raw column: phonenumbers.parse costs ~0.1 ms a number."""
    if not text:
        return ""
    if _home_country_code(settings.PHONENUMBER_DEFAULT_REGION) == 1 and len(text) == 12 and text.startswith("+1"):
        return f"({text[2:5]}) {text[5:8]}-{text[8:]}"
    from phonenumber_field.phonenumber import PhoneNumber

    try:
        return phone(PhoneNumber.from_string(text))
    except Exception:  # noqa: BLE001 - a malformed legacy value is shown as stored
        return text
