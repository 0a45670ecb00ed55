"""Campaign pages for the team, stretch goals, updates (public / backers only), comments and Q&A,
financing applications and their review."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from funding.models import Campaign, CampaignStatus, FinancingApplication, Reward
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory
from tests.incubation.factories import ProjectFactory


def team_campaign(factories, **kwargs):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup)
    return founder, project, CampaignFactory(project=project, **kwargs)


def test_team_creates_and_manages_a_campaign_in_html(client, login, factories, admin):
    founder, project, _existing = team_campaign(factories)
    login(founder)
    assert client.get("/campaigns/new").status_code == 200
    too_soon = client.post("/campaigns/new", data={
        "project_id": project.id, "title": "Too soon", "goal-amount": 100, "goal-currency": "CNY",
        "deadline": (utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M+00:00")})
    assert too_soon.status_code == 400 and "at least 1 day" in too_soon.get_data(as_text=True)
    deadline = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    created = client.post("/campaigns/new", data={"project_id": project.id, "title": "Solar kettle",
                                                  "goal-amount": "50,000", "goal-currency": "CNY",
                                                  "deadline": deadline, "funding_model": "all_or_nothing"})
    assert created.status_code == 302, created.get_data(as_text=True)
    campaign = db.session.scalar(select(Campaign).where(Campaign.title == "Solar kettle"))
    assert campaign.goal_amount == 50000_00  # the page takes yuan
    manage = created.headers["Location"]
    reward = client.post(manage, data={"action": "reward", "reward-title": "Kettle", "reward-amount": "399.00",
                                       "reward-quantity": 50, "shipping_fees": "CN=0, WORLD=80.00"})
    assert reward.status_code == 302
    tier = db.session.scalar(select(Reward).where(Reward.campaign_id == campaign.id))
    assert tier.amount == 399_00 and tier.shipping_fees == {"CN": 0, "WORLD": 8000}
    bad = client.post(manage, data={"action": "reward", "reward-title": "Bad", "reward-amount": "1.00",
                                    "shipping_fees": "nonsense"})
    assert bad.status_code == 400
    assert client.post(manage, data={"action": "goal", "goal-amount": "90000", "goal-title": "Colours"}
                       ).status_code == 302
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
           b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG
    upload = client.post(manage, data={"action": "media", "media-file": (io.BytesIO(png), "kettle.png")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    media = client.get(f"/campaigns/{campaign.id}/media")
    assert media.status_code == 200 and media.data == png and media.mimetype == "image/png"
    not_image = client.post(manage, data={"action": "media", "media-file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
                            content_type="multipart/form-data")
    assert not_image.status_code == 400
    assert client.post(manage, data={"action": "submit"}).status_code == 302
    assert db.session.get(Campaign, campaign.id).status == CampaignStatus.SUBMITTED
    client.post("/auth/logout")
    login(admin)
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Approve: go live" in detail
    client.post(f"/campaigns/{campaign.id}/approve")
    assert db.session.get(Campaign, campaign.id).status == CampaignStatus.LIVE
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Colours" in page and "Back this project" in page and "WORLD" in page


def test_updates_for_backers_only_and_questions_answered_by_the_team(client, bearer, factories):
    founder, _project, campaign = team_campaign(factories)
    backer = factories.UserFactory(roles=[Role.BACKER])
    PledgeFactory(campaign=campaign, backer=backer)
    stranger = factories.UserFactory(roles=[Role.BACKER])
    url = f"/api/v1/campaigns/{campaign.id}/updates"
    assert client.post(url, headers=bearer(stranger), json={"title": "x", "body": "y"}).status_code == 403
    assert client.post(url, headers=bearer(founder), json={"title": "Tooling done", "body": "Moulds ready."}
                       ).status_code == 201
    assert client.post(url, headers=bearer(founder), json={"title": "Secret", "body": "Early pick.",
                                                           "backers_only": True}).status_code == 201
    assert [u["title"] for u in client.get(url, headers=bearer(stranger)).json["items"]] == ["Tooling done"]
    assert {u["title"] for u in client.get(url, headers=bearer(backer)).json["items"]} == {"Tooling done", "Secret"}
    assert "Secret" not in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)

    comments = f"/api/v1/campaigns/{campaign.id}/comments"
    question = client.post(comments, headers=bearer(stranger), json={"body": "Does it ship to Macau?",
                                                                     "is_question": True})
    assert question.status_code == 201 and question.json["is_question"]
    answer = client.post(comments, headers=bearer(founder), json={"body": "Yes.", "parent_id": question.json["id"]})
    assert answer.status_code == 201
    assert client.post(comments, headers=bearer(stranger), json={"body": ""}).status_code == 400
    listed = client.get(comments).json["items"]
    assert [c["body"] for c in listed] == ["Does it ship to Macau?", "Yes."]
    goals = client.post(f"/api/v1/campaigns/{campaign.id}/stretch-goals", headers=bearer(founder),
                        json={"amount": campaign.goal_amount - 1, "title": "Too low"})
    assert goals.status_code == 400


def test_financing_application_reviewed_and_decided_by_the_addressee(client, bearer, factories, login, mail_outbox):
    founder, project, _campaign = team_campaign(factories)
    reviewer = factories.UserFactory(roles=[Role.COMPANY])
    fund = factories.OrganisationFactory(kind="company", owner=reviewer, name="Haier Capital")
    other_staff = factories.UserFactory(roles=[Role.COMPANY])
    factories.OrganisationFactory(kind="company", owner=other_staff)
    outsider = factories.UserFactory(roles=[Role.BACKER])
    body = {"project_id": project.id, "amount": {"amount": 2000000_00, "currency": "CNY"},
            "use_of_funds": "Tooling and certification", "terms": "10% equity, 2x liquidation preference",
            "organisation_id": fund.id}
    assert client.post("/api/v1/financing-applications", headers=bearer(outsider), json=body).status_code == 403
    bad = client.post("/api/v1/financing-applications", headers=bearer(founder), json=body | {"amount": {
        "amount": -5, "currency": "CNY"}})
    assert bad.status_code == 400
    created = client.post("/api/v1/financing-applications", headers=bearer(founder), json=body)
    assert created.status_code == 201 and created.json["status"] == "submitted"
    assert created.json["organisation"] == {"id": fund.id, "name": "Haier Capital", "verified": True}
    assert any(m["To"] == reviewer.email for m in mail_outbox)  # whoever must act next is told
    app_id = created.json["id"]
    decision = f"/api/v1/financing-applications/{app_id}/decision"
    reviews = f"/api/v1/financing-applications/{app_id}/reviews"
    assert client.post(decision, headers=bearer(founder), json={"decision": "approved", "note": "me"}
                       ).status_code == 403
    for stranger in (outsider, other_staff):  # staff of another company see and decide nothing
        assert client.get(f"/api/v1/financing-applications/{app_id}", headers=bearer(stranger)).status_code == 403
        assert client.post(decision, headers=bearer(stranger), json={"decision": "approved", "note": "x"}
                           ).status_code == 403
        assert client.get("/api/v1/financing-applications", headers=bearer(stranger)).json["items"] == []
    unreviewed = client.post(decision, headers=bearer(reviewer), json={"decision": "approved", "note": "Yes"})
    assert unreviewed.status_code == 409  # scored reviews come first
    scored = client.post(reviews, headers=bearer(reviewer), json={
        "scores": {"team": 5, "market": 4, "terms": 3}, "recommendation": "yes", "comment": "Good team"})
    assert scored.status_code == 201 and scored.json["weighted_score"] == 4.2
    assert client.post(reviews, headers=bearer(reviewer), json={
        "scores": {"team": 9, "market": 4, "terms": 3}, "recommendation": "yes"}).status_code == 400
    mail_outbox.clear()
    decided = client.post(decision, headers=bearer(reviewer), json={"decision": "approved",
                                                                    "note": "Strong traction; term sheet follows."})
    assert decided.status_code == 200 and decided.json["status"] == "approved"
    assert decided.json["decided_by"] == reviewer.name
    assert [m["To"] for m in mail_outbox] == [founder.email]
    assert client.post(decision, headers=bearer(reviewer), json={"decision": "rejected", "note": "x"}
                       ).status_code == 409
    founder_view = client.get(f"/api/v1/financing-applications/{app_id}", headers=bearer(founder)).json
    assert "reviews" not in founder_view  # the reviewers' notes stay with the addressee
    login(founder)
    page = client.get("/financing/").get_data(as_text=True)
    assert "Strong traction; term sheet follows." in page and "Approved" in page
    assert db.session.get(FinancingApplication, app_id).decided_by_id == reviewer.id


def test_a_self_registered_company_account_sees_and_decides_no_financing(client, bearer, factories):
    """Reproducer: `roles: ["company"]` at sign-up used to read and approve every application."""
    founder, project, _campaign = team_campaign(factories)
    staff = factories.UserFactory(roles=[Role.COMPANY])
    fund = factories.OrganisationFactory(kind="company", owner=staff)
    applied = client.post("/api/v1/financing-applications", headers=bearer(founder), json={
        "project_id": project.id, "amount": {"amount": 100_000_00, "currency": "CNY"}, "use_of_funds": "Moulds",
        "terms": "Convertible note, confidential cap", "organisation_id": fund.id})
    app_id = applied.json["id"]
    registered = client.post("/api/v1/auth/register", json={
        "email": "mallory@example.com", "password": "a-long-password-1", "name": "Mallory", "roles": ["company"]})
    assert registered.status_code == 201
    token = client.post("/api/v1/auth/tokens", json={"email": "mallory@example.com",
                                                     "password": "a-long-password-1"}).json["token"]
    mallory = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/financing-applications/{app_id}", headers=mallory).status_code == 403
    assert client.post(f"/api/v1/financing-applications/{app_id}/decision", headers=mallory,
                       json={"decision": "approved", "note": "ok"}).status_code == 403
    assert client.get("/api/v1/financing-applications", headers=mallory).json["items"] == []
    # Her own look-alike company is unverified: addressing it or publishing for it is refused.
    fake = client.post("/api/v1/organisations", headers=mallory, json={"name": "Haier Capital", "kind": "company"})
    assert fake.status_code == 201 and fake.json["verified"] is False
    refused = client.post("/api/v1/financing-applications", headers=bearer(founder), json={
        "project_id": project.id, "amount": {"amount": 100_00, "currency": "CNY"}, "use_of_funds": "x",
        "terms": "y", "organisation_id": fake.json["id"]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "organisation_unverified"
