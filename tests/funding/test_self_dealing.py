"""Issue 9, points 5 and 6 (funding): no self-dealing (the team cannot back its own campaign, matchfunding
counts only outsiders' money), creators refund their backers themselves, and the crowdfunding gate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from funding import ledger, settlement
from funding.models import Campaign, Pledge, PledgeStatus
from incubation.models import ApplicationStatus, IncubationMode
from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory
from tests.incubation.factories import ApplicationFactory, ProgramFactory, ProjectFactory

CARD = "4242424242424242"


def _team_campaign(factories, **kwargs):
    founder = factories.UserFactory(roles=[Role.FOUNDER, Role.BACKER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    campaign = CampaignFactory(project=ProjectFactory(organisation=startup), **kwargs)
    return founder, startup, campaign


def _pledges() -> int:
    return db.session.scalar(select(func.count()).select_from(Pledge))


# ---- no self-dealing --------------------------------------------------------------------------

def test_the_team_cannot_back_its_own_campaign(client, bearer, login, factories, provider):
    founder, startup, campaign = _team_campaign(factories)
    cofounder = factories.UserFactory(roles=[Role.BACKER])
    factories.MembershipFactory(organisation=startup, user=cofounder)
    for member in (founder, cofounder):
        response = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(member),
                               json={"amount": 500_00, "payment_method": CARD})
        assert response.status_code == 403, response.json
        assert response.json["error"]["code"] == "own_campaign"
    assert _pledges() == 0 and provider.payment_intents == {}

    login(founder)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="own-campaign"' in page and f"/campaigns/{campaign.id}/pledge" not in page
    form = client.post(f"/campaigns/{campaign.id}/pledge", data={"amount": "500", "payment_method": CARD})
    assert form.status_code == 403 and "cannot back its own campaign" in form.get_data(as_text=True)
    assert _pledges() == 0

    outsider = factories.UserFactory(roles=[Role.BACKER])
    ok = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(outsider),
                     json={"amount": 500_00, "payment_method": CARD})
    assert ok.status_code == 201


def test_a_backer_who_joins_the_team_can_no_longer_change_the_pledge(client, bearer, factories, provider):
    _founder, startup, campaign = _team_campaign(factories)
    backer = factories.UserFactory(roles=[Role.BACKER])
    pledge = PledgeFactory(campaign=campaign, backer=backer, amount=300_00)
    factories.MembershipFactory(organisation=startup, user=backer)
    response = client.patch(f"/api/v1/pledges/{pledge.id}", headers=bearer(backer), json={"amount": 900_00})
    assert response.status_code == 403 and response.json["error"]["code"] == "own_campaign"
    assert db.session.get(Pledge, pledge.id).amount == 300_00


def test_matchfunding_counts_only_pledges_from_outside_both_organisations(factories, provider):
    founder, startup, campaign = _team_campaign(factories, goal_amount=100_00)
    anchor_staff = factories.UserFactory(roles=[Role.COMPANY])
    anchor = factories.OrganisationFactory(kind="company", owner=anchor_staff)
    outsider = factories.UserFactory(roles=[Role.BACKER])
    # pledges that predate the rule (or a membership): the team's and the matchfunder's own money
    PledgeFactory(campaign=campaign, backer=founder, amount=5000_00)
    PledgeFactory(campaign=campaign, backer=anchor_staff, amount=3000_00)
    PledgeFactory(campaign=campaign, backer=outsider, amount=400_00)
    from funding import matchfunding
    from funding.schemas import NewMatchFund

    matchfunding.add_match_fund(campaign, anchor, NewMatchFund(organisation_id=anchor.id, cap=10_000_00))
    settlement.settle(campaign.id)
    figures = ledger.totals(campaign)
    assert figures["collected"] == 8400_00
    assert figures["matchfunding"] == 400_00  # only the outsider's pledge is matched


# ---- creators refund their backers ------------------------------------------------------------

def test_the_team_refunds_a_backer_itself(client, bearer, login, factories, provider, mail_outbox):
    founder, _startup, campaign = _team_campaign(factories, goal_amount=100_00,
                                                 deadline=utcnow() + timedelta(days=2))
    backer = factories.UserFactory(roles=[Role.BACKER], name="Lucas Backer")
    pledge = PledgeFactory(campaign=campaign, backer=backer, amount=600_00)
    campaign.deadline = utcnow() - timedelta(minutes=1)
    settlement.settle(campaign.id)
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.COLLECTED
    url = f"/api/v1/pledges/{pledge.id}/refund"
    stranger = factories.UserFactory(roles=[Role.FOUNDER])
    assert client.post(url, headers=bearer(stranger), json={"amount": 100_00}).status_code == 403
    mail_outbox.clear()
    partial = client.post(url, headers=bearer(founder), json={"amount": 100_00})
    assert partial.status_code == 200, partial.json
    assert partial.json["refunded"] == 100_00
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pledge.refund_requested")
                              .order_by(AuditEvent.id.desc()))
    assert event.actor_id == founder.id and event.after["by"] == "team"
    assert any(m["To"] == backer.email and "Refund" in m["Subject"] for m in mail_outbox)

    login(founder)
    manage = client.get(f"/campaigns/{campaign.id}/manage").get_data(as_text=True)
    assert 'id="refunds"' in manage and "Lucas Backer" in manage
    rest = client.post(f"/campaigns/{campaign.id}/pledges/{pledge.id}/refund", data={"amount": ""})
    assert rest.status_code == 302
    db.session.expire_all()
    refunded = db.session.get(Pledge, pledge.id)
    assert refunded.status == PledgeStatus.REFUNDED and refunded.refunded_amount == 600_00
    # never twice: nothing is left to refund
    assert client.post(url, headers=bearer(founder), json={}).status_code == 409
    assert ledger.totals(campaign)["refunded"] == 600_00


# ---- the crowdfunding gate --------------------------------------------------------------------

def _create(client, bearer, user, project):
    return client.post("/api/v1/campaigns", headers=bearer(user), json={
        "project_id": project.id, "title": "First batch", "goal": {"amount": 100000, "currency": "CNY"},
        "deadline": (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")})


def test_campaigns_need_the_crowdfunding_mode_or_a_crowdfunding_program(client, bearer, login, factories):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    open_source = ProjectFactory(organisation=startup, mode=IncubationMode.OPEN_SOURCE, title="Open filter")
    refused = _create(client, bearer, founder, open_source)
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "crowdfunding_mode_required"
    assert "crowdfunding incubation mode" in refused.json["error"]["message"]
    assert "project_id" in refused.json["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0

    login(founder)
    form = client.get("/campaigns/new").get_data(as_text=True)
    assert 'id="crowdfunding-rule"' in form and "not eligible" in form
    html = client.post("/campaigns/new", data={
        "project_id": open_source.id, "title": "First batch", "goal-amount": 1000, "goal-currency": "CNY",
        "deadline": (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"), "funding_model": "all_or_nothing"})
    assert html.status_code == 409 and "crowdfunding incubation mode" in html.get_data(as_text=True)

    # accepted into a crowdfunding program: allowed whatever the project's own mode
    program = ProgramFactory(mode=IncubationMode.CROWDFUNDING)
    ApplicationFactory(program=program, project=open_source, status=ApplicationStatus.ACCEPTED)
    assert _create(client, bearer, founder, open_source).status_code == 201
    crowdfunding = ProjectFactory(organisation=startup, mode=IncubationMode.CROWDFUNDING)
    assert _create(client, bearer, founder, crowdfunding).status_code == 201
    commit()
