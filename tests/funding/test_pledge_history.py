"""A backer's "My pledges" lists every pledge with its history, so an errored or dropped pledge is no surprise."""

from __future__ import annotations

import re
from datetime import timedelta

from funding import services, settlement
from funding.schemas import NewPledge
from portal.auth.models import Role
from portal.db import utcnow
from tests.funding.factories import CampaignFactory, PledgeFactory


def row(page: str, pledge_id: int) -> str:
    match = re.search(rf'<tr data-testid="pledge-{pledge_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for pledge {pledge_id}"
    return re.sub(r"\s+", " ", match.group(1))


def test_my_pledges_shows_each_pledges_history(client, login, factories, provider):
    backer = factories.UserFactory(roles=[Role.BACKER])
    campaign = CampaignFactory(goal_amount=500_00, deadline=utcnow() + timedelta(days=3), title="Kettle")
    kept = services.place_pledge(campaign, backer, NewPledge(amount=400_00, payment_method="4242424242424242"))
    failing = services.place_pledge(campaign, backer, NewPledge(amount=300_00, payment_method="4000000000000341"))
    other = PledgeFactory(campaign=campaign, amount=100_00)  # someone else's
    settlement.settle(campaign.id)

    login(backer)
    client.post("/language", data={"locale": "en"})
    page = client.get("/pledges/").get_data(as_text=True)
    assert re.findall(r"· (Pledged|Collected)\b", row(page, kept.id)) == ["Pledged", "Collected"]
    errored = row(page, failing.id)
    assert "Pledged" in errored and "Payment failed (card_declined)" in errored
    assert "Dropped on" in errored and "Fix it now" in errored
    assert f'data-testid="pledge-{other.id}"' not in page

    for days in (2, 4, 8, 8):  # reminders, the final retry, then dropped
        settlement.settle(now=utcnow() + timedelta(days=days, minutes=1))
    dropped = row(client.get("/pledges/").get_data(as_text=True), failing.id)
    labels = [label.strip() for label in re.findall(r"· ([A-Z][a-z ]+)", dropped)]
    assert labels[0] == "Pledged" and labels[-1] == "Dropped" and "Payment failed" in labels
    assert "Fix it now" not in dropped
