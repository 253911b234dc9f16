"""Charts in reports: a stored chart spec drawn as inline SVG by `mahalo.charts.to_svg`, the one
server-side renderer of the specs the browser draws with Chart.js (no second charting path)."""

from django import template
from django.utils.safestring import mark_safe

from mahalo.charts import to_svg

register = template.Library()


@register.simple_tag
def report_svg(spec: dict, width: int = 680, height: int = 210):
    # to_svg escapes every label and title; the spec is our own stored JSON.
    return mark_safe(to_svg(spec, width=width, height=height))  # noqa: S308
