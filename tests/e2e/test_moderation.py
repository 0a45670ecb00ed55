"""Moderation in a real browser, in English and zh-CN, at desktop (1280 px) and phone (390 px) widths: a
person reports a campaign, an admin hides it from the flag queue, and it is gone from the public list and
page (issue 12, point 3); axe-core finds no serious violation on the report form and the queue."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import new_page
from tests.e2e.test_accessibility import problems

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
LOCALES = {"en": "en", "zh_CN": "zh_CN"}


def seed(live_server, language: str) -> dict:
    from portal.auth.models import Role
    from portal.db import commit
    from portal.extensions import db
    from tests import factories
    from tests.funding.factories import CampaignFactory

    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        locale = LOCALES[language]
        reporter = factories.UserFactory(email=f"reporter-{tag}@example.com", roles=[Role.BACKER], locale=locale)
        admin = factories.UserFactory(email=f"moderator-{tag}@example.com", roles=[Role.ADMIN], locale=locale)
        campaign = CampaignFactory(title=f"Reported kettle {tag}")
        commit()
        result = {"reporter": reporter.email, "admin": admin.email, "campaign": campaign.id,
                  "title": campaign.title}
        db.session.remove()
    return result


def log_in(page, email: str) -> None:
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_a_report_reaches_the_admin_who_hides_the_campaign_from_the_public(browser, live_server, language,
                                                                          viewport):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    data = seed(live_server, language)
    campaign_id, title = data["campaign"], data["title"]
    html_lang = "zh-CN" if language == "zh_CN" else "en"

    context, page = new_page(browser, live_server, language, viewport)
    try:  # the reporter
        log_in(page, data["reporter"])
        page.goto(f"/campaigns/{campaign_id}")
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        report = page.locator(f'[data-flag="campaign-{campaign_id}"]')
        report.locator("summary").click()
        report.locator("select[name=reason]").select_option("misleading")
        report.locator("textarea[name=note]").fill("The photos are from another product")
        assert problems(axe, page) == []  # the open report form: labelled controls, contrast
        report.locator("button[type=submit]").click()
        expect(page.get_by_role("main").get_by_role("alert").first).to_be_visible()
        expect(page.locator(".alert-success")).to_have_count(1)
        no_horizontal_scroll(page)
        # A second report of the same campaign is refused with a message, not an error page.
        page.locator(f'[data-flag="campaign-{campaign_id}"] summary').click()
        page.locator(f'[data-flag="campaign-{campaign_id}"] button[type=submit]').click()
        expect(page.locator(".alert-warning")).to_have_count(1)
    finally:
        context.close()

    context, page = new_page(browser, live_server, language, viewport)
    try:  # the admin
        log_in(page, data["admin"])
        page.goto("/admin/queues/flags")
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        row = page.locator(f'[data-flagged="campaign-{campaign_id}"]')
        expect(row).to_contain_text(title)
        expect(row).to_contain_text("The photos are from another product")
        count = page.locator('[data-queue-count="flags"]')
        assert int(count.inner_text()) >= 1
        no_horizontal_scroll(page)
        assert problems(axe, page) == []
        row.locator("button[name=decision][value=hide]").click()
        expect(page.locator(".alert-success")).to_have_count(1)
        expect(page.locator(f'[data-flagged="campaign-{campaign_id}"]')).to_have_count(0)
        expect(page.locator(f'[data-hidden="campaign-{campaign_id}"]')).to_have_count(1)
        no_horizontal_scroll(page)
        page.goto(f"/campaigns/{campaign_id}")
        expect(page.locator("[data-hidden-banner]")).to_be_visible()
    finally:
        context.close()

    context, page = new_page(browser, live_server, language, viewport)
    try:  # the public
        page.goto("/campaigns/")
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        expect(page.get_by_text(title)).to_have_count(0)
        response = page.goto(f"/campaigns/{campaign_id}")
        assert response is not None and response.status == 404
    finally:
        context.close()
