"""The Stripe adapter against localstripe, started by the tests in-process on 127.0.0.1.

Covers customer and payment method (attach), a successful off-session charge, a decline, a charge
that needs authentication, refunds, and the whole pledge -> settle -> refund flow through the portal.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from funding import ledger, settlement
from funding.models import Pledge, PledgeStatus
from funding.payments import ChargeStatus, StripeProvider
from portal.auth.models import Role
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from tests.funding.factories import CampaignFactory
from tests.services import free_port

localstripe = pytest.importorskip("localstripe.server")

SECRET_KEY = "sk_test_portal_localstripe"


@pytest.fixture(scope="module")
def stripe_url():
    from aiohttp import web
    from localstripe.resources import store

    store.clear()
    store.dump_to_disk = lambda: None  # keep everything in memory (it would write /tmp/localstripe.pickle)
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(localstripe.app)
    ready = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="localstripe", daemon=True)
    thread.start()
    assert ready.wait(10), "localstripe did not start"
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def stripe_provider(stripe_url):
    return StripeProvider(SECRET_KEY, api_base=stripe_url, max_network_retries=0)


def card(provider: StripeProvider, number: str) -> str:
    method = provider.client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    return method.id


def saved(provider: StripeProvider, number: str):
    customer = provider.ensure_customer("backer@example.com", "Backer", None)
    return provider.save_card(customer, card(provider, number))


def charge(provider, saved_card, key: str, amount: int = 1299_00):
    return provider.charge(amount=amount, currency="CNY", customer_ref=saved_card.customer_ref,
                           payment_method_ref=saved_card.payment_method_ref, idempotency_key=key,
                           metadata={"pledge_id": "1", "attempt_id": "1"})


def test_customer_and_payment_method_are_attached(stripe_provider):
    result = saved(stripe_provider, "4242424242424242")
    assert result.customer_ref.startswith("cus_") and result.payment_method_ref.startswith("pm_")
    assert result.label == "Visa •••• 4242"
    method = stripe_provider.client.v1.payment_methods.retrieve(result.payment_method_ref)
    assert method.customer == result.customer_ref
    other = stripe_provider.ensure_customer("someone@example.com", "Someone", None)
    with pytest.raises(ValidationFailed) as taken:
        stripe_provider.save_card(other, result.payment_method_ref)
    assert "payment_method" in taken.value.fields
    with pytest.raises(ValidationFailed):
        stripe_provider.save_card(other, "4242424242424242")  # raw card numbers are not PaymentMethods


def test_off_session_charge_succeeds(stripe_provider):
    result = charge(stripe_provider, saved(stripe_provider, "4242424242424242"), "ok-1")
    assert result.status == ChargeStatus.SUCCEEDED and result.payment_ref.startswith("pi_")
    intent = stripe_provider.client.v1.payment_intents.retrieve(result.payment_ref)
    assert intent.amount == 1299_00 and intent.currency == "cny" and intent.status == "succeeded"
    assert stripe_provider.retrieve_payment(result.payment_ref).status == ChargeStatus.SUCCEEDED


def test_decline_at_charge(stripe_provider):
    saved_card = saved(stripe_provider, "4000000000000341")  # attaches fine, declined when charged
    result = charge(stripe_provider, saved_card, "declined-1")
    assert result.status == ChargeStatus.FAILED and result.error_code == "card_declined"


def test_authentication_required(stripe_provider):
    result = charge(stripe_provider, saved(stripe_provider, "4000002500003155"), "3ds-1")
    assert result.status == ChargeStatus.REQUIRES_ACTION and result.payment_ref.startswith("pi_")
    assert result.client_secret


def test_refunds_full_and_partial(stripe_provider):
    result = charge(stripe_provider, saved(stripe_provider, "4242424242424242"), "refund-1", amount=1000_00)
    partial = stripe_provider.refund(payment_ref=result.payment_ref, amount=400_00, idempotency_key="r-1")
    assert partial.refund_ref.startswith("re_") and partial.amount == 400_00
    rest = stripe_provider.refund(payment_ref=result.payment_ref, amount=600_00, idempotency_key="r-2")
    assert rest.amount == 600_00
    refunds = stripe_provider.client.v1.refunds.list(params={"payment_intent": result.payment_ref})
    assert sum(r.amount for r in refunds.data if r.payment_intent == result.payment_ref) >= 1000_00


def test_pledge_settle_refund_through_the_portal_with_stripe(app, client, bearer, login, factories, stripe_url,
                                                             stripe_provider):
    previous = app.extensions.pop("funding_provider", None)
    app.config.update(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=stripe_url, STRIPE_PUBLISHABLE_KEY="pk_test_x")
    try:
        backer = factories.UserFactory(roles=[Role.BACKER])
        admin = factories.UserFactory(roles=[Role.ADMIN])
        campaign = CampaignFactory(goal_amount=500_00, deadline=utcnow() + timedelta(days=3))
        setup = client.post(f"/api/v1/campaigns/{campaign.id}/setup-intents", headers=bearer(backer))
        assert setup.status_code == 201 and setup.json["client_secret"] and not setup.json["sandbox"]

        # localstripe cannot confirm a SetupIntent with a card, so the "saved card" state is a created PM.
        method = card(stripe_provider, "4242424242424242")
        response = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(backer),
                               json={"amount": 800_00, "payment_method": method})
        assert response.status_code == 201, response.json
        assert response.json["card"] == "Visa •••• 4242"
        bad = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(backer),
                          json={"amount": 800_00, "payment_method": "4242424242424242"})
        assert bad.status_code == 400

        login(backer)
        page = client.get(f"/campaigns/{campaign.id}/pledge")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'data-client-secret="seti_' in html and "payment-element" in html
        assert "https://js.stripe.com" in page.headers["Content-Security-Policy"]
        assert "Sandbox payments: no Stripe" not in html

        settlement.settle(campaign.id)
        db.session.expire_all()
        pledge = db.session.get(Pledge, response.json["id"])
        assert pledge.status == PledgeStatus.COLLECTED and pledge.payment_ref.startswith("pi_")
        refund = client.post(f"/api/v1/pledges/{pledge.id}/refund", headers=bearer(admin), json={"amount": 300_00})
        assert refund.status_code == 200 and refund.json["refunded"] == 300_00
        assert ledger.totals(campaign)["refunded"] == 300_00
    finally:
        app.config.update(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, STRIPE_PUBLISHABLE_KEY=None)
        app.extensions.pop("funding_provider", None)
        if previous is not None:
            app.extensions["funding_provider"] = previous
