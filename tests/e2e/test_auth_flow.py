"""The account life cycle in a real browser: register, confirm by mail, log out and in, switch language."""

from __future__ import annotations

import gettext
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-e2e"
FOUNDER = "Founder: I pitch projects and apply to programs"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "translations"
# Babel parses "zh_CN" as zh_Hans_CN and gettext then looks in zh_Hans_CN/ and zh/, so accept any of them.
ZH_CATALOGUES = [
    TRANSLATIONS / name / "LC_MESSAGES" / "messages.mo" for name in ("zh_CN", "zh_Hans_CN", "zh")
]


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def zh(msgid: str) -> str | None:
    """The compiled zh_CN translation of `msgid`, or None when there is no catalogue or no translation."""
    catalogue = next((path for path in ZH_CATALOGUES if path.exists()), None)
    if catalogue is None:
        return None
    with catalogue.open("rb") as handle:
        translated = gettext.GNUTranslations(handle).gettext(msgid)
    return translated if translated != msgid else None


def flash(page: Page):
    return page.get_by_role("main").get_by_role("alert")


def register(page: Page, name: str, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Register").click()
    expect(page).to_have_url(re.compile(r"/auth/register$"))
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_label(FOUNDER).check()
    form.get_by_label("Language").select_option(label="English")
    form.get_by_role("button", name="Create account").click()


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(flash(page)).to_contain_text("Logged out.")
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()


def switch_language(page: Page, label: str) -> None:
    page.locator("form#language-form select#language-select").select_option(label=label)


def is_logged_in(page: Page) -> bool:
    return page.locator("#user-menu").count() > 0


def test_register_confirm_log_in_and_switch_language(page: Page, live_server):
    email = unique_email("ada")
    name = "Ada Lovelace"

    # Register through the HTML form: the answer is the same whether or not the address has an
    # account (see test_registration_does_not_reveal_an_existing_email), so nobody is logged in yet.
    register(page, name, email)
    expect(flash(page)).to_contain_text(re.compile(rf"sent a confirmation link to {re.escape(email)}", re.I))
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    assert not is_logged_in(page)

    # Follow the link from the confirmation mail.
    mails = live_server.wait_for_mail(email)
    assert len(mails) == 1, [m["Subject"] for m in live_server.outbox]
    assert mails[0]["Subject"] == "Confirm your email address"
    match = re.search(r"https?://\S+/auth/confirm/\S+", mails[0].get_content())
    assert match, mails[0].get_content()
    link = match.group(0)
    assert link.startswith(live_server.url + "/"), f"the mail links to {link}, not to the live server"
    page.goto(link)
    expect(flash(page)).to_contain_text(f"Thank you, {email} is confirmed.")

    # A wrong password and an unknown address get the same, generic answer.
    log_in(page, email, "not-the-password")
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(flash(page)).to_have_text("Wrong email or password.")
    log_in(page, unique_email("nobody"), "not-the-password")
    expect(flash(page)).to_have_text("Wrong email or password.")

    log_in(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(flash(page)).to_contain_text("Logged in.")
    expect(page.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()
    expect(page.locator("#user-menu")).to_have_text(name)
    expect(page.get_by_text("Please confirm your email address")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Switch to Simplified Chinese with the navbar switcher (auto-submits on change).
    html = page.locator("html")
    nav = page.get_by_role("navigation")
    switch_language(page, "简体中文")
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#language-select")).to_have_value("zh_CN")
    dashboard_zh = zh("Dashboard")
    if dashboard_zh:
        expect(nav.get_by_role("link", name=dashboard_zh, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_have_count(0)
    # The choice is stored on the account, so it survives a fresh page load.
    page.reload()
    expect(html).to_have_attribute("lang", "zh-CN")

    # And back to English.
    switch_language(page, "English")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#language-select")).to_have_value("en")
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()

    log_out(page)
    page.goto("/dashboard")
    expect(page.locator("#user-menu")).to_have_count(0)


def test_registration_does_not_reveal_an_existing_email(page: Page, live_server):
    """Registering a taken address must look exactly like registering a new one."""

    def outcome(email: str) -> tuple[str, str, bool]:
        page.context.clear_cookies()
        register(page, "Grace Hopper", email)
        expect(flash(page)).to_be_visible()
        message = flash(page).inner_text().strip().replace(email, "<email>")
        path = re.sub(r"^https?://[^/]+", "", page.url)
        return message, path, is_logged_in(page)

    taken = unique_email("grace")
    first = outcome(taken)
    assert live_server.wait_for_mail(taken, 1)[0]["Subject"] == "Confirm your email address"

    fresh = outcome(unique_email("fresh"))
    again = outcome(taken)

    # The owner of the address learns about the attempt, by mail only.
    mails = live_server.wait_for_mail(taken, 2)
    subjects = [m["Subject"] for m in mails]
    assert subjects == ["Confirm your email address", "Someone tried to register with your email"]
    assert first == fresh
    assert again == fresh, "the response to a registration shows whether the email already has an account"
