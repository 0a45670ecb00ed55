"""The campaign life cycle and pledges through the API: happy path, and bad input that writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from funding.models import CampaignStatus, FundingModel, Pledge, PledgeStatus
from portal.api import iso
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
from tests.incubation.factories import ProjectFactory


def pledge_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Pledge))


def test_campaign_life_cycle_through_the_api(client, factories, bearer, admin, provider):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup)
    headers = bearer(founder)

    too_long = client.post("/api/v1/campaigns", headers=headers, json={
        "project_id": project.id, "title": "Too long", "goal": {"amount": 100000, "currency": "CNY"},
        "deadline": iso(utcnow() + timedelta(days=61))})
    assert too_long.status_code == 400 and "deadline" in too_long.json["error"]["fields"]

    created = client.post("/api/v1/campaigns", headers=headers, json={
        "project_id": project.id, "title": "Compost machine", "goal": {"amount": 5000000, "currency": "CNY"},
        "deadline": iso(utcnow() + timedelta(days=30)), "funding_model": "keep_it_all"})
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft" and created.json["funding_model"] == FundingModel.KEEP_IT_ALL
    campaign_id = created.json["id"]

    for bad in ({"estimated_delivery": "2027-13-45"}, {"shipping_fees": {"CN": -1}}, {"shipping_fees": [1]},
                {"shipping_fees": {"CN": 1.5}}, {"amount": -1}):
        refused = client.post(f"/api/v1/campaigns/{campaign_id}/rewards", headers=headers,
                              json={"title": "Bad", "amount": 100} | bad)
        assert refused.status_code == 400, (bad, refused.json)
        named = {name.split(".")[0] for name in refused.json["error"]["fields"]}  # shipping_fees.CN names the region
        assert named & {"estimated_delivery", "shipping_fees", "amount"}
    reward = client.post(f"/api/v1/campaigns/{campaign_id}/rewards", headers=headers, json={
        "title": "Early bird", "amount": 99900, "quantity": 2, "estimated_delivery": "2027-05-01",
        "shipping_fees": {"CN": 0, "world": 12000}, "variants": ["white", "graphite"]})
    assert reward.status_code == 201, reward.json
    assert reward.json["shipping_fees"] == {"CN": 0, "WORLD": 12000} and reward.json["remaining"] == 2

    outsider = factories.UserFactory(roles=[Role.BACKER])
    assert client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=bearer(outsider)).status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign_id}/submit", headers=headers).json["status"] == "submitted"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=headers).status_code == 403
    approved = client.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=bearer(admin))
    assert approved.status_code == 200 and approved.json["status"] == "live"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=bearer(admin)).status_code == 409

    pledge = client.post(f"/api/v1/campaigns/{campaign_id}/pledges", headers=bearer(outsider), json={
        "amount": 120000, "reward_id": reward.json["id"], "payment_method": "4242424242424242",
        "shipping_region": "world"})
    assert pledge.status_code == 201, pledge.json
    body = pledge.json
    assert body["status"] == "active" and body["amount"] == 120000 and body["extra_support"] == 20100
    assert body["shipping_fee"] == 12000 and body["card"].startswith("Visa") and "sandbox" in body["card"]
    assert provider.payment_intents == {}  # nothing charged at pledge time

    detail = client.get(f"/api/v1/campaigns/{campaign_id}").json
    assert detail["pledged"] == {"amount": 120000, "currency": "CNY"} and detail["backers"] == 1
    assert detail["rewards"][0]["remaining"] == 1
    assert client.get(f"/api/v1/pledges/{body['id']}", headers=bearer(outsider)).json["status"] == "active"
    assert client.get(f"/api/v1/pledges/{body['id']}", headers=headers).status_code == 403

    changed = client.patch(f"/api/v1/pledges/{body['id']}", headers=bearer(outsider),
                           json={"amount": 50000})
    assert changed.status_code == 200 and changed.json["reward_id"] is None and changed.json["shipping_fee"] == 0
    cancelled = client.post(f"/api/v1/pledges/{body['id']}/cancel", headers=bearer(outsider))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/pledges/{body['id']}/cancel", headers=bearer(outsider)).status_code == 409
    assert client.get(f"/api/v1/campaigns/{campaign_id}").json["pledged"]["amount"] == 0


@pytest.fixture
def live(factories):
    campaign = CampaignFactory(currency="CNY")
    reward = RewardFactory(campaign=campaign, amount=1000_00, quantity=1)
    backer = factories.UserFactory(roles=[Role.BACKER])
    return campaign, reward, backer


@pytest.mark.parametrize("body, status, field", [
    ({"amount": 999_00, "reward_id": "REWARD"}, 400, "amount"),  # below the reward amount
    ({"amount": -500, "payment_method": "4242424242424242"}, 400, "amount"),
    ({"amount": 0}, 400, "amount"),
    ({"amount": 1299.5}, 400, "amount"),  # fractional minor units
    ({"amount": "12.50"}, 400, "amount"),
    ({"amount": 1000_00, "currency": "USD"}, 400, "currency"),
    ({"amount": 1000_00, "payment_method": "4111111111111111"}, 400, "payment_method"),  # not a test card
    ({"amount": 1000_00, "payment_method": "4000000000000002"}, 400, "payment_method"),  # declined when saved
    ({"amount": 1000_00, "reward_id": 999999}, 400, "reward_id"),
    ({"amount": 1000_00, "payment_method": ""}, 400, "payment_method"),  # no card
])
def test_bad_pledges_are_refused_and_write_nothing(client, bearer, provider, live, body, status, field):
    campaign, reward, backer = live
    body = dict(body)
    body.setdefault("payment_method", "4242424242424242")
    if body.get("reward_id") == "REWARD":
        body["reward_id"] = reward.id
    before = pledge_count()
    response = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(backer), json=body)
    assert response.status_code == status, response.json
    assert field in response.json["error"]["fields"], response.json
    assert pledge_count() == before
    assert provider.calls == 0 and provider.payment_intents == {}


def test_closed_campaigns_and_sold_out_rewards_answer_409(client, bearer, provider, live, factories):
    campaign, reward, backer = live
    PledgeFactory(campaign=campaign, reward=reward, amount=1000_00)  # takes the only unit
    before = pledge_count()
    headers = bearer(backer)
    sold_out = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=headers,
                           json={"amount": 1000_00, "reward_id": reward.id, "payment_method": "4242424242424242"})
    assert sold_out.status_code == 409 and sold_out.json["error"]["code"] == "conflict"
    assert "reward_id" in sold_out.json["error"]["fields"]

    draft = CampaignFactory(status=CampaignStatus.SUBMITTED)
    past = CampaignFactory(deadline=utcnow() - timedelta(minutes=1))
    ended = CampaignFactory(status=CampaignStatus.SUCCESSFUL)
    for closed in (past, ended):
        response = client.post(f"/api/v1/campaigns/{closed.id}/pledges", headers=headers,
                               json={"amount": 1000_00, "payment_method": "4242424242424242"})
        assert response.status_code == 409, response.json
    # A submitted campaign is not even visible to a backer.
    assert client.post(f"/api/v1/campaigns/{draft.id}/pledges", headers=headers,
                       json={"amount": 1000_00, "payment_method": "4242424242424242"}).status_code == 403
    assert pledge_count() == before and provider.calls == 0
    pledge = PledgeFactory(campaign=past, backer=backer)
    assert client.post(f"/api/v1/pledges/{pledge.id}/cancel", headers=headers).status_code == 409
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.ACTIVE


def test_pledge_page_in_sandbox_mode(client, login, provider, live):
    campaign, reward, backer = live
    login(backer)
    page = client.get(f"/campaigns/{campaign.id}/pledge")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sandbox payments" in text and "js.stripe.com" not in text
    bad = client.post(f"/campaigns/{campaign.id}/pledge", data={"reward_id": str(reward.id), "amount": "999.99",
                                                                "payment_method": "4242424242424242"})
    assert bad.status_code == 400 and "at least its amount" in bad.get_data(as_text=True)
    fraction = client.post(f"/campaigns/{campaign.id}/pledge", data={"amount": "10.001",
                                                                     "payment_method": "4242424242424242"})
    assert fraction.status_code == 400
    assert pledge_count() == 0
    good = client.post(f"/campaigns/{campaign.id}/pledge", data={"reward_id": str(reward.id), "amount": "1200.00",
                                                                 "payment_method": "4242 4242 4242 4242"})
    assert good.status_code == 302
    pledge = db.session.scalar(select(Pledge).where(Pledge.backer_id == backer.id))
    assert pledge.amount == 1200_00 and pledge.payment_method_ref == "pm_sandbox_visa"
    detail = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "active" in detail and "Visa •••• 4242" in detail
    assert client.post(good.headers["Location"], data={"action": "cancel"}).status_code == 302
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.CANCELLED
