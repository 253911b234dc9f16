"""The patient chart and the patient portal are shells; apps plug pages into them.

The chart (`/patients/<uuid>/...`) and the portal (`/portal/...`) belong to this
app, but most of what they show belongs to the domain apps above it. Those apps
register here, in their `AppConfig.ready()`, the way timeline sources do
(`patients/timeline.py`), so this app never imports them (DESIGN "Layout":
dependencies point one way).

Chart:
    shell.register_tab(shell.Tab(key="vitals", label="Vitals", order=40,
                                 url_name="patient_vitals", template="patients/tab_vitals.html",
                                 resource="clinical"))
    shell.register_header(shell.Header(key="alerts", template="clinical/_chart_alerts.html",
                                       context=chart_alerts_context))
    shell.register_overview(shell.Header(key="next_visit", template="scheduling/_overview_visit.html",
                                         context=next_visit_context))

    # in the tab's view, after gating the patient:
    return shell.render_chart(request, patient, "vitals", context)

Portal (and a section of its Today page, /portal/today/):
    shell.register_portal_today(shell.Header(key="doses", template="care/_today_doses.html",
                                             context=today_doses_context, order=10))
    shell.register_portal_page(shell.PortalPage(key="vitals", label="My readings", order=40,
                                                url_name="portal_vitals"))

    @shell.portal_page                       # logged-in patient only; 404 for staff
    def portal_vitals(request, patient): ... render(..., {"portal_nav": "vitals", ...})

A tab or page is listed only to users whose role can read its `resource`, and
only while its feature flag (if any) is on for the patient's tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from mahalo import access, config


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    order: int
    url_name: str  # a route taking `patient_id`
    template: str  # the panel, included inside the chart's tab list
    resource: str = "patients"  # the role needs `<resource>:read` to see the tab
    feature: str = ""  # a FeatureFlag name that switches the tab on, if any


@dataclass(frozen=True)
class Header:
    """A block every chart tab shows above the panel (open alerts), or a card on the overview."""

    key: str
    template: str
    context: Callable[[HttpRequest, object], dict]  # (request, gated patient) -> template context
    order: int = 50


@dataclass(frozen=True)
class PortalPage:
    key: str  # the value views put in `portal_nav` to mark the current page
    label: str
    order: int
    url_name: str
    feature: str = ""
    also_current: tuple[str, ...] = ()  # other `portal_nav` values that mark this entry (e.g. calendar -> visits)


TABS: dict[str, Tab] = {}
HEADERS: dict[str, Header] = {}
OVERVIEW: dict[str, Header] = {}
PORTAL_PAGES: dict[str, PortalPage] = {}
# Sections of the portal's Today page (/portal/today/, care owns the page): today's doses, and the
# sessions, meals and questionnaires other apps add. A section's context is (request, patient) -> dict.
PORTAL_TODAY: dict[str, Header] = {}


@dataclass(frozen=True)
class PortalSection:
    """A card on the portal's home page ("what matters today"): the next visit, the latest
    readings, unread messages, recommendations; later today's doses, exercise, meals and
    questionnaires. `context(request, patient)` answers the card's context, or None when the
    card has nothing to say today (it is then left out). The card's template gets it as `section`."""

    key: str
    order: int
    template: str
    context: Callable
    feature: str = ""


PORTAL_HOME: dict[str, PortalSection] = {}


def _put(registry: dict, item) -> None:
    # Keyed, so registering again (a module imported twice) replaces rather than duplicates.
    registry[item.key] = item


def register_tab(tab: Tab) -> Tab:
    _put(TABS, tab)
    return tab


def register_header(header: Header) -> Header:
    _put(HEADERS, header)
    return header


def register_overview(card: Header) -> Header:
    _put(OVERVIEW, card)
    return card


def register_portal_today(section: Header) -> Header:
    _put(PORTAL_TODAY, section)
    return section


def register_portal_page(page: PortalPage) -> PortalPage:
    _put(PORTAL_PAGES, page)
    return page


def _switched_on(pages, project, cache=None) -> set[str]:
    """Keys of the pages whose feature flag (if any) is on: one query for all, none without flags."""
    flagged = [p for p in pages if p.feature]
    enabled = config.features_on(project, cache=cache) if flagged else frozenset()
    return {p.key for p in pages if not p.feature or p.feature in enabled}


def register_portal_section(section: PortalSection) -> PortalSection:
    _put(PORTAL_HOME, section)
    return section


def portal_sections(request, patient) -> list[dict]:
    """The portal home's cards for this patient, in order, each {key, template, section}."""
    out = []
    sections = sorted(PORTAL_HOME.values(), key=lambda s: (s.order, s.key))
    on = _switched_on(sections, patient.project, request.user)
    for item in sections:
        if item.key not in on:
            continue
        context = item.context(request, patient)
        if context is not None:
            out.append({"key": item.key, "template": item.template, "section": context})
    return out


def tabs_for(user, patient) -> list[dict]:
    """The tabs this user sees on this patient's chart, in order, with their URLs."""
    out = []
    tabs = sorted(TABS.values(), key=lambda t: (t.order, t.key))
    on = _switched_on(tabs, patient.project, user)
    for tab in tabs:
        if access.can(user, tab.resource, "read") and tab.key in on:
            out.append({"key": tab.key, "label": tab.label, "url": reverse(tab.url_name, args=[patient.pk]),
                        "template": tab.template})
    return out


def blocks(registry: dict, request, patient, context: dict) -> list[str]:
    """Templates of the registered blocks, in order; each block's context is merged into
    `context` (blocks use distinct names, e.g. `chart_alerts`, `next_visit`)."""
    templates = []
    for item in sorted(registry.values(), key=lambda h: (h.order, h.key)):
        context.update(item.context(request, patient))
        templates.append(item.template)
    return templates


def render_chart(request, patient, tab: str, context: dict) -> HttpResponse:
    """Render a chart tab for a patient the caller has already gated: the whole page,
    or only `#chart-main` (tabs + panel) when HTMX targets it."""
    from patients import care_team  # same app; care_team imports models that import this module's app

    tabs = tabs_for(request.user, patient)
    current = next((t for t in tabs if t["key"] == tab), None)
    if current is None:
        raise Http404("No such chart section.")  # the role can't read it, or its feature is off
    context.update({
        "patient": patient,
        "tab": tab,
        "tabs": tabs,
        "tab_template": current["template"],
        "chart_headers": blocks(HEADERS, request, patient, context),
        "flags": list(patient.flags.all()),
        "can_update": access.can(request.user, "patients", "update"),
        "can_message": access.can(request.user, "messaging", "read"),
        **care_team.care_team_context(request, patient),
    })
    if request.htmx and request.headers.get("HX-Target") == "chart-main":
        return render(request, "patients/_chart_main.html", context)
    return render(request, "patients/detail.html", context)


def portal_page(view):
    """Logged-in patients only; the view receives their own Patient. Staff and logins
    without a patient record get 404: another patient's data can't be named by a URL."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        patient = access.patient_of(request.user)
        if patient is None or access.is_staff_user(request.user):
            raise Http404
        return view(request, patient, *args, **kwargs)

    return wrapped


def portal_nav(patient, current: str) -> list[dict]:
    """The portal's navigation for this patient, every registered page in order."""
    project = patient.project if patient is not None else None
    out = []
    pages = sorted(PORTAL_PAGES.values(), key=lambda p: (p.order, p.key))
    on = _switched_on(pages, project)
    for page in pages:
        if page.key in on:
            out.append({"key": page.key, "label": page.label, "url": reverse(page.url_name),
                        "current": current == page.key or current in page.also_current})
    return out
