"""The demo seeders of incubation and funding run and produce a browsable portal."""

from __future__ import annotations

from sqlalchemy import select

from funding.models import Campaign, CampaignStatus, FundingModel
from incubation.models import MentorProfile, MentorSlot, Program, Project, ProjectStatus
from portal.db import utcnow
from portal.demo import seed_demo
from portal.extensions import db


def test_demo_seeder_creates_a_live_campaign_and_an_open_program(client):
    seed_demo()
    db.session.flush()

    campaign = db.session.scalar(select(Campaign).where(Campaign.status == CampaignStatus.LIVE))
    assert campaign is not None
    assert campaign.goal_amount == 300000_00 and campaign.currency == "CNY"
    assert campaign.funding_model == FundingModel.ALL_OR_NOTHING
    assert 24 <= campaign.days_left() <= 25
    assert campaign.project.title == "静音智能新风机 Quiet Smart Ventilator"
    assert campaign.project.status == ProjectStatus.INCUBATING
    assert len(campaign.rewards) == 3 and sum(r.quantity is not None for r in campaign.rewards) == 1
    pledged, backers = campaign.totals()
    assert 35 <= pledged * 100 // campaign.goal_amount <= 45 and backers >= 5

    program = db.session.scalar(select(Program).where(Program.title.contains("Spring Cohort")))
    assert program is not None and program.is_open()
    assert [c.weight for c in program.criteria] and len(program.criteria) == 3
    assert db.session.scalar(select(Project).where(Project.status == ProjectStatus.DRAFT)) is not None
    assert len(db.session.scalars(select(MentorProfile)).all()) == 2
    assert db.session.scalar(select(MentorSlot).where(MentorSlot.starts_at > utcnow())) is not None

    for url in ("/projects/", "/programs/", "/mentors/", "/ideas/", "/campaigns/", f"/campaigns/{campaign.id}",
                f"/programs/{program.id}", f"/projects/{campaign.project_id}"):
        assert client.get(url).status_code == 200, url
    api = client.get(f"/api/v1/campaigns/{campaign.id}").json
    assert api["pledged"]["amount"] == pledged


def test_demo_dashboards_per_role(client, login):
    from portal.demo import DEMO_PASSWORD

    seed_demo()
    db.session.flush()
    expectations = {
        "founder@demo.example.com": ["静音智能新风机 Quiet Smart Ventilator", "Your campaigns"],
        "mentor@demo.example.com": ["Upcoming office hours", "供应链 supply chain"],
        "backer@demo.example.com": ["Live campaigns", "Ideas to vote on"],
    }
    from portal.auth.services import get_user_by_email

    for email, texts in expectations.items():
        login(get_user_by_email(email), DEMO_PASSWORD)
        client.post("/language", data={"locale": "en"})  # some demo people read Chinese
        page = client.get("/dashboard").get_data(as_text=True)
        for text in texts:
            assert text in page, (email, text)
        client.post("/auth/logout")


def test_demo_has_a_settled_campaign_with_a_public_ledger(client):
    from funding import ledger
    from funding.models import PledgeStatus

    seed_demo()
    db.session.flush()
    campaign = db.session.scalar(select(Campaign).where(Campaign.status == CampaignStatus.SUCCESSFUL))
    assert campaign is not None and campaign.funding_model == FundingModel.KEEP_IT_ALL
    from funding.models import Pledge

    statuses = {p.status for p in db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id))}
    figures = ledger.totals(campaign)
    assert figures["collected"] > 0 and figures["fees"] > 0 and figures["refunded"] == 500_00
    assert figures["matchfunding"] == 20000_00
    assert figures["net"] == figures["collected"] - figures["fees"] - figures["refunded"] + figures["matchfunding"]
    page = client.get(f"/campaigns/{campaign.id}/ledger")
    assert page.status_code == 200 and "data-chart" in page.get_data(as_text=True)
    body = client.get(f"/api/v1/campaigns/{campaign.id}/ledger").json
    assert body["collected"]["amount"] == figures["collected"]
    assert statuses == {PledgeStatus.COLLECTED, PledgeStatus.ERRORED}  # one declined card is being followed up
