"""The sandbox payment flow in a real browser: pledge with 4242..., settle, see `collected` and the ledger."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_auth_flow import flash, log_in, log_out

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password


def seed(live_server) -> tuple[str, str, int]:
    from portal.auth.models import Role
    from portal.db import commit, utcnow
    from portal.extensions import db
    from tests import factories
    from tests.funding.factories import CampaignFactory, RewardFactory

    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        backer = factories.UserFactory(email=f"backer-{tag}@example.com", roles=[Role.BACKER])
        admin = factories.UserFactory(email=f"admin-{tag}@example.com", roles=[Role.ADMIN])
        campaign = CampaignFactory(title=f"Quiet kettle {tag}", goal_amount=1000_00,
                                   deadline=utcnow() + timedelta(days=10))
        RewardFactory(campaign=campaign, title="Kettle", amount=800_00, quantity=10)
        commit()
        result = backer.email, admin.email, campaign.id
        db.session.remove()
    return result


def test_pledge_settle_and_see_collected_and_the_ledger(page: Page, live_server):
    backer, admin, campaign_id = seed(live_server)

    log_in(page, backer, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.get_by_text("Sandbox payments").first).to_be_visible()
    page.get_by_role("link", name="Back this project").click()
    form = page.locator("#pledge-form")
    expect(page.get_by_test_id("sandbox-note")).to_be_visible()
    form.get_by_label("Reward").select_option(index=1)  # "Kettle (800.00+) · 10 left"
    form.get_by_label("Pledge amount").fill("1200.00")
    form.get_by_label("Card number").fill("4242424242424242")
    form.get_by_role("button", name="Pledge").click()
    expect(flash(page)).to_contain_text("Your pledge is active")
    expect(page.get_by_test_id("pledge-status")).to_have_attribute("data-status", "active")
    log_out(page)

    log_in(page, admin, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}")
    page.get_by_role("button", name="Settle now").click()
    expect(flash(page)).to_contain_text("Settlement started")
    # A background job (inline after the commit without Redis); the page says when it is done.
    expect(page.get_by_test_id("settlement-state")).to_contain_text("Settlement done", timeout=30_000)
    expect(page.get_by_test_id("settlement-state")).to_contain_text("Collected: 1")
    expect(page.get_by_role("button", name="Settle now")).to_have_count(0)
    log_out(page)

    log_in(page, backer, PASSWORD)
    page.goto("/pledges/")
    page.get_by_role("link", name=re.compile("Quiet kettle")).click()
    expect(page.get_by_test_id("pledge-status")).to_have_attribute("data-status", "collected")
    mails = live_server.wait_for_mail(backer, count=1)
    assert any("collected" in m["Subject"] for m in mails), [m["Subject"] for m in mails]

    page.goto(f"/campaigns/{campaign_id}/ledger")
    expect(page.get_by_test_id("ledger-collected")).to_contain_text("1,200.00")
    expect(page.get_by_test_id("ledger-pledged")).to_contain_text("1,200.00")
    expect(page.get_by_role("cell", name="Collected", exact=True)).to_be_visible()
    expect(page.locator("canvas[data-chart]")).to_be_visible()
