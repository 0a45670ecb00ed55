"""Funding's typed input layer: every body is a command (bad types are a 400 naming the field, nothing is
written), and every response matches its documented model (`funding.schemas`), nullability included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from funding.models import Campaign, Pledge, Reward
from funding.schemas import (
    CampaignCommentOut,
    CampaignOut,
    FinancingOut,
    LedgerOut,
    MatchFundOut,
    PledgeOut,
    ReviewCreatedOut,
    RewardOut,
    SetupIntentOut,
    StretchGoalOut,
    UpdateOut,
)
from portal.api import iso
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.schemas import Page
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
from tests.incubation.factories import ProjectFactory

CARD = "4242424242424242"
TOO_BIG = 2**31


def fields(response) -> set[str]:
    assert response.status_code == 400, response.get_json()
    return set(response.get_json()["error"]["fields"])


def check(model: type[BaseModel], body: dict) -> BaseModel:
    """`body` is exactly what `model` documents: it validates, and it has no key the model does not name."""
    model.model_validate(body)
    assert set(body) <= set(model.model_fields), set(body) - set(model.model_fields)
    return body


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def team(factories):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup, mode="crowdfunding")
    return founder, project


# ---- typed refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "12"}, "amount"),  # text is never a number
    ({"amount": 12.0}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": TOO_BIG}, "amount"),  # past the int32 column
    ({"amount": 0}, "amount"),
    ({"amount": 100_00, "currency": "ZZZ"}, "currency"),  # not ISO 4217
    ({"amount": 100_00, "currency": 978}, "currency"),
    ({"amount": 100_00, "reward_id": "1"}, "reward_id"),
    ({"amount": 100_00, "reward_id": TOO_BIG}, "reward_id"),
    ({"amount": 100_00, "payment_method": ["4242424242424242"]}, "payment_method"),
    ({"amount": 100_00, "shipping_region": {"CN": 1}}, "shipping_region"),
])
def test_a_pledge_of_the_wrong_type_is_refused_naming_the_field(client, bearer, factories, provider, body, field):
    campaign = CampaignFactory()
    backer = factories.UserFactory(roles=[Role.BACKER])
    response = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(backer),
                           json={"payment_method": CARD} | body)
    assert fields(response) == {field}
    assert count(Pledge) == 0 and provider.calls == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"shipping_fees": [1]}, "shipping_fees"),  # an object of region: fee, not a list
    ({"shipping_fees": "CN=0"}, "shipping_fees"),
    ({"shipping_fees": {"CN": "12"}}, "shipping_fees.CN"),
    ({"shipping_fees": {"CN": TOO_BIG}}, "shipping_fees.CN"),
    ({"shipping_fees": {"A-REGION-NAME-TOO-LONG": 0}}, "shipping_fees.A-REGION-NAME-TOO-LONG"),
    ({"variants": ["white", 2]}, "variants.1"),
    ({"variants": {"white": True}}, "variants"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": "5"}, "quantity"),
    ({"amount": TOO_BIG}, "amount"),
    ({"title": ["Gold"]}, "title"),
    ({"title": "  "}, "title"),
    ({"estimated_delivery": "2027-13-45"}, "estimated_delivery"),
])
def test_a_reward_of_the_wrong_type_is_refused_naming_the_field(client, bearer, team, body, field):
    founder, project = team
    campaign = CampaignFactory(project=project, status="draft")
    response = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", headers=bearer(founder),
                           json={"title": "Gold", "amount": 100_00} | body)
    assert fields(response) == {field}
    assert count(Reward) == 0


def test_variants_may_be_one_comma_separated_text(client, bearer, team):
    founder, project = team
    campaign = CampaignFactory(project=project, status="draft")
    response = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", headers=bearer(founder),
                           json={"title": "Gold", "amount": 100_00, "variants": "white, graphite"})
    assert response.status_code == 201 and response.json["variants"] == ["white", "graphite"]


@pytest.mark.parametrize(("body", "field"), [
    ({"goal": {"amount": 1000_00, "currency": "ZZZ"}}, "currency"),  # named as the API always has
    ({"goal": {"amount": TOO_BIG, "currency": "CNY"}}, "goal.amount"),
    ({"goal": {"amount": "1000", "currency": "CNY"}}, "goal.amount"),
    ({"goal": 1000_00}, "goal"),
    ({"deadline": "next week"}, "deadline"),
    ({"deadline": "2030-01-01T00:00:00"}, "deadline"),  # no time zone
    ({"funding_model": "flexible"}, "funding_model"),
    ({"project_id": "1"}, "project_id"),
])
def test_a_campaign_of_the_wrong_type_is_refused_naming_the_field(client, bearer, team, body, field):
    founder, project = team
    good = {"project_id": project.id, "title": "Kettle", "goal": {"amount": 1000_00, "currency": "CNY"},
            "deadline": iso(utcnow() + timedelta(days=30))}
    response = client.post("/api/v1/campaigns", headers=bearer(founder), json=good | body)
    assert fields(response) == {field}
    assert count(Campaign) == 0


def test_other_bodies_are_typed(client, bearer, team, factories, admin):
    founder, project = team
    campaign = CampaignFactory(project=project)
    headers = bearer(founder)
    base = f"/api/v1/campaigns/{campaign.id}"
    assert fields(client.post(f"{base}/updates", headers=headers,
                              json={"title": "T", "body": "B", "backers_only": "yes"})) == {"backers_only"}
    assert fields(client.post(f"{base}/comments", headers=headers, json={"body": 5})) == {"body"}
    assert fields(client.post(f"{base}/comments", headers=headers, json={"body": "Hi", "parent_id": 999_999})
                  ) == {"parent_id"}
    assert fields(client.post(f"{base}/stretch-goals", headers=headers,
                              json={"title": "T", "amount": TOO_BIG})) == {"amount"}
    assert fields(client.post(f"{base}/match-funds", headers=headers, json={"organisation_id": 1, "cap": "5"})
                  ) == {"cap"}
    pledge = PledgeFactory(campaign=campaign, status="collected", payment_ref="pi_1")
    refund = f"/api/v1/pledges/{pledge.id}/refund"
    assert fields(client.post(refund, headers=bearer(admin), json={"amount": "10"})) == {"amount"}
    assert fields(client.post(refund, headers=bearer(admin), json={"amount": TOO_BIG})) == {"amount"}
    backer = bearer(pledge.backer)
    assert fields(client.post(f"/api/v1/pledges/{pledge.id}/payment-method", headers=backer,
                              json={"payment_method": 4242})) == {"payment_method"}
    assert fields(client.post(f"/api/v1/pledges/{pledge.id}/survey", headers=backer,
                              json={"name": "A", "address": ["B"], "country": "CN"})) == {"address"}
    assert fields(client.patch(f"/api/v1/pledges/{pledge.id}", headers=backer, json={"amount": 1.5})) == {"amount"}
    assert fields(client.get("/api/v1/campaigns?status=bogus")) == {"status"}
    assert fields(client.get("/api/v1/campaigns?project_id=abc")) == {"project_id"}


def test_financing_bodies_are_typed(client, bearer, team, factories):
    founder, project = team
    reviewer = factories.UserFactory(roles=[Role.COMPANY])
    fund = factories.OrganisationFactory(kind="company", owner=reviewer)
    body = {"project_id": project.id, "amount": {"amount": 500_000_00, "currency": "CNY"},
            "use_of_funds": "Tooling", "terms": "10%", "organisation_id": fund.id}
    url = "/api/v1/financing-applications"
    assert fields(client.post(url, headers=bearer(founder), json=body | {"amount": {"amount": 1, "currency": "ZZZ"}})
                  ) == {"currency"}
    assert fields(client.post(url, headers=bearer(founder), json=body | {"amount": 5})) == {"amount"}
    assert fields(client.post(url, headers=bearer(founder), json=body | {"terms": ""})) == {"terms"}
    created = client.post(url, headers=bearer(founder), json=body)
    assert created.status_code == 201
    reviews = f"{url}/{created.json['id']}/reviews"
    good = {"scores": {"team": 5, "market": 4, "terms": 3}, "recommendation": "yes"}
    assert fields(client.post(reviews, headers=bearer(reviewer), json=good | {"scores": [5, 4, 3]})) == {"scores"}
    assert fields(client.post(reviews, headers=bearer(reviewer), json=good | {
        "scores": {"team": 5, "market": 4, "terms": 3, "luck": 5}})) == {"scores.luck"}
    assert fields(client.post(reviews, headers=bearer(reviewer), json=good | {
        "scores": {"team": "5", "market": 4, "terms": 3}})) == {"scores.team"}
    assert fields(client.post(reviews, headers=bearer(reviewer), json=good | {"recommendation": "perhaps"})
                  ) == {"recommendation"}
    assert fields(client.post(reviews, headers=bearer(reviewer), json=good | {"comment": 3})) == {"comment"}
    decision = f"{url}/{created.json['id']}/decision"
    assert fields(client.post(decision, headers=bearer(reviewer), json={"decision": "maybe", "note": "x"})
                  ) == {"decision"}


# ---- responses match their models -------------------------------------------------------------------

def test_every_campaign_and_pledge_response_matches_its_model(client, bearer, team, factories, admin, provider):
    founder, project = team
    headers = bearer(founder)
    created = client.post("/api/v1/campaigns", headers=headers, json={
        "project_id": project.id, "title": "Kettle", "goal": {"amount": 1000_00, "currency": "usd"},
        "deadline": iso(utcnow() + timedelta(days=30))})
    assert created.status_code == 201 and created.json["goal"]["currency"] == "USD"
    check(CampaignOut, created.json)
    base = f"/api/v1/campaigns/{created.json['id']}"
    reward = client.post(f"{base}/rewards", headers=headers, json={"title": "Gold", "amount": 100_00})
    check(RewardOut, reward.json)
    shipped = client.post(f"{base}/rewards", headers=headers, json={
        "title": "Boxed", "amount": 200_00, "quantity": 5, "estimated_delivery": "2027-05-01",
        "shipping_fees": {"cn": 0}, "variants": ["red"]})
    assert check(RewardOut, shipped.json)["shipping_fees"] == {"CN": 0}
    check(StretchGoalOut, client.post(f"{base}/stretch-goals", headers=headers,
                                      json={"title": "More", "amount": 2000_00}).json)
    check(CampaignOut, client.post(f"{base}/submit", headers=headers).json)
    check(CampaignOut, client.post(f"{base}/approve", headers=bearer(admin)).json)
    company_owner = factories.UserFactory(roles=[Role.COMPANY])
    company = factories.OrganisationFactory(kind="company", owner=company_owner)
    match = client.post(f"{base}/match-funds", headers=bearer(company_owner),
                        json={"organisation_id": company.id, "cap": 300_00})
    assert match.status_code == 201, match.json
    check(MatchFundOut, match.json)
    detail = check(CampaignOut, client.get(base).json)
    assert detail["rewards"] and detail["stretch_goals"] and detail["match_funds"]
    listed = client.get("/api/v1/campaigns?status=live").json
    Page[CampaignOut].model_validate(listed)
    for item in listed["items"]:
        check(CampaignOut, item)

    backer = factories.UserFactory(roles=[Role.BACKER])
    mine = bearer(backer)
    check(SetupIntentOut, client.post(f"{base}/setup-intents", headers=mine).json)
    pledge = client.post(f"{base}/pledges", headers=mine, json={
        "amount": 250_00, "reward_id": shipped.json["id"], "payment_method": CARD, "shipping_region": "cn",
        "currency": "usd"})
    assert pledge.status_code == 201, pledge.json
    check(PledgeOut, pledge.json)
    url = f"/api/v1/pledges/{pledge.json['id']}"
    check(PledgeOut, client.get(url, headers=mine).json)
    check(PledgeOut, client.patch(url, headers=mine, json={"amount": 300_00}).json)
    check(PledgeOut, client.post(f"{url}/payment-method", headers=mine, json={"payment_method": CARD}).json)
    for item in client.get("/api/v1/pledges", headers=mine).json["items"]:
        check(PledgeOut, item)
    check(PledgeOut, client.post(f"{url}/cancel", headers=mine).json)

    update = client.post(f"{base}/updates", headers=headers, json={"title": "News", "body": "Moulds ready."})
    check(UpdateOut, update.json)
    for item in client.get(f"{base}/updates").json["items"]:
        check(UpdateOut, item)
    comment = client.post(f"{base}/comments", headers=mine, json={"body": "When?", "is_question": True})
    check(CampaignCommentOut, comment.json)
    check(CampaignCommentOut, client.post(f"{base}/comments", headers=headers, json={
        "body": "Soon.", "parent_id": comment.json["id"]}).json)
    for item in client.get(f"{base}/comments").json["items"]:
        check(CampaignCommentOut, item)


def test_ledger_refund_and_survey_responses_match_their_models(client, bearer, admin, factories, provider):
    from funding import settlement

    campaign = CampaignFactory(goal_amount=100_00, deadline=utcnow() - timedelta(minutes=1))
    reward = RewardFactory(campaign=campaign, amount=100_00, variants=["white"])
    pledge = PledgeFactory(campaign=campaign, amount=300_00, reward=reward)
    settlement.settle()
    db.session.expire_all()
    ledger = client.get(f"/api/v1/campaigns/{campaign.id}/ledger").json
    check(LedgerOut, ledger)
    assert ledger["items"]
    refunded = client.post(f"/api/v1/pledges/{pledge.id}/refund", headers=bearer(admin), json={"amount": 50_00})
    assert refunded.status_code == 200, refunded.json
    assert check(PledgeOut, refunded.json)["refunded"] == 50_00
    survey = client.post(f"/api/v1/pledges/{pledge.id}/survey", headers=bearer(pledge.backer), json={
        "name": "Liu Yang", "address": "1 Road", "country": "CN", "variant": "white"})
    assert survey.status_code == 200, survey.json
    assert check(PledgeOut, survey.json)["survey"]["variant"] == "white"


def test_financing_responses_match_their_models(client, bearer, team, factories):
    founder, project = team
    reviewer = factories.UserFactory(roles=[Role.COMPANY])
    fund = factories.OrganisationFactory(kind="company", owner=reviewer)
    url = "/api/v1/financing-applications"
    created = client.post(url, headers=bearer(founder), json={
        "project_id": project.id, "amount": {"amount": 500_000_00, "currency": "CNY"}, "use_of_funds": "Tooling",
        "terms": "10%", "organisation_id": fund.id})
    check(FinancingOut, created.json)
    platform = client.post(url, headers=bearer(founder), json={
        "project_id": project.id, "amount": {"amount": 100_00}, "use_of_funds": "Tooling", "terms": "10%"})
    assert check(FinancingOut, platform.json)["organisation"] is None
    one = f"{url}/{created.json['id']}"
    review = client.post(f"{one}/reviews", headers=bearer(reviewer), json={
        "scores": {"team": 5, "market": 4, "terms": 3}, "recommendation": "yes"})
    check(ReviewCreatedOut, review.json)
    staff_view = check(FinancingOut, client.get(one, headers=bearer(reviewer)).json)
    assert staff_view["reviews"] and staff_view["average_score"] == 4.2
    decided = client.post(f"{one}/decision", headers=bearer(reviewer), json={"decision": "approved", "note": "Go"})
    check(FinancingOut, decided.json)
    for headers in (bearer(founder), bearer(reviewer)):
        for item in client.get(url, headers=headers).json["items"]:
            check(FinancingOut, item)


# ---- the HTML pages build the same commands ---------------------------------------------------------

def test_html_forms_build_the_same_commands(client, login, team, factories):
    founder, project = team
    login(founder)
    deadline = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    no_goal = client.post("/campaigns/new", data={"project_id": project.id, "title": "Kettle", "goal-amount": 0,
                                                  "goal-currency": "CNY", "deadline": deadline})
    assert no_goal.status_code == 400 and "At least CN¥0.01." in no_goal.get_data(as_text=True)  # next to the goal
    bad_currency = client.post("/campaigns/new", data={"project_id": project.id, "title": "Kettle",
                                                       "goal-amount": 100, "goal-currency": "ZZZ",
                                                       "deadline": deadline})
    assert bad_currency.status_code == 400 and "ISO 4217" in bad_currency.get_data(as_text=True)
    assert count(Campaign) == 0
    created = client.post("/campaigns/new", data={"project_id": project.id, "title": "Kettle", "goal-amount": 100,
                                                  "goal-currency": "usd", "deadline": deadline})
    assert created.status_code == 302
    assert db.session.scalar(select(Campaign)).currency == "USD"
    manage = created.headers["Location"]
    reward = client.post(manage, data={"action": "reward", "reward-title": "Kettle", "reward-amount": "10.00",
                                       "reward-variants": "red, blue", "reward-estimated_delivery": "2027-05-01"})
    assert reward.status_code == 302
    stored = db.session.scalar(select(Reward))
    assert stored.variants == ["red", "blue"] and stored.estimated_delivery.isoformat() == "2027-05-01"
    assert stored.amount == 1000  # $10.00 in cents: the page takes major units


def test_a_signed_webhook_event_of_the_wrong_shape_is_acknowledged_and_ignored(client, app):
    from tests.funding.test_webhooks import SECRET, send

    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    try:
        malformed = send(client, {"id": "evt_1", "type": "payment_intent.succeeded", "data": [1, 2]})
        assert malformed.status_code == 200 and malformed.json["outcome"] == "ignored: malformed"
        numbered = send(client, {"id": 42, "type": "customer.created", "data": {"object": None}})
        assert numbered.status_code == 200 and numbered.json["outcome"] == "ignored"
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = None
