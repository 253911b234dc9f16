"""The one PDF rendering path (DESIGN "Stack": WeasyPrint): a Django template rendered to HTML, then to
PDF bytes. Reports, referral letters and excuse notes all come through here, so every PDF shares one
stylesheet loader and one rule about what the renderer may fetch.

What it may fetch: only our own static files (found through the staticfiles finders, so it works
before and after `collectstatic`) and `data:` URLs. Anything else (http, file paths, media) is refused:
a PDF is rendered on the server from data we hold, and a template that names an outside URL must not
make the server call out (SSRF) or embed a file it should not.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

# Our own base address: relative links in the HTML resolve against it, and the fetcher maps it back
# to static files. It never leaves this process.
BASE_URL = "https://pdf.mahalo.invalid/"


class FetchRefused(ValueError):
    """The HTML named a resource that is not one of our static files."""


def _static_response(url: str):
    """(body, mime type) of one of our static files named by `url`; FetchRefused otherwise."""
    prefix = BASE_URL.rstrip("/") + settings.STATIC_URL
    if not url.startswith(prefix):
        raise FetchRefused(f"PDF rendering may not fetch {url!r}")
    relative = url[len(prefix) :].split("?", 1)[0]
    found = finders.find(relative)
    if not found:
        raise FetchRefused(f"no static file {relative!r}")
    path = Path(found)
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _fetcher():
    # weasyprint is imported lazily (see html_to_pdf): its import loads pango and fonts.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)  # allowed_protocols keeps it to data:
            body, mime = _static_response(url)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    return StaticOnlyFetcher(allowed_protocols=("data",))


def html_to_pdf(html: str) -> bytes:
    """PDF bytes for an HTML document. Static references like `{% static 'css/print.css' %}` work."""
    import weasyprint  # heavy (fonts, pango): loaded when a PDF is made, not at every process start

    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).write_pdf()


def render_pdf(template_name: str, context: dict, request=None) -> tuple[str, bytes]:
    """Render a template to (html, pdf). The HTML is returned too: callers that snapshot a document
    (reports) store both, so what it said is what it says forever."""
    html = render_to_string(template_name, context, request=request)
    return html, html_to_pdf(html)
