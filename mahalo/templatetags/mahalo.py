from django import template
from django.conf import settings

register = template.Library()


@register.filter
def phone(value) -> str:
    """A stored E.164 number as people write it: national form at home, international otherwise."""
    if not value:
        return ""
    try:
        import phonenumbers

        region = phonenumbers.region_code_for_number(value)
        if region == settings.PHONENUMBER_DEFAULT_REGION:
            return value.as_national
        return value.as_international
    except (AttributeError, TypeError):
        return str(value)
