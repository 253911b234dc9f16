"""The one PDF path: renders, uses our static files, never fetches anything else."""

import socket
import threading

import pytest

from mahalo import pdf


def test_renders_pdf_with_static_stylesheet():
    html = '<html><head><link rel="stylesheet" href="/static/css/shell.css"></head><body><h1>Hi</h1></body></html>'
    out = pdf.html_to_pdf(html)
    assert out.startswith(b"%PDF-")


def test_static_lookup_refuses_other_urls():
    body, mime = pdf._static_response(pdf.BASE_URL.rstrip("/") + "/static/css/shell.css")
    assert body and mime == "text/css"
    for url in ("http://127.0.0.1:1/x.png", "file:///etc/passwd", pdf.BASE_URL + "media/x.png"):
        with pytest.raises(pdf.FetchRefused):
            pdf._static_response(url)


def test_outside_url_is_never_contacted():
    # A listening socket on loopback: if rendering called out, the accept below would see it.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    seen = []

    def watch():
        try:
            conn, _ = server.accept()
            seen.append(conn)
        except OSError:
            pass

    t = threading.Thread(target=watch)
    t.start()
    html = f'<html><body><img src="http://127.0.0.1:{port}/x.png"><p>x</p></body></html>'
    assert pdf.html_to_pdf(html).startswith(b"%PDF-")
    t.join()
    server.close()
    assert seen == []
