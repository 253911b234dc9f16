"""Role fixtures shared by every app's tests (DESIGN.md: project lead, program
clinician, clinician of another program, patient, other tenant's admin)."""

from types import SimpleNamespace

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from mahalo.tests.factories import PASSWORD, ProjectFactory, UserFactory, make_staff
from patients.tests.factories import PatientFactory, ProgramFactory


def enrol_totp(user) -> str:
    """Give a user a TOTP authenticator, as /accounts/2fa/ would; returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is right for production and far too slow for hundreds of test users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _idle_write_pinned(settings):
    # The staff idle clock is written to the session at most once a minute: on a slow run a test's second
    # request can fall past that minute and write once more, which a query-count comparison reads as
    # growth. Tests of the idle rule set the interval back themselves.
    settings.MAHALO_IDLE_WRITE_SECONDS = 24 * 3600


@pytest.fixture(autouse=True)
def _eager_celery():
    # Tasks run in-process in tests even when REDIS_URL (CI) configures a broker;
    # the tests that need a real worker or a stopped broker say so themselves.
    from mahalo.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _fresh_cache():
    # With REDIS_URL the cache outlives a test; allauth's rate limits and used
    # TOTP codes live there and must not leak from one test into the next.
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def world(db):
    """Two tenants. In `project`: programs cardiac and metabolic, a global lead, a
    cardiac clinician, a metabolic clinician, patients in each program, one with a
    portal login. In `other_project`: its admin and a patient."""
    project = ProjectFactory(name="Demo Tenant")
    other_project = ProjectFactory(name="Other Tenant")
    cardiac = ProgramFactory(project=project, name="Cardiac Rehab", timezone="Pacific/Honolulu")
    metabolic = ProgramFactory(project=project, name="Metabolic Health", timezone="America/Los_Angeles")
    other_program = ProgramFactory(project=other_project, name="General Practice")

    lead = make_staff(project, "Clinical Lead", email="lead@t.test")
    clinician = make_staff(project, "Clinician", [cardiac], email="cardio@t.test")
    other_clinician = make_staff(project, "Clinician", [metabolic], email="metabolic@t.test")
    dietitian = make_staff(project, "Dietitian", [metabolic], email="dietitian@t.test")
    outsider = make_staff(other_project, "Administrator", email="outsider@o.test")
    for user in (lead, clinician, other_clinician, dietitian, outsider):
        enrol_totp(user)

    patient_user = UserFactory(email="kai@p.test")
    me = PatientFactory(program=cardiac, user=patient_user, first_name="Kai", last_name="Portal")
    cardiac_patients = [me] + [PatientFactory(program=cardiac) for _ in range(3)]
    metabolic_patients = [PatientFactory(program=metabolic) for _ in range(3)]
    foreign_patients = [PatientFactory(program=other_program) for _ in range(2)]
    return SimpleNamespace(
        project=project, other_project=other_project,
        cardiac=cardiac, metabolic=metabolic, other_program=other_program,
        lead=lead, clinician=clinician, other_clinician=other_clinician, dietitian=dietitian,
        outsider=outsider, patient_user=patient_user, me=me,
        cardiac_patients=cardiac_patients, metabolic_patients=metabolic_patients,
        foreign_patients=foreign_patients, password=PASSWORD,
    )


@pytest.fixture
def login(client):
    """login(user) -> the test client, signed in as user (session, as a browser)."""

    def _login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


@pytest.fixture
def api_login():
    from rest_framework.test import APIClient

    def _login(user):
        api = APIClient()
        api.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return api

    return _login


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page(settings, monkeypatch):
    """A Playwright page in Debian's Chromium (never a downloaded browser)."""
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls
    # made by the test itself are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server answers each request in a new thread; persistent connections
    # would outlive those threads and block dropping the test database.
    from django.db import connections

    db_settings = connections["default"].settings_dict
    old_max_age = db_settings["CONN_MAX_AGE"]
    db_settings["CONN_MAX_AGE"] = 0
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        # Generous waits: CI shares two cores between the browser, the live server and PostgreSQL.
        page.set_default_timeout(20_000)
        from playwright.sync_api import expect

        expect.set_options(timeout=15_000)
        try:
            yield page
        finally:
            artifacts = os.environ.get("E2E_ARTIFACTS")
            if artifacts:
                os.makedirs(artifacts, exist_ok=True)
                page.screenshot(path=os.path.join(artifacts, f"last-{os.getpid()}.png"), full_page=True)
            browser.close()
            # Playwright's sync API runs the test in a greenlet with a database
            # connection of its own; close it, or the test database can't be dropped.
            connections.close_all()
            db_settings["CONN_MAX_AGE"] = old_max_age


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core findings on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
