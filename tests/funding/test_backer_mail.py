"""Mail to backers goes out in the backer's language, and a card that could not be saved
(setup_intent.setup_failed) is forgotten and the backer is asked for another one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from funding import settlement
from funding.models import Pledge, PledgeStatus
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.conftest import link_in
from tests.funding.factories import CampaignFactory, PledgeFactory
from tests.funding.test_webhooks import SECRET, event, send

VISA, DECLINED, THREE_DS = "pm_sandbox_visa", "pm_sandbox_charge_declined", "pm_sandbox_authentication_required"


@pytest.fixture
def webhook_secret(app):
    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    yield SECRET
    app.config["STRIPE_WEBHOOK_SECRET"] = None




def zh_backer(factories):
    return factories.UserFactory(roles=[Role.BACKER], locale="zh_CN")


def test_settlement_mails_are_in_each_backers_language(db_session, factories, provider, mail_outbox, mail_locales):
    campaign = CampaignFactory(goal_amount=1000_00, deadline=utcnow() - timedelta(minutes=5), title="Kettle")
    zh_ok = PledgeFactory(campaign=campaign, amount=600_00, backer=zh_backer(factories))
    zh_declined = PledgeFactory(campaign=campaign, amount=300_00, backer=zh_backer(factories),
                                payment_method_ref=DECLINED)
    zh_auth = PledgeFactory(campaign=campaign, amount=200_00, backer=zh_backer(factories),
                            payment_method_ref=THREE_DS)
    en_ok = PledgeFactory(campaign=campaign, amount=100_00)
    settlement.settle()

    subjects = {m["To"]: m["Subject"] for m in mail_outbox}
    assert subjects[zh_ok.backer.email] == "您对 Kettle 的支持已扣款"
    assert "collected" in subjects[en_ok.backer.email]
    locales = dict(mail_locales)
    assert {locales[p.backer.email] for p in (zh_ok, zh_declined, zh_auth)} == {"zh"}
    assert locales[en_ok.backer.email] == "en"

    # ...also for the reminders, the final retry and the drop, run by the periodic job days later.
    mail_locales.clear()
    for days in (2, 4, 8, 8):
        settlement.settle(now=utcnow() + timedelta(days=days, minutes=1))
    db.session.expire_all()
    assert db.session.get(Pledge, zh_declined.id).status == PledgeStatus.DROPPED
    assert mail_locales and {locale for to, locale in mail_locales} == {"zh"}


def test_goal_missed_mail_is_in_the_backers_language(db_session, factories, provider, mail_outbox, mail_locales):
    campaign = CampaignFactory(goal_amount=1000_00, deadline=utcnow() - timedelta(minutes=5), title="Lamp")
    pledge = PledgeFactory(campaign=campaign, amount=100_00, backer=zh_backer(factories))
    settlement.settle()
    assert [m["Subject"] for m in mail_outbox] == ["Lamp 未达成目标"]
    assert mail_locales == [(pledge.backer.email, "zh")]


def test_setup_failed_forgets_the_card_and_asks_the_backer_for_another(client, login, webhook_secret, factories,
                                                                       provider, mail_outbox, mail_locales):
    backer = zh_backer(factories)
    pledge = PledgeFactory(backer=backer, setup_intent_ref="seti_failing", amount=500_00)
    failed = {"id": "seti_failing", "object": "setup_intent", "status": "requires_payment_method",
              "last_setup_error": {"code": "card_declined", "message": "Your card was declined."}}
    response = send(client, event("evt_setup_failed", "setup_intent.setup_failed", failed))
    assert response.status_code == 200 and response.json["outcome"] == f"pledge {pledge.id} card failed"
    assert send(client, event("evt_setup_failed", "setup_intent.setup_failed", failed)).json["outcome"] == "duplicate"

    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.payment_method_ref is None and pledge.card_label == ""
    assert pledge.status == PledgeStatus.ACTIVE
    assert len(mail_outbox) == 1 and mail_outbox[0]["To"] == backer.email
    assert mail_locales == [(backer.email, "zh")]
    link = link_in(mail_outbox[0], f"/pledges/{pledge.id}")

    login(backer)
    client.post("/language", data={"locale": "en"})
    page = client.get(link).get_data(as_text=True)
    assert 'data-testid="needs-card"' in page and "No working card" in page
    saved = client.post(f"/pledges/{pledge.id}", data={"action": "card", "card-payment_method": "4242424242424242"})
    assert saved.status_code == 302
    assert 'data-testid="needs-card"' not in client.get(link).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).payment_method_ref == VISA


def test_setup_failed_for_a_pledge_that_needs_no_card_any_more_changes_nothing(client, webhook_secret, provider,
                                                                               mail_outbox):
    pledge = PledgeFactory(setup_intent_ref="seti_old", status=PledgeStatus.CANCELLED)
    response = send(client, event("evt_old", "setup_intent.setup_failed", {"id": "seti_old"}))
    assert response.status_code == 200 and "no longer needed" in response.json["outcome"]
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).payment_method_ref == VISA
    assert mail_outbox == []


@pytest.mark.parametrize(("locale", "mark"), [("en", "(sandbox)"), ("zh_CN", "（沙盒）")])
def test_the_receipt_names_the_sandbox_card_in_the_backers_language(client, login, factories, app, locale, mark):
    from funding.payments import SandboxProvider

    app.extensions["funding_provider"] = SandboxProvider()
    try:
        backer = login(factories.UserFactory(roles=[Role.BACKER], locale=locale))
        campaign = CampaignFactory(deadline=utcnow() + timedelta(days=5))
        app.extensions["mail_outbox"] = []
        response = client.post(f"/campaigns/{campaign.id}/pledge",
                               data={"amount": "100.00", "payment_method": "4242424242424242"})
        assert response.status_code == 302
        [receipt] = [m for m in app.extensions["mail_outbox"] if m["To"] == backer.email]
        body = receipt.get_content()
        assert "4242" in body and mark in body
        if locale != "en":
            assert "(sandbox)" not in body
    finally:
        app.extensions.pop("funding_provider", None)
