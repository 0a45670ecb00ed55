"""Money in the HTML forms is typed as people write it (major units: "500" is ¥500.00) and shown back the
same way; the JSON API keeps integer minor units (API.md). Issue 12, point 1."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField

from funding.models import Campaign, Pledge, Reward, StretchGoal
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.forms import MoneyField
from portal.money import MoneyInputError, major_text, parse_major
from tests.funding.factories import CampaignFactory, RewardFactory
from tests.incubation.factories import ProjectFactory

CARD = "4242424242424242"




@pytest.fixture
def founder(factories):
    user = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=user)
    return user, ProjectFactory(organisation=startup, mode="crowdfunding")


def new_campaign(client, project, amount, currency="CNY", title="Kettle"):
    deadline = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    return client.post("/campaigns/new", data={"project_id": project.id, "title": title, "goal-amount": amount,
                                               "goal-currency": currency, "deadline": deadline})


def field_html(html: str, name: str) -> str:
    """The <input> of `name` and what follows it up to the next form group (its errors)."""
    start = html.index(f'name="{name}"')
    return html[html.rindex("<input", 0, start):html.index('<div class="mb-3">', start)
                if '<div class="mb-3">' in html[start:] else len(html)]


# ---- the campaign goal ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["500", "500.00", " 500 ", "¥500", "５００．００"])
def test_a_goal_typed_as_500_yuan_is_500_yuan(client, login, founder, typed):
    user, project = founder
    login(user)
    created = new_campaign(client, project, typed)
    assert created.status_code == 302, created.get_data(as_text=True)
    assert db.session.scalar(select(Campaign)).goal_amount == 500_00


def test_grouped_thousands_are_read_as_the_locale_writes_them(client, login, founder):
    user, project = founder
    login(user)
    assert new_campaign(client, project, "1,299.00").status_code == 302
    assert db.session.scalar(select(Campaign)).goal_amount == 1299_00


@pytest.mark.parametrize(("typed", "message"), [
    ("3.999", "CNY takes at most 2 decimals."),
    ("-500", "The amount cannot be negative."),
    ("1e9", "Enter an amount like 1,299.00."),
    ("1,29.00", "Enter an amount like 1,299.00."),
    ("99999999999", "At most CN¥21,474,836.47."),
    ("0", "At least CN¥0.01."),
    ("", "Required."),
])
def test_a_goal_the_currency_cannot_hold_is_the_goal_fields_error(client, login, founder, typed, message):
    user, project = founder
    login(user)
    refused = new_campaign(client, project, typed)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    goal = field_html(html, "goal-amount")
    assert "is-invalid" in goal and message in goal  # next to the goal, which keeps what was typed
    assert f'value="{typed}"' in goal or typed == ""
    assert db.session.scalar(select(Campaign)) is None


def test_the_goal_field_shows_its_currency_and_asks_for_a_decimal_keyboard(client, login, founder):
    user, _project = founder
    login(user)
    html = client.get("/campaigns/new").get_data(as_text=True)
    assert re.search(r'<label[^>]*for="goal-amount"[^>]*>Goal \(CNY\)</label>', html)
    assert 'inputmode="decimal"' in field_html(html, "goal-amount")


def test_a_yen_goal_has_no_decimals(client, login, founder):
    user, project = founder
    login(user)
    assert new_campaign(client, project, "500", currency="JPY").status_code == 302
    assert db.session.scalar(select(Campaign)).goal_amount == 500  # yen have no minor unit
    refused = new_campaign(client, project, "500.5", currency="JPY", title="Half yen")
    assert refused.status_code == 400 and "JPY has no decimals" in refused.get_data(as_text=True)


def test_the_api_keeps_minor_units(client, founder, bearer):
    user, project = founder
    created = client.post("/api/v1/campaigns", headers=bearer(user), json={
        "project_id": project.id, "title": "Kettle", "goal": {"amount": 50000, "currency": "CNY"},
        "deadline": (utcnow() + timedelta(days=20)).isoformat()})
    assert created.status_code == 201, created.json
    assert db.session.get(Campaign, created.json["id"]).goal_amount == 500_00  # ¥500.00
    assert client.post("/api/v1/campaigns", headers=bearer(user), json={
        "project_id": project.id, "title": "Kettle", "goal": {"amount": "500.00", "currency": "CNY"},
        "deadline": (utcnow() + timedelta(days=20)).isoformat()}).status_code == 400


# ---- rewards, stretch goals, shipping fees ----------------------------------------------------------

def test_rewards_stretch_goals_and_shipping_fees_take_yuan(client, login, founder):
    user, project = founder
    campaign = CampaignFactory(project=project, status="draft", goal_amount=1000_00)
    login(user)
    manage = f"/campaigns/{campaign.id}/manage"
    page = client.get(manage).get_data(as_text=True)
    assert "Minimum pledge (CNY)" in page and "Shipping fees by region (CNY)" in page
    reward = client.post(manage, data={"action": "reward", "reward-title": "Early bird", "reward-amount": "399",
                                       "shipping_fees": "CN=0, ASIA=50, WORLD=1,200.00"})
    assert reward.status_code == 302
    tier = db.session.scalar(select(Reward))
    assert tier.amount == 399_00 and tier.shipping_fees == {"CN": 0, "ASIA": 50_00, "WORLD": 1200_00}
    goal = client.post(manage, data={"action": "goal", "goal-amount": "2,000.00", "goal-title": "Colours"})
    assert goal.status_code == 302
    assert db.session.scalar(select(StretchGoal)).amount == 2000_00
    refused = client.post(manage, data={"action": "reward", "reward-title": "Cheap", "reward-amount": "3.999"})
    assert refused.status_code == 400 and "CNY takes at most 2 decimals." in field_html(
        refused.get_data(as_text=True), "reward-amount")
    assert db.session.scalar(select(Reward).where(Reward.title == "Cheap")) is None


# ---- the pledge form -------------------------------------------------------------------------------

def test_choosing_a_reward_fills_the_pledge_amount(client, login, factories):
    campaign = CampaignFactory()
    reward = RewardFactory(campaign=campaign, amount=1299_00)
    login(factories.UserFactory(roles=[Role.BACKER]))
    page = client.get(f"/campaigns/{campaign.id}/pledge").get_data(as_text=True)
    assert 'data-fill-amount="#amount"' in page and f'data-amount="1299.00" value="{reward.id}"' in page
    # without the script (keyboard, links from the campaign page): the reward chosen in the URL fills it
    chosen = client.get(f"/campaigns/{campaign.id}/pledge?reward={reward.id}").get_data(as_text=True)
    assert 'value="1299.00"' in field_html(chosen, "amount")


def test_a_pledge_typed_in_yuan_is_stored_in_fen(client, login, factories, provider):
    campaign = CampaignFactory()
    login(factories.UserFactory(roles=[Role.BACKER]))
    placed = client.post(f"/campaigns/{campaign.id}/pledge", data={"amount": "1,299.5", "payment_method": CARD})
    assert placed.status_code == 302, placed.get_data(as_text=True)
    assert db.session.scalar(select(Pledge)).amount == 1299_50


# ---- resource prices -------------------------------------------------------------------------------

def test_resource_prices_are_typed_and_shown_in_yuan(client, login, factories):
    from tests.resources.factories import ResourceFactory

    owner = factories.UserFactory(roles=["company"])
    company = factories.OrganisationFactory(kind="company", owner=owner)
    resource = ResourceFactory(organisation=company, prices=[("startup", "hour", 120_00)])
    login(owner)
    page = client.get(f"/resources/{resource.id}/prices").get_data(as_text=True)
    assert 'value="120.00"' in page and 'aria-label="Amount (CNY)"' in page  # not 12000 fen
    saved = client.post(f"/resources/{resource.id}/prices", data={
        "prices-0-audience": "startup", "prices-0-unit": "hour", "prices-0-amount": "150",
        "prices-0-currency": "CNY",
        "prices-1-audience": "external", "prices-1-unit": "use", "prices-1-amount": "500", "prices-1-currency": "CNY"})
    assert saved.status_code == 302
    db.session.refresh(resource)
    assert sorted((p.unit, p.amount) for p in resource.prices) == [("hour", 150_00), ("use", 500_00)]
    refused = client.post(f"/resources/{resource.id}/prices", data={
        "prices-0-audience": "startup", "prices-0-unit": "hour", "prices-0-amount": "1.005",
        "prices-0-currency": "CNY"})
    assert refused.status_code == 200 and "CNY takes at most 2 decimals." in refused.get_data(as_text=True)
    db.session.refresh(resource)
    assert len(resource.prices) == 2


# ---- the field and the parser on their own ---------------------------------------------------------

class PriceRow(Form):
    amount = MoneyField("Price", currency_field="currency")
    currency = StringField(default="CNY")


def test_the_field_reads_the_currency_beside_it_and_shows_minor_units_back_as_major(app):
    with app.test_request_context():
        row = PriceRow(MultiDict({"amount": "500", "currency": "JPY"}))
        assert row.validate() and row.data == {"amount": 500, "currency": "JPY"}
        assert str(row.amount.label) == '<label for="amount">Price (JPY)</label>'
        shown = PriceRow(data={"amount": 500_00, "currency": "CNY"})
        assert 'value="500.00"' in shown.amount() and 'inputmode="decimal"' in shown.amount()
        kuwait = PriceRow(MultiDict({"amount": "1.2345", "currency": "KWD"}))
        assert not kuwait.validate() and kuwait.errors == {"amount": ["KWD takes at most 3 decimals."]}


def test_the_parser_follows_the_locale_and_never_uses_floats():
    assert parse_major("0.1", "CNY") + parse_major("0.2", "CNY") == parse_major("0.3", "CNY") == 30
    assert parse_major("1.299,50", "EUR", locale="de") == 1299_50  # German grouping and decimal comma
    assert parse_major("1,299.50", "CNY", locale="zh_Hans_CN") == 1299_50
    assert parse_major("", "CNY") is None
    for bad in ("NaN", "Infinity", "0x10", "1_000", "--5"):
        with pytest.raises(MoneyInputError):
            parse_major(bad, "CNY")
    assert major_text(1299_00, "CNY", locale="en") == "1299.00" and major_text(500, "JPY", locale="en") == "500"
    assert major_text(1299_00, "EUR", locale="de") == "1299,00"


def test_program_credits_are_typed_in_yuan(client, login, factories):
    from incubation.models import Program
    from tests.incubation.test_programs import company_with_staff

    staff, company = company_with_staff()
    login(staff)
    form = {"organisation_id": company.id, "title": "Open lab", "mode": "open_source",
            "opens_at": "2027-09-01T09:00", "closes_at": "2027-10-01T09:00", "capacity": "8",
            "criteria_text": "Market: 1", "credit_currency": "CNY"}
    created = client.post("/programs/new", data={**form, "credit_amount": "2,000.50"})
    assert created.status_code == 302, created.get_data(as_text=True)
    program = db.session.scalar(select(Program).where(Program.title == "Open lab"))
    assert program.credit_amount == 200050
    assert "¥2,000.50" in client.get(f"/programs/{program.id}").get_data(as_text=True)
    refused = client.post("/programs/new", data={**form, "title": "Cents", "credit_amount": "10.005"})
    assert refused.status_code == 200
    assert db.session.scalar(select(Program).where(Program.title == "Cents")) is None
