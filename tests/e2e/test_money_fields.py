"""Money in a real browser: choosing a reward fills the pledge amount in yuan, and a goal typed as "500" is
¥500.00 (issue 12, point 1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_auth_flow import flash, log_in
from tests.e2e.test_funding_flow import PASSWORD, seed

pytestmark = pytest.mark.browser


def test_choosing_a_reward_fills_the_pledge_amount(page: Page, live_server):
    backer, _admin, campaign_id = seed(live_server)  # reward "Kettle" at ¥800.00
    log_in(page, backer, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/pledge")
    form = page.locator("#pledge-form")
    amount = form.get_by_label("Pledge amount (CNY)")
    expect(amount).to_have_attribute("inputmode", "decimal")
    form.get_by_label("Reward").select_option(index=1)
    expect(amount).to_have_value("800.00")
    amount.fill("1,200")  # still editable, grouping as the locale writes it
    form.get_by_label("Card number").fill("4242424242424242")
    form.get_by_role("button", name="Pledge").click()
    expect(flash(page)).to_contain_text("Your pledge is active")
    expect(page.get_by_text("CN¥1,200.00").first).to_be_visible()
