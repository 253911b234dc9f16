"""Charts in reports: a stored chart spec drawn by `mahalo.charts.to_svg`, the one server-side
renderer of the specs the browser draws with Chart.js (no second charting path).

The SVG goes in as an image (a data: URL), not inline: WeasyPrint then draws it as one picture instead
of parsing and cascading the page's CSS over thousands of SVG nodes (a year of vitals made the inline
form several times slower; bench/report.py). Browsers show it the same (the CSP allows data: images)."""

import base64

from django import template
from django.utils.html import format_html

from mahalo.charts import to_svg

register = template.Library()


@register.simple_tag
def report_svg(spec: dict, width: int = 680, height: int = 210):
    svg = to_svg(spec, width=width, height=height)
    data = base64.b64encode(svg.encode()).decode("ascii")
    return format_html(
        '<img class="rp-svg-img" src="data:image/svg+xml;base64,{}" width="{}" height="{}" alt="{}">',
        data,
        width,
        height,
        spec.get("summary") or spec.get("title", ""),
    )
