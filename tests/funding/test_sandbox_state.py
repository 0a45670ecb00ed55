"""The sandbox provider keeps its state in the database, so any process or host continues any flow: two
app instances on one database stand for two hosts behind a load balancer.

Each uses the provider `get_provider()` builds (no test provider installed), on a scratch database that
commits for real.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
import stripe
from flask_migrate import upgrade
from sqlalchemy import func, select

from funding import settlement
from funding.models import (
    AttemptStatus,
    LedgerEntry,
    LedgerKind,
    PaymentAttempt,
    Pledge,
    PledgeStatus,
    SandboxObject,
)
from funding.payments import (
    ChargeStatus,
    DatabaseSandboxStore,
    SandboxProvider,
    estimated_card_fee,
    get_provider,
)
from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url

SECRET = "whsec_two_hosts"


@pytest.fixture
def hosts(tmp_path):
    url = scratch_database_url("sandbox", tmp_path)
    first = make_test_app(url, STRIPE_WEBHOOK_SECRET=SECRET)
    second = make_test_app(url, STRIPE_WEBHOOK_SECRET=SECRET)
    with first.app_context():
        upgrade()
        db.session.remove()
    try:
        yield first, second
    finally:
        for app in (first, second):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop_scratch_database(url)


def bearer(user) -> dict[str, str]:
    from portal.auth.services import create_api_token

    return {"Authorization": f"Bearer {create_api_token(user, 'tests')[1]}"}


def test_three_d_secure_started_on_one_host_is_confirmed_on_the_other_with_its_fee(hosts):
    from tests import factories
    from tests.funding.factories import CampaignFactory

    one, other = hosts
    with one.app_context():
        assert isinstance(get_provider(), SandboxProvider)
        assert isinstance(get_provider().store, DatabaseSandboxStore)
        campaign = CampaignFactory(goal_amount=100_00, deadline=utcnow() + timedelta(days=3))
        backer = factories.UserFactory(roles=[Role.BACKER])
        headers = bearer(backer)
        campaign_id = campaign.id
        commit()
        placed = one.test_client().post(f"/api/v1/campaigns/{campaign_id}/pledges", headers=headers, json={
            "amount": 250_00, "payment_method": "4000002500003155"})  # needs 3-D Secure when charged
        assert placed.status_code == 201, placed.get_json()
        pledge_id = placed.get_json()["id"]
        settlement.settle(campaign_id)  # the deadline run, on the first host
        assert db.session.get(Pledge, pledge_id).status == PledgeStatus.NEEDS_AUTHENTICATION
        db.session.remove()

    # The backer comes back through the balancer and lands on the other host.
    with other.app_context():
        confirmed = other.test_client().post(f"/api/v1/pledges/{pledge_id}/authenticate", headers=headers)
        assert confirmed.status_code == 200, confirmed.get_json()
        assert confirmed.get_json()["status"] == PledgeStatus.COLLECTED
        attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge_id))
        fee = estimated_card_fee(250_00)
        assert attempt.status == AttemptStatus.SUCCEEDED and attempt.fee == fee
        fees = db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.campaign_id == campaign_id,
                                                                   LedgerEntry.kind == LedgerKind.STRIPE_FEE)).all()
        assert fees == [-fee]  # the processing fee is in the campaign's ledger
        # One PaymentIntent for the pledge, confirmed (not a second charge).
        assert db.session.scalar(select(func.count()).select_from(SandboxObject)
                                 .where(SandboxObject.kind == "payment_intent")) == 1
        db.session.remove()


def test_an_idempotency_key_holds_across_hosts(hosts):
    answers = []
    barrier = threading.Barrier(2)

    def charge(app, amount):
        with app.app_context():
            barrier.wait(timeout=10)
            answers.append(get_provider().charge(
                amount=amount, currency="CNY", customer_ref="cus_sandbox_x", payment_method_ref="pm_sandbox_visa",
                idempotency_key="pledge-7-attempt-1", metadata={"pledge_id": "7"}))
            db.session.remove()

    threads = [threading.Thread(target=charge, args=(app, 500_00)) for app in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 2
    assert answers[0].payment_ref == answers[1].payment_ref and answers[0].status == ChargeStatus.SUCCEEDED
    with hosts[1].app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxObject)) == 1
        # A retry later, from either host, is answered with the same PaymentIntent.
        again = get_provider().charge(amount=500_00, currency="CNY", customer_ref="cus_sandbox_x",
                                      payment_method_ref="pm_sandbox_visa", idempotency_key="pledge-7-attempt-1",
                                      metadata={"pledge_id": "7"})
        assert again.payment_ref == answers[0].payment_ref
        assert list(get_provider().payment_intents) == ["pledge-7-attempt-1"]
        db.session.remove()


def test_a_sandbox_webhook_on_another_host_re_fetches_the_payment(hosts):
    """The host that charged died before recording; the event reaches the other host, which re-fetches the
    PaymentIntent from the sandbox (the payload says "processing": the recorded outcome comes from the
    re-fetch) and records the charge with its fee."""
    from tests.funding.factories import CampaignFactory, PledgeFactory

    one, other = hosts
    with one.app_context():
        campaign = CampaignFactory(goal_amount=300_00, deadline=utcnow() - timedelta(minutes=1))
        pledge = PledgeFactory(campaign=campaign, amount=300_00)
        pledge_id = pledge.id
        commit()

        def crash(pledge_id):
            raise RuntimeError("killed")

        settlement.AFTER_PROVIDER_CALL = crash
        try:
            with pytest.raises(RuntimeError):
                settlement.settle()
        finally:
            settlement.AFTER_PROVIDER_CALL = None
        db.session.rollback()
        (intent,) = get_provider().payment_intents.values()
        db.session.remove()

    with other.app_context():
        obj = {"id": intent.id, "object": "payment_intent", "status": "processing", "amount": intent.amount,
               "metadata": intent.metadata}
        payload = json.dumps({"id": "evt_two_hosts", "object": "event", "type": "payment_intent.succeeded",
                              "data": {"object": obj}})
        header = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=int(time.time()))
        response = other.test_client().post("/funding/stripe/webhook", data=payload, headers={
            "Stripe-Signature": header, "Content-Type": "application/json"})
        assert response.status_code == 200 and "collected" in response.get_json()["outcome"], response.get_json()
        attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge_id))
        assert attempt.status == AttemptStatus.SUCCEEDED and attempt.fee == estimated_card_fee(300_00)
        assert attempt.payment_ref == intent.id
        db.session.remove()


def test_setup_intents_and_refunds_are_shared(hosts):
    one, other = hosts
    with one.app_context():
        created = get_provider().create_setup_intent("cus_sandbox_y")
        get_provider().confirm_setup_intent(created.id, "4242 4242 4242 4242")
        charged = get_provider().charge(amount=100_00, currency="CNY", customer_ref="cus_sandbox_y",
                                        payment_method_ref="pm_sandbox_visa", idempotency_key="k-refund",
                                        metadata={})
    with other.app_context():
        seen = get_provider().retrieve_setup_intent(created.id)
        assert (seen.status, seen.payment_method_ref, seen.customer_ref) == (
            "succeeded", "pm_sandbox_visa", "cus_sandbox_y")
        for _ in range(2):  # the same refund key twice: one refund
            get_provider().refund(payment_ref=charged.payment_ref, amount=40_00, idempotency_key="r-1")
    with one.app_context():
        intent = get_provider().store.find_intent(charged.payment_ref)
        assert intent.refunded == 40_00 and len(intent.refunds) == 1
