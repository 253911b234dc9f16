"""What every page's frame needs: the nav for the user's role, the tenant's
branding, and the staff member's current program (the program switcher)."""

from __future__ import annotations

from django.urls import reverse

from mahalo import access

PROGRAM_SESSION_KEY = "mahalo_program"


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
    path = request.path
    items = []
    from messaging.threads import unread_count

    unread = unread_count(user)

    def add(label, url_name, prefix):
        url = reverse(url_name)
        items.append({"label": label, "url": url, "active": path == url if prefix == "/" else path.startswith(prefix)})

    if access.is_staff_user(user):
        add("Home", "home", "/")
        if access.can(user, "patients", "read"):
            add("Patients", "patient_list", "/patients/")
        if access.can(user, "clinical", "read"):
            from clinical.alerting import open_alert_count

            add("Alerts", "alert_queue", "/alerts/")
            # One cached COUNT (clinical.alerting); the badge polls /alerts/badge/ every minute.
            items[-1].update(badge=open_alert_count(user), badge_template="clinical/_alert_badge.html")
        if access.can(user, "scheduling", "read"):
            add("Schedule", "schedule", "/schedule/")
        if access.can(user, "messaging", "read"):
            add("Messages", "message_inbox", "/messages/")
            items[-1]["badge"] = unread
        if access.staff_of(user) is not None:
            add("Care team", "care_team_requests", "/care-team/")
        if access.can(user, "reports", "read"):
            add("Reports", "rpm_report", "/reports/")
        # Occasional destinations live in the user menu, so the bar fits a 1280 px screen.
        if access.can(user, "audit", "read"):
            add("Audit log", "audit_log", "/audit/")
            items[-1]["menu"] = True
        if user.is_staff:
            items.append({"label": "Admin", "url": reverse("admin:index"), "active": path.startswith("/admin/"),
                          "menu": True})
        add("API", "api_docs", "/api/docs/")
        items[-1]["menu"] = True
    elif access.patient_of(user):
        add("My health", "portal_home", "/portal/")
        add("Messages", "portal_messages", "/portal/messages/")
        items[-1]["badge"] = unread
    # One current item: the most specific match (/portal/messages/ is Messages, not My health).
    active = [item for item in items if item["active"]]
    if len(active) > 1:
        best = max(active, key=lambda item: len(item["url"]))
        for item in active:
            item["active"] = item is best
    return items
