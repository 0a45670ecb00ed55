"""End-to-end fixtures: a live server on a scratch database, and headless Chromium.

The live app is its own instance (not the session `app` of tests/conftest.py) on its own scratch
database that really commits, so it never touches the rolled-back transactional tests. It keeps
TESTING=True so mail lands in `app.extensions["mail_outbox"]`, and turns CSRF on so the browser
exercises the real forms with their tokens.

Chromium is the Debian build at /usr/bin/chromium (override with E2E_CHROMIUM). Without it the
browser tests are skipped locally and fail under CI (when the CI variable is set).
"""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000


class LiveServer:
    def __init__(self, app, url: str):
        self.app = app
        self.url = url

    @property
    def outbox(self) -> list:
        return self.app.extensions.setdefault("mail_outbox", [])

    def wait_for_mail(self, to: str, count: int = 1, timeout: float = 5.0) -> list:
        """The mails sent to `to`, once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in list(self.outbox) if m["To"] == to]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@contextmanager
def serve(app, name: str):
    """`app` on a free local port in a thread, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    database_url = scratch_database_url("e2e", tmp_path_factory.mktemp("e2e"))
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    try:
        with serve(app, "e2e-live-server") as url:
            yield LiveServer(app, url)
    finally:
        drop_scratch_database(database_url)


class DemoServer(LiveServer):
    """A live portal filled by the demo seeder; `ids` names a few demo objects (campaign, resource, mentor)."""

    def __init__(self, app, url: str, ids: dict[str, int]):
        super().__init__(app, url)
        self.ids = ids


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """A live portal on its own scratch database, filled by the demo seeder (as the quickstart does), shared
    by the accessibility, layout and crawl tests (they read it; choosing a language is all they change)."""
    database_url = scratch_database_url("demo", tmp_path_factory.mktemp("demo"))
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
        from sqlalchemy import select

        from funding.models import Campaign
        from incubation.models import MentorProfile
        from portal.db import commit
        from portal.demo import seed_demo
        from resources.models import Resource

        app.config["MAIL_SUPPRESS"] = True
        seed_demo()
        commit()  # as `flask seed-demo` does: the jobs after commit fill the search index
        app.config["MAIL_SUPPRESS"] = False
        ids = {
            "campaign": db.session.scalar(select(Campaign.id).order_by(Campaign.id)),
            "resource": db.session.scalar(select(Resource.id).order_by(Resource.id)),
            "mentor": db.session.scalar(select(MentorProfile.id).order_by(MentorProfile.id)),
        }
        db.session.remove()
    try:
        with serve(app, "demo-live-server") as url:
            yield DemoServer(app, url, ids)
    finally:
        drop_scratch_database(database_url)


# Pages of the demo server in a language and at a width (tests/e2e/test_accessibility.py, test_layout.py,
# test_crawl.py).
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"en": ("en-GB", "English"), "zh_CN": ("zh-CN", "简体中文")}


def new_page(browser, server, language: str = "en", viewport: str = "desktop"):
    """A fresh context (no cookies) and its page, in `language`'s browser locale at `viewport`'s size."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=server.url, locale=LANGUAGES[language][0], viewport=VIEWPORTS[viewport])
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def choose_language(page, language: str) -> None:
    """Pick `language` in the navbar's switcher (kept on the account when logged in)."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # a phone: the switcher is in the collapsed menu
        toggler.click()
    page.locator("#language-select").select_option(label=LANGUAGES[language][1])
    page.wait_for_function("lang => document.documentElement.lang === lang",
                           arg="zh-CN" if language == "zh_CN" else "en")


def log_in(page, email: str) -> None:
    """Log in as a demo account (they share one password) and land on the dashboard."""
    from portal.demo import DEMO_PASSWORD

    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def _missing_browser(message: str):
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        _missing_browser(f"Chromium not found at {CHROMIUM}; install the Debian 'chromium' package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) per test; a screenshot lands in test-artifacts/ on failure."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            target = ARTIFACTS / f"{request.node.name}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
                print(f"screenshot of the failure: {target}")
            except Exception as error:  # the page may already be gone
                print(f"could not take a screenshot: {error}")
        context.close()
