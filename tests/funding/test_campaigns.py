"""Campaigns: totals from counted pledges only, visibility of drafts, pages, pledge rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from funding import services
from funding.models import CampaignStatus, PledgeStatus
from funding.schemas import MoneyIn, NewCampaign, NewPledge, NewReward
from portal.auth.models import Role
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
from tests.incubation.factories import ProjectFactory


def test_campaign_totals_count_active_and_collected_pledges_only(client, factories):
    campaign = CampaignFactory(goal_amount=300000_00, currency="CNY")
    alice = factories.UserFactory(roles=[Role.BACKER])
    PledgeFactory(campaign=campaign, backer=alice, amount=1299_00)
    PledgeFactory(campaign=campaign, backer=alice, amount=500_00)  # same backer twice: one backer
    PledgeFactory(campaign=campaign, amount=25999_00, status=PledgeStatus.COLLECTED)
    for status in (PledgeStatus.CANCELLED, PledgeStatus.ERRORED, PledgeStatus.DROPPED, PledgeStatus.REFUNDED,
                   PledgeStatus.RELEASED, PledgeStatus.NEEDS_AUTHENTICATION):
        PledgeFactory(campaign=campaign, amount=99999_00, status=status)
    PledgeFactory(amount=77777_00)  # another campaign

    response = client.get(f"/api/v1/campaigns/{campaign.id}")
    assert response.status_code == 200
    body = response.json
    assert body["pledged"] == {"amount": 1299_00 + 500_00 + 25999_00, "currency": "CNY"}
    assert body["goal"] == {"amount": 300000_00, "currency": "CNY"}
    assert body["backers"] == 2
    assert body["status"] == "live" and body["funding_model"] == "all_or_nothing"
    assert body["deadline"].endswith("Z")
    assert {"id", "title", "status", "goal", "pledged", "backers", "deadline", "funding_model"} <= set(body)
    assert campaign.pledged_amount() == 1299_00 + 500_00 + 25999_00 and campaign.backer_count() == 2

    listed = client.get("/api/v1/campaigns?status=live").json
    item = next(i for i in listed["items"] if i["id"] == campaign.id)
    assert item["pledged"]["amount"] == body["pledged"]["amount"] and item["backers"] == 2


def test_draft_campaigns_are_private_to_the_team(client, factories, bearer):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    draft = CampaignFactory(project=ProjectFactory(organisation=startup), status=CampaignStatus.DRAFT,
                            title="Hidden campaign")
    outsider = factories.UserFactory(roles=[Role.BACKER])

    assert client.get(f"/api/v1/campaigns/{draft.id}").status_code == 401
    assert client.get(f"/api/v1/campaigns/{draft.id}", headers=bearer(outsider)).status_code == 403
    assert draft.id not in [c["id"] for c in client.get("/api/v1/campaigns", headers=bearer(outsider)).json["items"]]
    assert client.get(f"/api/v1/campaigns/{draft.id}", headers=bearer(founder)).status_code == 200
    assert draft.id in [c["id"] for c in client.get("/api/v1/campaigns", headers=bearer(founder)).json["items"]]
    assert "Hidden campaign" not in client.get("/campaigns/").get_data(as_text=True)


def test_campaign_pages_show_progress_and_rewards(client):
    campaign = CampaignFactory(title="Quiet ventilator first run", goal_amount=300000_00,
                               deadline=utcnow() + timedelta(days=25, hours=1))
    early = RewardFactory(campaign=campaign, title="Early bird", amount=1299_00, quantity=2)
    RewardFactory(campaign=campaign, title="Standard", amount=1599_00)
    PledgeFactory(campaign=campaign, reward=early, amount=120000_00)
    PledgeFactory(campaign=campaign, reward=early, amount=1299_00, status=PledgeStatus.CANCELLED)

    index = client.get("/campaigns/").get_data(as_text=True)
    assert "Quiet ventilator first run" in index and "width: 40%" in index
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "width: 40%" in page
    assert "120,000.00" in page and "300,000.00" in page
    assert "Early bird" in page and "1 of 2 left" in page and "Unlimited" in page
    assert ">26<" in page  # days left
    assert client.get("/campaigns/999999").status_code == 404


def test_pledge_rules(db_session, factories):
    campaign = CampaignFactory()
    backer = factories.UserFactory(roles=[Role.BACKER])
    limited = RewardFactory(campaign=campaign, amount=1000_00, quantity=1)

    with pytest.raises(ValidationFailed) as small:
        services.place_pledge(campaign, backer, NewPledge(amount=999_00, reward_id=limited.id), require_card=False)
    assert "amount" in small.value.fields
    pledge = services.place_pledge(campaign, backer, NewPledge(amount=1000_00, reward_id=limited.id),
                                   require_card=False)
    assert pledge.status == PledgeStatus.ACTIVE
    with pytest.raises(Conflict):
        services.place_pledge(campaign, factories.UserFactory(roles=[Role.BACKER]),
                              NewPledge(amount=1000_00, reward_id=limited.id), require_card=False)
    services.cancel_pledge(pledge)  # frees the reward again
    again = services.place_pledge(campaign, backer, NewPledge(amount=1000_00, reward_id=limited.id),
                                  require_card=False)
    assert again.status == PledgeStatus.ACTIVE

    ended = CampaignFactory(status=CampaignStatus.SUCCESSFUL)
    with pytest.raises(Conflict):
        services.place_pledge(ended, backer, NewPledge(amount=1000_00), require_card=False)


def test_campaign_life_cycle(db_session, factories):
    project = ProjectFactory()
    with pytest.raises(ValidationFailed) as past:
        services.create_campaign(project, NewCampaign(project_id=project.id, title="x", goal=MoneyIn(amount=100),
                                                     deadline=utcnow() - timedelta(days=1)))
    assert "deadline" in past.value.fields
    campaign = services.create_campaign(project, NewCampaign(
        project_id=project.id, title="First run", goal=MoneyIn(amount=100000_00, currency="cny"),
        deadline=utcnow() + timedelta(days=30)))
    assert campaign.status == CampaignStatus.DRAFT and campaign.currency == "CNY"
    services.add_reward(campaign, NewReward(title="Early bird", amount=1299_00, quantity=100))
    services.submit_campaign(campaign)
    with pytest.raises(Conflict):
        services.submit_campaign(campaign)
    services.approve_campaign(campaign)
    assert campaign.status == CampaignStatus.LIVE
    with pytest.raises(Conflict):
        services.add_reward(campaign, NewReward(title="Late", amount=1))


def test_an_admin_rejects_a_submitted_campaign_from_its_page_with_a_reason(client, login, factories, app):
    from funding.models import CampaignStatus
    from portal.auth.models import Role
    from tests.incubation.factories import ProjectFactory

    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    campaign = CampaignFactory(status=CampaignStatus.SUBMITTED,
                               project=ProjectFactory(organisation=startup, mode="crowdfunding"))
    login(factories.UserFactory(roles=[Role.ADMIN]))
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'action="/campaigns/{campaign.id}/reject"' in page
    empty = client.post(f"/campaigns/{campaign.id}/reject", data={"reason": " "})
    assert empty.status_code == 302 and campaign.status == CampaignStatus.SUBMITTED
    app.extensions["mail_outbox"] = []
    done = client.post(f"/campaigns/{campaign.id}/reject", data={"reason": "The story promises medical claims."})
    assert done.status_code == 302
    assert campaign.status == CampaignStatus.CANCELLED
    assert any(m["To"] == founder.email and "medical claims" in m.get_content()
               for m in app.extensions["mail_outbox"])
