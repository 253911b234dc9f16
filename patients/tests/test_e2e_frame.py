"""In a real browser (issue 21 items 5, 6, 10, 13): every staff and portal page without sideways
scrolling at 1440, 1024, 640 (200% zoom of 1280) and 375 px, axe-core clean at 1440 and 375 px;
the navigation in a menu on a phone; the top bar's patient search; keyboard and focus on the
alert queue. Screenshots go to $E2E_ARTIFACTS (look at them)."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinical.models import Alert, Source
from clinical.tests.factories import AlertFactory, ClinicalRuleFactory, ObservationFactory, RecommendationFactory
from conftest import axe_violations, enrol_totp
from mahalo.models import FeatureFlag, StaffMember
from messaging.tests.factories import default_thread
from patients import shell
from patients.care_team import care_team_add
from patients.tests.test_e2e_chart import sign_in
from scheduling.tests.factories import book, future

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1440, 1024, 640, 375)  # 640 px is a 1280 px window at 200% zoom
AXE_WIDTHS = (1440, 375)


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def overflow(page) -> int:
    """How far the page scrolls sideways (0 when it doesn't)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def sweep(page, base, paths, prefix) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 640 else 720})
        for path in paths:
            response = page.goto(base + path)
            if response.status >= 400:
                problems.append(f"{path}: HTTP {response.status}")
                continue
            page.wait_for_load_state("networkidle")
            extra = overflow(page)
            if extra > 0:
                wide = page.evaluate("""(w) => Array.from(document.querySelectorAll('main *, header *'))
                    .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap, .visually-hidden'))
                    .slice(0, 3).map(e => e.tagName + '.' + e.className)""", width)
                problems.append(f"{path} @ {width}px: scrolls sideways by {extra}px ({wide})")
            if width in AXE_WIDTHS:
                for v in axe_violations(page):
                    problems.append(f"{path} @ {width}px: axe {v['id']} ({v['impact']}): "
                                    f"{[n['target'] for n in v['nodes'][:3]]}")
                slug = path.strip("/").replace("/", "-").replace("?", "-")[:60] or "home"
                shot(page, f"{prefix}-{width}-{slug}.png")
    return problems


@pytest.fixture
def day(world):
    """A clinician's ordinary day: alerts, readings, a visit, a conversation, a recommendation."""
    me = world.me
    FeatureFlag.objects.update_or_create(project=world.project, name="food_tracking", defaults={"enabled": True})
    lead_staff = StaffMember.objects.get(user=world.lead)
    care_team_add(patient=me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    care_team_add(patient=me, staff=lead_staff, actor=world.lead)
    critical = ClinicalRuleFactory(project=world.project, name="Hypertensive crisis", metric="blood_pressure",
                                   severity="critical", threshold=180)
    warning = ClinicalRuleFactory(project=world.project, name="SpO2 below 92%")
    alerts = [
        AlertFactory(patient=me, rule=critical, body="2 readings above 180/120 in the last 24 hours"),
        AlertFactory(patient=world.cardiac_patients[1], rule=warning, body="SpO2 89% at rest"),
        AlertFactory(patient=world.cardiac_patients[2], rule=warning, body="SpO2 90% after a walk"),
        AlertFactory(patient=world.metabolic_patients[0], rule=warning,
                     body="A very long explanation of why this alert fired, " * 4),
    ]
    for i in range(5):
        ObservationFactory(patient=me, metric="heart_rate", value=70 + i, source=Source.WITHINGS,
                           effective_at=timezone.now() - timedelta(hours=i * 6 + 1))
    ObservationFactory(patient=me, metric="blood_pressure", value=142, value2=91, unit="mmHg",
                       source=Source.PATIENT, effective_at=timezone.now() - timedelta(hours=3))
    book(me, world.clinician, future(days=2, hour=10, tz=me.program.tz))
    book(world.cardiac_patients[1], world.lead, future(days=1, hour=9, tz=me.program.tz))
    thread = default_thread(me, world.lead, body="How are the new tablets? Any dizziness when you stand up?")
    RecommendationFactory(patient=me, content="Take your blood pressure every morning before breakfast.",
                          created_by=world.clinician)
    return {"alerts": alerts, "thread": thread}


def staff_paths(world, day):
    me = world.me
    chart = [tab["url"] for tab in shell.tabs_for(world.lead, me)]
    return ["/", "/patients/", "/patients/new/", "/patients/import/", *chart, "/alerts/",
            f"/alerts/{day['alerts'][0].pk}/", "/schedule/", "/schedule/requests/", "/schedule/availability/",
            "/schedule/book/", "/messages/", f"/messages/{day['thread'].pk}/", f"/messages/new/?patient={me.pk}",
            "/care-team/requests/", "/nutrition/foods/", "/questionnaires/", "/reports/rpm/", "/audit/",
            "/notifications/", "/settings/notifications/"]


def test_every_staff_page_fits_every_screen_and_passes_axe(live_server, browser_page, world, day):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.lead).delete()
    page = browser_page
    sign_in(page, live_server, world.lead, world.password, enrol_totp(world.lead))
    problems = sweep(page, live_server.url, staff_paths(world, day), "staff")
    assert problems == [], "\n".join(problems)


def test_every_portal_page_fits_a_phone_and_a_desktop(live_server, browser_page, world, day):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    paths = [link["url"] for link in shell.portal_nav(world.me, "")]
    problems = sweep(page, live_server.url, paths, "portal")
    # Every page of the portal's navigation is visible (not clipped) on a phone and a desktop.
    for width, links in ((375, ".portal-menu a"), (1440, ".portal-nav a")):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{live_server.url}/portal/")
        if width == 375:  # phones: one row (the current page) that opens onto every page
            expect(page.locator(".portal-nav")).to_be_hidden()
            summary = page.locator(".portal-menu summary")
            expect(summary).to_contain_text("Home")
            summary.click()
        found = page.locator(f"nav[aria-label=Portal] {links}").all()
        assert len(found) == len(paths)
        for link in found:
            box = link.bounding_box()
            if not (link.is_visible() and box and box["x"] >= 0 and box["x"] + box["width"] <= width):
                problems.append(f"portal nav '{link.inner_text()}' not fully visible at {width}px")
    assert problems == [], "\n".join(problems)
    # The home says what matters today.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/")
    for heading in ("Your next visit", "Your latest readings", "Messages", "From your care team"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("142/91")).to_be_visible()
    shot(page, "portal-home-375.png")


def test_phone_navigation_is_a_menu_and_escape_closes_it(live_server, browser_page, world, day):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    page = browser_page
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/alerts/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Schedule")).to_be_visible()
    expect(nav.get_by_role("link", name="Alerts")).to_have_attribute("aria-current", "page")
    shot(page, "staff-375-menu-open.png")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    # The user menu closes with Escape too, and focus returns to its button.
    page.locator("details.usermenu summary").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    # On a desktop the bar shows the whole navigation and no Menu button.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Schedule")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") in ("solid", "auto", "none")


def test_slash_finds_a_patient_and_enter_opens_the_chart(live_server, browser_page, world, day):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    target = world.cardiac_patients[2]
    outsider = world.metabolic_patients[0]
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.goto(f"{live_server.url}/alerts/")
    page.keyboard.press("/")
    search = page.get_by_role("combobox", name="Find a patient")
    expect(search).to_be_focused()
    search.press_sequentially(target.last_name[:5].lower(), delay=40)
    options = page.locator("#global-search-results [role=option]")
    expect(options.first).to_be_visible()
    expect(page.locator("#global-search-results")).to_contain_text(target.last_name)
    assert outsider.last_name not in page.locator("#global-search-results").inner_text() or \
        outsider.last_name[:5].lower() == target.last_name[:5].lower()
    expect(search).to_have_attribute("aria-expanded", "true")
    shot(page, "staff-1440-search.png")
    assert axe_violations(page) == []
    # Arrow keys move the choice; Escape closes the list; Enter opens the chosen chart.
    count = options.count()
    page.keyboard.press("ArrowDown")
    expected = 1 if count > 1 else 0
    assert options.nth(expected).get_attribute("aria-selected") == "true"
    page.keyboard.press("Escape")
    expect(page.locator("#global-search-results")).to_be_hidden()
    search.fill("")
    search.press_sequentially(target.mrn, delay=20)
    expect(options).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/patients/{target.pk}/")
    # At 375 px the search has its own row and still fits.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/patients/")
    page.keyboard.press("/")
    page.keyboard.type(target.last_name[:4])
    expect(page.locator("#global-search-results [role=option]").first).to_be_visible()
    assert overflow(page) == 0
    shot(page, "staff-375-search.png")


def test_queue_shortcuts_and_focus_after_acknowledge(live_server, browser_page, world, day):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.goto(f"{live_server.url}/alerts/")
    rows = page.locator("table.al-table tbody tr.al-row")
    expect(rows).to_have_count(3)  # the cardiac clinician's scope
    first_id = rows.nth(0).get_attribute("id")
    second_id = rows.nth(1).get_attribute("id")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == first_id
    # The focus ring reaches 3:1: a solid 3px dark ring on the focused row.
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert ring == "rgb(30, 64, 175)", ring
    page.keyboard.press("a")
    expect(page.locator(f"#{first_id} .badge.al-st-acknowledged")).to_be_visible()
    # Focus moves to the next alert that still waits, and the result is announced.
    expect(page.locator(f"#{second_id}")).to_be_focused()
    expect(page.locator("#live-polite")).to_contain_text("cknowledged")
    assert Alert.objects.get(pk=first_id.removeprefix("alert-")).status == "acknowledged"
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.id") == first_id
    shot(page, "staff-1440-queue-keyboard.png")
    # ? opens the help; Escape closes it.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "staff-1440-shortcuts.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Shortcuts stay out of the way while typing.
    page.locator("#id_q").focus()
    page.keyboard.type("ja")
    expect(page.locator("#id_q")).to_have_value("ja")
    # On a phone the rows stack, each cell labelled.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/alerts/")
    assert overflow(page) == 0
    assert rows.nth(0).locator("td[data-label=Severity]").count() == 1
    shot(page, "staff-375-queue.png")


def test_a_form_error_takes_focus_and_is_announced(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.lead).delete()
    page = browser_page
    sign_in(page, live_server, world.lead, world.password, enrol_totp(world.lead))
    page.goto(f"{live_server.url}/patients/new/")
    page.get_by_role("button", name="Add patient").click()
    page.wait_for_load_state("networkidle")
    focused = page.evaluate("document.activeElement.getAttribute('aria-invalid')")
    assert focused == "true"
    expect(page.locator("#live-assertive")).not_to_be_empty()
