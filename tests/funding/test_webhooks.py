"""Stripe webhooks: signatures on the raw body, dedupe by event id, refunds from the dashboard, disputes."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from funding import ledger, settlement
from funding.models import AttemptStatus, PaymentAttempt, Pledge, PledgeStatus, WebhookEvent
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory

SECRET = "whsec_test_secret_for_the_portal"
URL = "/funding/stripe/webhook"


@pytest.fixture
def webhook_secret(app):
    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    yield SECRET
    app.config["STRIPE_WEBHOOK_SECRET"] = None


def send(client, event: dict, secret: str = SECRET, timestamp: int | None = None, csrf_token: bool = False):
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp or int(time.time()))
    return client.post(URL, data=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"})


def event(event_id: str, event_type: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}


def collected_pledge(provider, amount: int = 1000_00) -> Pledge:
    campaign = CampaignFactory(goal_amount=amount, deadline=utcnow() - timedelta(minutes=1))
    pledge = PledgeFactory(campaign=campaign, amount=amount)
    settlement.settle()
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.status == PledgeStatus.COLLECTED
    return pledge


def test_signatures_are_checked_on_the_raw_body(client, webhook_secret, csrf_enabled):
    ok = send(client, event("evt_unknown_1", "customer.created", {"id": "cus_1"}))
    assert ok.status_code == 200 and ok.json["outcome"] == "ignored"  # unknown types: 200, CSRF-exempt

    forged = send(client, event("evt_forged", "charge.refunded", {"id": "ch_1"}), secret="whsec_someone_else")
    assert forged.status_code == 400
    stale = send(client, event("evt_stale", "charge.refunded", {"id": "ch_1"}), timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    payload = json.dumps(event("evt_tampered", "charge.refunded", {"id": "ch_1"}))
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=int(time.time()))
    tampered = client.post(URL, data=payload.replace("ch_1", "ch_2"), headers={"Stripe-Signature": header})
    assert tampered.status_code == 400
    assert client.post(URL, data=payload).status_code == 400  # no header
    recorded = db.session.scalars(select(WebhookEvent.event_id)).all()
    assert recorded == ["evt_unknown_1"]


def test_webhooks_are_refused_without_a_configured_secret(client):
    payload = json.dumps(event("evt_x", "charge.refunded", {}))
    header = stripe.WebhookSignature.generate_signature_header(payload, "whsec_any", timestamp=int(time.time()))
    assert client.post(URL, data=payload, headers={"Stripe-Signature": header}).status_code == 400


def test_dashboard_refund_shows_up_once_even_when_delivered_twice(client, webhook_secret, provider):
    pledge = collected_pledge(provider)
    charge = {"id": "ch_123", "object": "charge", "payment_intent": pledge.payment_ref, "amount": 1000_00,
              "amount_refunded": 300_00}
    first = send(client, event("evt_refund_1", "charge.refunded", charge))
    assert first.status_code == 200 and "refunded 30000" in first.json["outcome"]
    again = send(client, event("evt_refund_1", "charge.refunded", charge))
    assert again.json["outcome"] == "duplicate"
    # A later event with the cumulative total: only the difference is new.
    second = send(client, event("evt_refund_2", "charge.refunded", charge | {"amount_refunded": 1000_00}))
    assert second.status_code == 200
    # Out of order: an older event arriving last changes nothing.
    late = send(client, event("evt_refund_0", "charge.refunded", charge | {"amount_refunded": 300_00}))
    assert late.json["outcome"] == "already recorded"
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.refunded_amount == 1000_00 and pledge.status == PledgeStatus.REFUNDED
    figures = ledger.totals(pledge.campaign)
    assert figures["refunded"] == 1000_00
    assert client.get(f"/api/v1/campaigns/{pledge.campaign_id}/ledger").json["refunded"]["amount"] == 1000_00


def test_payment_intent_succeeded_records_a_charge_the_portal_lost(client, webhook_secret, provider):
    """The crash case: the card was charged, the process died before recording; the webhook heals it."""
    campaign = CampaignFactory(goal_amount=500_00, deadline=utcnow() - timedelta(minutes=1))
    pledge = PledgeFactory(campaign=campaign, amount=500_00)

    def crash(pledge_id):
        raise RuntimeError("killed")

    settlement.AFTER_PROVIDER_CALL = crash
    try:
        with pytest.raises(RuntimeError):
            settlement.settle()
    finally:
        settlement.AFTER_PROVIDER_CALL = None
    db.session.rollback()
    attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge.id))
    assert attempt.status == AttemptStatus.PENDING and attempt.payment_ref is None
    intent = next(iter(provider.payment_intents.values()))
    obj = {"id": intent.id, "object": "payment_intent", "status": "succeeded", "amount": intent.amount,
           "metadata": intent.metadata}
    response = send(client, event("evt_pi_1", "payment_intent.succeeded", obj))
    assert response.status_code == 200 and "collected" in response.json["outcome"]
    failed_late = send(client, event("evt_pi_2", "payment_intent.payment_failed", obj | {"status": "requires_payment_method"}))
    assert failed_late.json["outcome"] == "already recorded"
    settlement.settle()  # the rerun finds nothing left to charge
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.COLLECTED
    assert len(provider.payment_intents) == 1
    assert ledger.totals(campaign)["collected"] == 500_00


def test_dispute_and_setup_intent_events(client, webhook_secret, provider):
    pledge = collected_pledge(provider)
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": pledge.payment_ref, "amount": 1000_00,
               "reason": "fraudulent"}
    assert send(client, event("evt_dp_1", "charge.dispute.created", dispute)).status_code == 200
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.DISPUTED
    assert ledger.totals(pledge.campaign)["disputed"] == 1000_00

    waiting = PledgeFactory(payment_method_ref=None, setup_intent_ref="seti_42")
    succeeded = {"id": "seti_42", "object": "setup_intent", "status": "succeeded", "payment_method": "pm_42"}
    assert send(client, event("evt_si", "setup_intent.succeeded", succeeded)).json["outcome"] == "card saved"
    db.session.expire_all()
    assert db.session.get(Pledge, waiting.id).payment_method_ref == "pm_42"
    failed = send(client, event("evt_si_f", "setup_intent.setup_failed", {"id": "seti_42"}))
    assert failed.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 3
