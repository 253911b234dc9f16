"""Template access to the chart and portal registries (patients/shell.py)."""

from django import template

from patients import shell

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_links(context) -> list[dict]:
    """`{% portal_links as links %}`: every registered portal page, the current one marked."""
    return shell.portal_nav(context.get("patient"), context.get("portal_nav", ""))
