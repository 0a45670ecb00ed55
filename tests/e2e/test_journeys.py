"""Issue 12, points 1 and 7, in a real browser in both languages and at both widths (English on a 1280-px
desktop, zh-CN on a 390-px phone): money typed in yuan, a pledge through the sandbox's 3-D Secure step,
a second pledge that offers to change the first, and an apply form that does not trap. Locators use
names, ids and test ids rather than English text so the same journey runs in Chinese."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_funding_flow import PASSWORD

pytestmark = pytest.mark.browser

THREE_DS_CARD = "4000002500003155"
SETTINGS = [pytest.param(("en", "en-GB", 1280), id="en-desktop"),
            pytest.param(("zh_CN", "zh-CN", 390), id="zh-phone")]


@pytest.fixture(params=SETTINGS)
def journey(request, browser, live_server):
    """(page, locale): a fresh context in the language and at the width of the parameter."""
    locale, accept, width = request.param
    context = browser.new_context(base_url=live_server.url, locale=accept,
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page, locale
    finally:
        context.close()


def log_in(page: Page, email: str) -> None:
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def assert_no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"


def assert_no_raw_values(page: Page, *raw: str) -> None:
    text = page.locator("main").inner_text()
    assert not [value for value in raw if value in text], text


def _with_app(live_server, build):
    from portal.db import commit
    from portal.extensions import db

    with live_server.app.app_context():
        result = build()
        commit()
        db.session.remove()
    return result


def test_a_goal_typed_in_yuan_and_a_pledge_through_3d_secure_then_changed(journey, live_server):
    page, locale = journey
    tag = uuid.uuid4().hex[:8]

    def world():
        from portal.auth.models import Role
        from portal.db import utcnow
        from tests import factories
        from tests.funding.factories import CampaignFactory, RewardFactory
        from tests.incubation.factories import ProjectFactory

        founder = factories.UserFactory(email=f"founder-{tag}@example.com", roles=[Role.FOUNDER], locale=locale)
        startup = factories.OrganisationFactory(kind="startup", owner=founder)
        project = ProjectFactory(organisation=startup, mode="crowdfunding", title=f"Lamp {tag}")
        backer = factories.UserFactory(email=f"backer-{tag}@example.com", roles=[Role.BACKER], locale=locale)
        campaign = CampaignFactory(title=f"Kettle {tag}", goal_amount=1000_00, deadline=utcnow() + timedelta(days=10))
        RewardFactory(campaign=campaign, title="Kettle", amount=800_00, quantity=10)
        return founder.email, project.id, backer.email, campaign.id

    founder, project_id, backer, campaign_id = _with_app(live_server, world)

    # Point 1: "500" in the goal field is ¥500.00, not ¥5.00.
    log_in(page, founder)
    page.goto("/campaigns/new")
    form = page.get_by_role("main").locator("form")
    form.locator("select[name=project_id]").select_option(str(project_id))
    form.locator("input[name=title]").fill(f"Lamp campaign {tag}")
    goal = form.locator("input[name='goal-amount']")
    expect(goal).to_have_attribute("inputmode", "decimal")
    goal.fill("500")
    form.locator("input[name=deadline]").fill((date.today() + timedelta(days=20)).strftime("%Y-%m-%dT10:00"))
    assert_no_horizontal_scroll(page)
    form.locator("button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+"))
    page.goto(re.search(r"/campaigns/\d+", page.url).group(0))
    expect(page.get_by_role("main")).to_contain_text("500.00")

    def goal_of():
        from sqlalchemy import select

        from funding.models import Campaign
        from portal.extensions import db
        return db.session.scalar(select(Campaign.goal_amount).where(Campaign.title == f"Lamp campaign {tag}"))

    assert _with_app(live_server, goal_of) == 500_00
    page.context.clear_cookies()

    # Point 7: the 3-D Secure card shows an authentication step; choosing the reward filled the amount.
    log_in(page, backer)
    page.goto(f"/campaigns/{campaign_id}/pledge")
    form = page.locator("#pledge-form")
    form.locator("select[name=reward_id]").select_option(index=1)
    expect(form.locator("input[name=amount]")).to_have_value("800.00")
    form.locator("input[name=payment_method]").fill(THREE_DS_CARD)
    assert_no_horizontal_scroll(page)
    form.locator("button[type=submit]").click()
    step = page.get_by_test_id("sandbox-3ds")
    expect(step).to_be_visible()
    assert_no_horizontal_scroll(page)
    step.locator("button[value=confirm]").click()
    expect(page.get_by_test_id("pledge-status")).to_have_attribute("data-status", "active")
    if locale != "en":  # statuses and the sandbox's card mark through their labels
        assert_no_raw_values(page, "active", "Active", "pm_sandbox", "(sandbox)")

    # A second visit offers to change that pledge; the change form holds it in yuan.
    page.goto(f"/campaigns/{campaign_id}/pledge")
    offer = page.locator("#existing-pledge")
    expect(offer).to_be_visible()
    offer.locator("a[href*='#change']").click()
    expect(page.locator("#change input[name='change-amount']")).to_have_value("800.00")
    assert_no_horizontal_scroll(page)


def test_the_apply_form_offers_eligible_projects_and_keeps_answers(journey, live_server):
    page, locale = journey

    def world():
        from portal.extensions import db
        from tests.incubation.factories import (
            ProjectFactory,
            add_question,
            company_with_staff,
            program_with_criteria,
            startup_with_founder,
        )

        tag = uuid.uuid4().hex[:8]
        founder, startup, good = startup_with_founder(mode="open_source", status="submitted", title=f"Fit {tag}")
        founder.locale = locale
        other = ProjectFactory(organisation=startup, mode="spin_off", status="submitted", title=f"Other {tag}")
        _staff, company = company_with_staff()
        program = program_with_criteria(company, mode="open_source")
        required = add_question(program, "Why now?", required=True)
        optional = add_question(program, "Anything else?", required=False)
        db.session.flush()
        return founder.email, program.id, good.id, other.title, required.id, optional.id

    founder, program_id, good_id, other_title, required_id, optional_id = _with_app(live_server, world)
    log_in(page, founder)
    page.goto(f"/programs/{program_id}")
    apply = page.locator("#apply")
    options = apply.locator("select[name=project_id] option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", str(good_id))
    refused = page.locator("#apply-refused")
    expect(refused).to_contain_text(other_title)
    assert "spin_off" not in refused.inner_text()
    assert_no_horizontal_scroll(page)

    # The required answer left empty: the browser stops at it (the server's refusal, which keeps the
    # answers too, is tests/incubation/test_apply_flow.py), and the optional answer typed is still there.
    apply.locator(f"#answer-{optional_id}").fill("We ship in March.")
    apply.locator("button[type=submit]").click()
    assert page.locator(f"#answer-{required_id}").evaluate("e => e.validity.valueMissing")
    expect(page).to_have_url(re.compile(rf"/programs/{program_id}$"))
    expect(page.locator(f"#answer-{optional_id}")).to_have_value("We ship in March.")

    page.locator(f"#answer-{required_id}").fill("Because the rules changed.")
    page.locator("#apply button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    expect(page.get_by_role("main")).to_contain_text("Because the rules changed.")
    assert_no_horizontal_scroll(page)


def test_a_refused_comment_keeps_what_was_typed(journey, live_server):
    """A form that answers a refusal with a redirect (a comment on an idea) still shows the text typed."""
    page, locale = journey

    def world():
        from portal.auth.models import Role
        from tests import factories
        from tests.incubation.factories import IdeaFactory

        tag = uuid.uuid4().hex[:8]
        user = factories.UserFactory(email=f"fan-{tag}@example.com", roles=[Role.BACKER], locale=locale)
        return user.email, IdeaFactory().id

    email, idea_id = _with_app(live_server, world)
    log_in(page, email)
    page.goto(f"/ideas/{idea_id}")
    box = page.locator("textarea[name=body]")
    too_long = "A quieter motor, please. " * 100  # 2,500 characters: over the 2,000 allowed
    box.evaluate("(e, text) => { e.value = text; e.form.requestSubmit(); }", too_long)  # (past maxlength)
    expect(page.locator("main .alert-danger").first).to_be_visible()
    expect(page.locator("textarea[name=body]")).to_have_value(too_long)
    assert_no_horizontal_scroll(page)
    # Shortened, it posts; the next page does not bring the old text back.
    page.locator("textarea[name=body]").fill("A quieter motor, please.")
    page.locator("textarea[name=body]").evaluate("e => e.form.requestSubmit()")
    expect(page.get_by_role("main")).to_contain_text("A quieter motor, please.")
    expect(page.locator("textarea[name=body]")).to_have_value("")


def test_admin_queue_campaign_tabs_and_the_home_page_lead_somewhere(journey, live_server):
    """Point 3: a submitted campaign waits in the admin's queue, counted in the navbar; finished campaigns
    stay findable under their tab; each section of the home page links to content."""
    page, locale = journey
    tag = uuid.uuid4().hex[:8]

    def world():
        from funding.models import CampaignStatus
        from portal.auth.models import Role
        from portal.db import utcnow
        from tests import factories
        from tests.funding.factories import CampaignFactory

        admin = factories.UserFactory(email=f"admin-{tag}@example.com", roles=[Role.ADMIN], locale=locale)
        waiting = CampaignFactory(title=f"Waiting {tag}", status=CampaignStatus.SUBMITTED)
        live = CampaignFactory(title=f"Live {tag}", deadline=utcnow() + timedelta(days=9))
        done = CampaignFactory(title=f"Done {tag}", status=CampaignStatus.SUCCESSFUL,
                               deadline=utcnow() - timedelta(days=2))
        return admin.email, waiting.id, live.id, done.id

    admin, waiting_id, live_id, done_id = _with_app(live_server, world)
    log_in(page, admin)
    page.goto("/")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # the phone's collapsed navbar
        toggler.click()
    badge = page.locator("#admin-nav [data-admin-queue-total]")
    expect(badge).to_be_visible()
    assert int(badge.inner_text()) >= 1
    page.goto("/admin/queues/campaigns")
    expect(page.locator(f"main a[href='/campaigns/{waiting_id}']").first).to_be_visible()
    assert_no_horizontal_scroll(page)

    page.goto("/campaigns/")
    expect(page.locator(f"main a[href='/campaigns/{live_id}']").first).to_be_visible()
    expect(page.locator(f"main a[href='/campaigns/{done_id}']")).to_have_count(0)
    page.locator("a[data-tab=successful]").click()
    expect(page.locator(f"main a[href='/campaigns/{done_id}']").first).to_be_visible()
    assert_no_horizontal_scroll(page)

    page.goto("/")
    for section in ("home-campaigns", "home-programs", "home-idle", "home-ideas"):
        links = page.locator(f"section[aria-labelledby={section}] a[href^='/']")
        assert links.count() >= 1, section
        href = links.first.get_attribute("href")
        assert page.request.get(href).status == 200, href
    assert_no_horizontal_scroll(page)
