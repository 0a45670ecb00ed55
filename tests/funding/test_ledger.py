"""Ledger, refunds by admins, the public transparency page, CSV exports, surveys and matchfunding."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from funding import ledger, services, settlement
from funding.models import LedgerEntry, LedgerKind, Pledge, PledgeStatus
from funding.schemas import SurveyAnswers
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
from tests.incubation.factories import ProjectFactory


@pytest.fixture
def settled(factories, provider):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    campaign = CampaignFactory(project=ProjectFactory(organisation=startup), goal_amount=1000_00,
                               deadline=utcnow() - timedelta(minutes=1), title="Ledger campaign")
    reward = RewardFactory(campaign=campaign, amount=400_00, variants=["white", "graphite"])
    good = PledgeFactory(campaign=campaign, amount=800_00, reward=reward)
    other = PledgeFactory(campaign=campaign, amount=400_00, reward=reward)
    bad = PledgeFactory(campaign=campaign, amount=200_00, payment_method_ref="pm_sandbox_charge_declined")
    settlement.settle()
    db.session.expire_all()
    return founder, campaign, good, other, bad


def test_admin_refunds_in_part_and_in_full(client, bearer, admin, settled, provider, factories):
    founder, campaign, good, other, _bad = settled
    url = f"/api/v1/pledges/{good.id}/refund"
    assert client.post(url, headers=bearer(good.backer), json={"amount": 100_00}).status_code == 403
    # refunds belong to admins and to the campaign's own team (tests/funding/test_self_dealing.py), nobody else
    assert client.post(url, headers=bearer(factories.UserFactory()), json={"amount": 100_00}).status_code == 403
    too_much = client.post(url, headers=bearer(admin), json={"amount": 900_00})
    assert too_much.status_code == 400 and "amount" in too_much.json["error"]["fields"]
    assert client.post(url, headers=bearer(admin), json={"amount": 10.5}).status_code == 400

    partial = client.post(url, headers=bearer(admin), json={"amount": 300_00})
    assert partial.status_code == 200, partial.json
    assert partial.json["status"] == "collected" and partial.json["refunded"] == 300_00
    full = client.post(url, headers=bearer(admin), json={})
    assert full.status_code == 200 and full.json["status"] == "refunded" and full.json["refunded"] == 800_00
    assert client.post(url, headers=bearer(admin), json={}).status_code == 409
    intent = next(pi for pi in provider.payment_intents.values() if pi.metadata["pledge_id"] == str(good.id))
    assert intent.refunded == 800_00 and len(intent.refunds) == 2

    body = client.get(f"/api/v1/campaigns/{campaign.id}/ledger").json
    assert body["pledged"]["amount"] == 1400_00
    assert body["collected"]["amount"] == 1200_00
    assert body["refunded"]["amount"] == 800_00
    fees = body["fees"]["amount"]
    assert body["net"]["amount"] == 1200_00 - 800_00 - fees
    kinds = [e["kind"] for e in body["items"]]
    assert kinds.count("refund") == 2 and kinds.count("collected") == 2


def test_ledger_is_append_only(db_session, settled):
    _founder, campaign, *_ = settled
    entry = db.session.query(LedgerEntry).filter_by(campaign_id=campaign.id).first()
    with pytest.raises(Exception, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE ledger_entry SET amount = 1 WHERE id = :id"), {"id": entry.id})
    with pytest.raises(Exception, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text("DELETE FROM ledger_entry WHERE id = :id"), {"id": entry.id})


def test_transparency_page_and_exports(client, login, settled, factories):
    founder, campaign, good, _other, bad = settled
    page = client.get(f"/campaigns/{campaign.id}/ledger")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for label in ("Pledged (gross)", "Collected", "Dropped", "Refunded", "Fees", "Net"):
        assert label in html
    match = re.search(r"data-chart='([^']+)'", html)
    chart = json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    assert chart["type"] == "bar" and chart["data"]["datasets"][0]["data"][1] == 1200.0
    assert "chart.umd.min.js" in html and "Download the ledger" not in html

    csv_anonymous = client.get(f"/campaigns/{campaign.id}/ledger.csv")
    assert csv_anonymous.status_code == 302 and "/auth/login" in csv_anonymous.headers["Location"]
    login(good.backer)
    client.post(f"/pledges/{good.id}", data={"action": "survey", "survey-name": "Liu Yang",
                                            "survey-address": "=HYPERLINK(\"x\") 1 Road", "survey-country": "CN",
                                            "survey-variant": "graphite"})
    assert db.session.get(Pledge, good.id).survey_answers["variant"] == "graphite"
    assert client.get(f"/campaigns/{campaign.id}/backers.csv").status_code == 403
    client.post("/auth/logout")

    login(founder)
    ledger_rows = list(csv.DictReader(io.StringIO(
        client.get(f"/campaigns/{campaign.id}/ledger.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert {row["kind"] for row in ledger_rows} >= {"pledged", "collected", "stripe_fee", "platform_fee"}
    backers = client.get(f"/campaigns/{campaign.id}/backers.csv")
    assert backers.headers["Content-Type"].startswith("text/csv")
    rows = {int(r["pledge_id"]): r for r in csv.DictReader(io.StringIO(backers.get_data(as_text=True).lstrip("\ufeff")))}
    assert rows[good.id]["survey_variant"] == "graphite" and rows[good.id]["survey_name"] == "Liu Yang"
    assert rows[good.id]["survey_address"].startswith("'=")  # spreadsheet formulas neutralised
    assert rows[bad.id]["status"] == PledgeStatus.ERRORED


def test_survey_rules(db_session, settled):
    _founder, campaign, good, _other, bad = settled
    with pytest.raises(Exception) as wrong_variant:
        services.answer_survey(good, SurveyAnswers(name="A", address="B", country="CN", variant="pink"))
    assert "variant" in wrong_variant.value.fields
    with pytest.raises(Exception) as not_collected:
        services.answer_survey(bad, SurveyAnswers(name="A", address="B", country="CN"))
    assert getattr(not_collected.value, "status", None) == 409


def test_matchfunding_is_written_to_the_ledger(client, bearer, factories, provider):
    company_owner = factories.UserFactory(roles=[Role.COMPANY])
    company = factories.OrganisationFactory(kind="company", owner=company_owner)
    campaign = CampaignFactory(goal_amount=500_00)
    PledgeFactory(campaign=campaign, amount=700_00)
    stranger = factories.UserFactory(roles=[Role.COMPANY])
    url = f"/api/v1/campaigns/{campaign.id}/match-funds"
    assert client.post(url, headers=bearer(stranger), json={"organisation_id": company.id, "cap": 500_00}
                       ).status_code == 403
    created = client.post(url, headers=bearer(company_owner), json={"organisation_id": company.id, "cap": 500_00})
    assert created.status_code == 201
    settlement.settle(campaign.id)
    figures = ledger.totals(campaign)
    assert figures["matchfunding"] == 500_00  # 1:1 on 700.00 collected, capped at 500.00
    assert figures["net"] == 700_00 + 500_00 - figures["fees"]
    assert figures["payout_due"] == figures["net"]
    entries = [e for e in ledger.entries(campaign) if e.kind == LedgerKind.MATCHFUNDING]
    assert len(entries) == 1
