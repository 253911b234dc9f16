"""Confirm before destroying (issue 21 item 11): one rule for every destructive POST.

A destructive action runs only when its POST carries `confirm=yes`. The page offers it in
place: the button opens a disclosure ("Remove" → "Yes, remove Mon–Fri 09:00–12:00"), a
plain form with the hidden field, so it works without JavaScript and names the thing. A POST
without it (an old page, a script, a double submit of a bare form) is answered with a
confirmation page naming the thing and what happens, carrying the same fields - nothing
is changed until the person says yes.

    if not confirm.confirmed(request):
        return confirm.ask(request, title="Retire this recommendation?", thing=rec.content[:120],
                           consequence="The patient no longer sees it in their portal.",
                           button="Yes, retire it", cancel_url=back)

Undo, where it is cheap, is the view's: after the action, a flash message with an "Undo"
form (`templates/_undo.html`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRM_FIELD) == "yes"


def ask(request: HttpRequest, *, title: str, thing: str, consequence: str, button: str, cancel_url: str,
        undo: str = "") -> HttpResponse:
    fields = [(k, v) for k, values in request.POST.lists() if k not in ("csrfmiddlewaretoken", CONFIRM_FIELD)
              for v in values]
    return render(request, "_confirm.html", {
        "title": title, "thing": thing, "consequence": consequence, "button": button,
        "cancel_url": cancel_url, "action": request.get_full_path(), "fields": fields, "undo": undo,
    })
