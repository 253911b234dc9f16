"""Message text is plain text: escaped, http(s) links made clickable, line breaks kept. Nothing else."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

# Matched on the *escaped* text, so a URL can't contain < > or a raw quote; only
# http and https are ever linked (never javascript:, data: or anything else).
URL = re.compile(r"\bhttps?://(?:(?!&(?:quot|#x27|lt|gt);)[^\s<>\"'])+", re.I)
TRAILING = ".,;:!?)]}'"


def _link(match: re.Match) -> str:
    url = match.group(0)
    tail = ""
    while url and url[-1] in TRAILING:
        url, tail = url[:-1], url[-1] + tail
    if "://" not in url or url.lower().split("://", 1)[1] == "":
        return match.group(0)
    return f'<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>{tail}'


@register.filter(is_safe=True)
def plaintext_links(value) -> str:
    text = escape(str(value or ""))
    text = URL.sub(_link, text)
    # Safe: every character of the input was escaped above; we only add <a> for http(s) and <br>.
    return mark_safe(text.replace("\r\n", "\n").replace("\n", "<br>"))  # noqa: S308
