"""What every page's frame needs: the nav for the user's role, the tenant's
branding, and the staff member's current program (the program switcher).

The domain apps sit above this one (DESIGN "Layout"), so they register what the
frame shows of them from their `AppConfig.ready()` instead of being imported:

    shell.register_nav(shell.NavItem("Alerts", "alert_queue", "/alerts/", order=20,
                                     permission=("clinical", "read"), badge=open_alert_count,
                                     badge_template="clinical/_alert_badge.html"))
    shell.register_today(shell.TodayItem("open_alerts", "Open alerts", "alert_queue", order=10,
                                         permission=("clinical", "read"), count=open_alert_count))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from mahalo import access, features

PROGRAM_SESSION_KEY = "mahalo_program"


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    prefix: str  # paths under it mark the item current ("/" marks only the home page)
    order: int
    audience: str = "staff"  # staff | patient
    permission: tuple[str, str] | None = None  # (resource, action) the role needs
    badge: Callable | None = None  # user -> int (cached counts only: every page pays it)
    badge_template: str = ""
    menu: bool = False  # in the user menu rather than the bar
    visible: Callable | None = None  # user -> bool, for rules a permission can't say
    feature: str = ""  # a module key (mahalo.config): shown only while it is on for the user's tenant


@dataclass(frozen=True)
class TodayItem:
    """A count on the staff home page's "Today" card."""

    key: str
    label: str
    url_name: str
    order: int
    count: Callable  # (user) -> int
    permission: tuple[str, str] | None = None
    query: str = ""  # appended to the link, e.g. "?unread=1"


@dataclass(frozen=True)
class SearchBox:
    """The top bar's search (one per site: the patients app registers the patient search).

    `url_name` answers an HTMX GET `?q=` with a listbox of results; `fallback_url_name` is
    where the form goes without JavaScript (the same `q`)."""

    url_name: str
    fallback_url_name: str
    label: str
    placeholder: str
    permission: tuple[str, str] | None = None


NAV: dict[str, NavItem] = {}
TODAY: dict[str, TodayItem] = {}
SEARCH: dict[str, SearchBox] = {}


def register_nav(item: NavItem) -> NavItem:
    NAV[f"{item.audience}:{item.url_name}"] = item
    return item


def register_today(item: TodayItem) -> TodayItem:
    TODAY[item.key] = item
    return item


def register_search(box: SearchBox) -> SearchBox:
    SEARCH["top"] = box
    return box


def search_box(user) -> dict | None:
    """The top bar's search for this user, or None (patients, roles without the permission)."""
    box = SEARCH.get("top")
    if box is None or not access.is_staff_user(user) or not _allowed(user, box.permission):
        return None
    return {"url": reverse(box.url_name), "fallback_url": reverse(box.fallback_url_name),
            "label": box.label, "placeholder": box.placeholder}


def _allowed(user, permission) -> bool:
    return permission is None or access.can(user, *permission)


def today_items(user) -> list[dict]:
    """The staff home's "Today" facts this user may see, in order."""
    out = []
    for item in sorted(TODAY.values(), key=lambda i: (i.order, i.key)):
        if _allowed(user, item.permission):
            out.append({"key": item.key, "label": item.label, "url": reverse(item.url_name) + item.query,
                        "count": item.count(user)})
    return out


def current_program(request):
    """The program the staff member has focused on, or None for "all my programs".

    Only narrows lists; the gate still decides what may be seen, so a stale or
    forged session value can't widen anything."""
    wanted = request.session.get(PROGRAM_SESSION_KEY)
    if not wanted:
        return None
    return next((p for p in access.program_list(request.user) if str(p.pk) == wanted), None)


def nav_items(request) -> list[dict]:
    user = request.user
    if not user.is_authenticated:
        return []
    if access.is_staff_user(user):
        audience = "staff"
    elif access.patient_of(user):
        audience = "patient"
    else:
        return []
    path = request.path
    items = []
    for item in sorted(NAV.values(), key=lambda i: (i.order, i.label)):
        if item.audience != audience or not _allowed(user, item.permission):
            continue
        if item.visible is not None and not item.visible(user):
            continue
        if item.feature and not features.on_for(user, item.feature):
            continue
        url = reverse(item.url_name)
        entry = {"label": item.label, "url": url, "menu": item.menu,
                 "active": path == url if item.prefix == "/" else path.startswith(item.prefix)}
        if item.badge is not None:
            entry["badge"] = item.badge(user)
            entry["badge_template"] = item.badge_template
        items.append(entry)
    # One current item: the most specific match (/portal/messages/ is Messages, not My health).
    active = [item for item in items if item["active"]]
    if len(active) > 1:
        best = max(active, key=lambda item: len(item["url"]))
        for item in active:
            item["active"] = item is best
    return items


# The frame's own destinations (this app's pages and Django's).
register_nav(NavItem("Home", "home", "/", order=0))
register_nav(NavItem("Audit log", "audit_log", "/audit/", order=900, permission=("audit", "read"), menu=True))
register_nav(NavItem("Admin", "admin:index", "/admin/", order=910, menu=True, visible=lambda user: user.is_staff))
register_nav(NavItem("API", "api_docs", "/api/docs/", order=920, menu=True))
