"""Flows that do not trap, in a real browser (issue 12, point 7): the sandbox's 3-D Secure card shows an
authentication step at the pledge, and a second pledge offers to change the first."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_auth_flow import flash, log_in
from tests.e2e.test_funding_flow import PASSWORD, seed

pytestmark = pytest.mark.browser


def test_three_d_secure_step_then_a_second_pledge_offers_to_change_the_first(page: Page, live_server):
    backer, _admin, campaign_id = seed(live_server)
    log_in(page, backer, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/pledge")
    form = page.locator("#pledge-form")
    form.locator("[name=amount]").fill("300")
    form.locator("[name=payment_method]").fill("4000002500003155")
    form.get_by_role("button", name="Pledge").click()
    expect(page.get_by_role("heading", name="Authenticate payment (sandbox)")).to_be_visible()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.locator("#pledge-form [name=amount]")).to_have_value("300")  # back on the form, as typed
    expect(page.get_by_text("did not confirm the card")).to_be_visible()
    page.locator("#pledge-form [name=payment_method]").fill("4000002500003155")
    page.locator("#pledge-form").get_by_role("button", name="Pledge").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(flash(page).first).to_contain_text("Your pledge is active")
    # A second visit to the pledge page offers to change the first pledge.
    page.goto(f"/campaigns/{campaign_id}/pledge")
    page.locator("#existing-pledge").get_by_role("link", name="Change that pledge").click()
    change = page.locator("#change")
    change.locator("[name=change-amount]").fill("450")
    change.get_by_role("button", name="Save changes").click()
    expect(flash(page).first).to_contain_text("Pledge changed.")
    expect(page.get_by_text("450.00").first).to_be_visible()
