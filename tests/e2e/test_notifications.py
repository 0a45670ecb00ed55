"""The notification centre in a real browser: the bell's unread count (next to the menu button on phones), opening the centre, marking read (one,
then all), following a notice to its object; in English and zh-CN, at 1280 and 390 px (issue 12, point 5)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_accessibility import axe, problems  # noqa: F401  (axe: a fixture)
from tests.e2e.test_auth_flow import log_in

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def seed(live_server, locale: str) -> str:
    from flask_babel import gettext as _

    from portal.db import commit
    from portal.mail import send_to_user
    from portal.urls import external_url
    from tests import factories

    with live_server.app.app_context():
        user = factories.UserFactory(email=f"bell-{uuid.uuid4().hex[:8]}@example.com", locale=locale)
        for number in range(3):
            link = external_url("notifications.preferences")
            send_to_user(user, lambda number=number, link=link: (
                f"Notice {number}", _("Booking confirmed") + f"\n{link}"), kind="booking.confirmed")
        commit()
        return user.email


def bell(page, phone: bool):
    """The bell shown at this width: in the menu on wide screens, next to the menu button on phones."""
    shown = page.locator("#notification-bell-phone" if phone else "#notification-bell")
    expect(shown).to_be_visible()
    expect(page.locator("#notification-bell" if phone else "#notification-bell-phone")).to_be_hidden()
    return shown


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_bell_centre_mark_read(browser, live_server, axe, locale, width):  # noqa: F811
    from tests.conftest import PASSWORD

    email = seed(live_server, locale)
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, email, PASSWORD)
        phone = width == "phone"
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if locale == "zh_CN" else "en")
        link = bell(page, phone)
        expect(link.locator("[data-unread-count]")).to_have_text("3")
        link.click()
        expect(page).to_have_url(re.compile(r"/notifications/$"))
        items = page.locator("#notification-list [data-notification-id]")
        expect(items).to_have_count(3)
        expect(items.first).to_contain_text("Notice 2")  # newest first
        content = page.content()
        assert "booking.confirmed" not in content  # the kind's label, never its key
        no_sideways_scroll(page)
        assert problems(axe, page) == []
        # Mark the newest read with its own button.
        items.first.locator("form button").click()
        expect(page.locator("#notification-list [data-read=no]")).to_have_count(2)
        expect(bell(page, phone).locator("[data-unread-count]")).to_have_text("2")
        # Follow one to its object: it is marked read on the way.
        page.locator("#notification-list [data-read=no] a").first.click()
        expect(page).to_have_url(re.compile(r"/notifications/preferences$"))
        expect(page.locator("#notification-preferences")).to_be_visible()
        no_sideways_scroll(page)
        assert problems(axe, page) == []
        expect(bell(page, phone).locator("[data-unread-count]")).to_have_text("1")
        page.goto("/notifications/")
        page.locator("#mark-all-read").click()
        expect(page.locator("#notification-list [data-read=no]")).to_have_count(0)
        expect(bell(page, phone).locator("[data-unread-count]")).to_have_count(0)
    finally:
        context.close()
