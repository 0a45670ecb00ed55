"""Refunds: a committed refund attempt before the provider call, no pledge lock held during it, and a crash
between the call and the record never refunds twice on retry (counted on the fake provider)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from funding import ledger, refunds, settlement
from funding.models import AttemptStatus, LedgerEntry, LedgerKind, PaymentAttempt, Pledge, PledgeStatus
from funding.payments import ProviderUnavailable, SandboxProvider
from funding.schemas import RefundRequest
from funding.webhooks import handle_event
from portal.db import commit, utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url
from tests.funding.factories import CampaignFactory, PledgeFactory


class Crash(RuntimeError):
    pass


@pytest.fixture
def no_hook():
    yield
    refunds.AFTER_PROVIDER_CALL = None


def collected(amount: int = 1000_00) -> Pledge:
    campaign = CampaignFactory(goal_amount=amount, deadline=utcnow() - timedelta(minutes=1))
    pledge = PledgeFactory(campaign=campaign, amount=amount)
    settlement.settle()
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.status == PledgeStatus.COLLECTED
    return pledge


def refunds_made(provider: SandboxProvider, pledge: Pledge) -> list[int]:
    intent = next(pi for pi in provider.payment_intents.values() if pi.id == pledge.payment_ref)
    return [r.amount for r in intent.refunds]


def refund_entries(pledge: Pledge) -> list[int]:
    return list(db.session.scalars(select(LedgerEntry.amount).where(
        LedgerEntry.pledge_id == pledge.id, LedgerEntry.kind == LedgerKind.REFUND)))


@pytest.mark.parametrize("retry_by", ["admin_asks_again", "periodic_job"])
def test_crash_after_the_provider_refunded_never_refunds_twice(client, bearer, admin, provider, no_hook, retry_by):
    pledge = collected()

    def crash(pledge_id: int) -> None:
        raise Crash("killed after the provider refunded, before the portal recorded it")

    refunds.AFTER_PROVIDER_CALL = crash
    with pytest.raises(Crash):
        refunds.refund_pledge(pledge.id, RefundRequest(amount=400_00))
    db.session.rollback()
    refunds.AFTER_PROVIDER_CALL = None
    assert refunds_made(provider, pledge) == [400_00]  # the money went back...
    db.session.expire_all()
    attempt = refunds.pending_refund(pledge.id)  # ...and the portal knows a refund is in flight
    assert attempt is not None and attempt.amount == 400_00 and attempt.is_refund
    assert db.session.get(Pledge, pledge.id).refunded_amount == 0

    if retry_by == "admin_asks_again":
        response = client.post(f"/api/v1/pledges/{pledge.id}/refund", headers=bearer(admin), json={"amount": 400_00})
        assert response.status_code == 200, response.json
        assert response.json["refunded"] == 400_00 and response.json["status"] == "collected"
    else:
        settlement.settle(now=utcnow() + settlement.REFUND_IN_FLIGHT + timedelta(seconds=1))
    settlement.settle()  # and once more for good measure

    db.session.expire_all()
    assert refunds_made(provider, pledge) == [400_00]
    assert refund_entries(pledge) == [-400_00]
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.refunded_amount == 400_00 and pledge.status == PledgeStatus.COLLECTED
    attempts = [a for a in pledge.attempts if a.is_refund]
    assert [a.status for a in attempts] == [AttemptStatus.SUCCEEDED]
    # The charge itself is untouched: one PaymentIntent.
    assert len(provider.payment_intents) == 1


def test_another_amount_waits_while_a_refund_is_in_flight(client, bearer, admin, provider, monkeypatch):
    pledge = collected()

    def unreachable(**kwargs):
        raise ProviderUnavailable("timeout")

    original = provider.refund
    monkeypatch.setattr(provider, "refund", unreachable)
    url = f"/api/v1/pledges/{pledge.id}/refund"
    lost = client.post(url, headers=bearer(admin), json={"amount": 300_00})
    assert lost.status_code == 409 and "provider" in lost.json["error"]["fields"]
    assert refunds.pending_refund(pledge.id) is not None  # committed before the call

    monkeypatch.setattr(provider, "refund", original)
    other = client.post(url, headers=bearer(admin), json={"amount": 500_00})
    assert other.status_code == 409 and "amount" in other.json["error"]["fields"]
    assert refunds_made(provider, pledge) == []

    again = client.post(url, headers=bearer(admin), json={"amount": 300_00})
    assert again.status_code == 200 and again.json["refunded"] == 300_00
    rest = client.post(url, headers=bearer(admin), json={})
    assert rest.status_code == 200 and rest.json["refunded"] == 1000_00 and rest.json["status"] == "refunded"
    assert refunds_made(provider, pledge) == [300_00, 700_00]
    assert ledger.totals(db.session.get(Pledge, pledge.id).campaign)["refunded"] == 1000_00


def test_refused_refund_is_recorded_as_failed_and_writes_no_money(client, bearer, admin, provider, monkeypatch):
    from portal.errors import ValidationFailed

    pledge = collected()

    def refused(**kwargs):
        raise ValidationFailed.field("amount", "Refund amount is greater than the unrefunded amount")

    monkeypatch.setattr(provider, "refund", refused)
    response = client.post(f"/api/v1/pledges/{pledge.id}/refund", headers=bearer(admin), json={"amount": 100_00})
    assert response.status_code == 400 and "amount" in response.json["error"]["fields"]
    db.session.expire_all()
    assert refunds.pending_refund(pledge.id) is None
    failed = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge.id,
                                                            PaymentAttempt.status == AttemptStatus.FAILED))
    assert failed is not None and failed.is_refund
    assert refund_entries(pledge) == [] and db.session.get(Pledge, pledge.id).refunded_amount == 0


def test_webhook_about_the_same_refund_arriving_first_is_counted_once(db_session, provider, no_hook, app):
    pledge = collected()
    charge_id = "ch_for_" + pledge.payment_ref

    def webhook_first(pledge_id: int) -> None:
        # Stripe's charge.refunded for this very refund lands before the portal records its own answer.
        handle_event({"id": "evt_refund_race", "type": "charge.refunded", "data": {"object": {
            "id": charge_id, "object": "charge", "payment_intent": pledge.payment_ref, "amount_refunded": 250_00}}})
        commit()

    refunds.AFTER_PROVIDER_CALL = webhook_first
    refunds.refund_pledge(pledge.id, RefundRequest(amount=250_00))
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.refunded_amount == 250_00
    assert refund_entries(pledge) == [-250_00]
    assert ledger.totals(pledge.campaign)["refunded"] == 250_00


@pytest.fixture
def scratch(tmp_path):
    url = scratch_database_url("refundlock", tmp_path)
    app = make_test_app(url)
    provider = SandboxProvider()
    app.extensions["funding_provider"] = provider
    with app.app_context():
        db.create_all()
        try:
            yield app, provider
        finally:
            db.session.remove()
            db.engine.dispose()
    drop_scratch_database(url)


def test_no_pledge_lock_or_transaction_is_held_during_the_provider_call(scratch, monkeypatch):
    app, provider = scratch
    campaign = CampaignFactory(goal_amount=1000_00, deadline=utcnow() - timedelta(minutes=1))
    pledge_id = PledgeFactory(campaign=campaign, amount=1000_00).id
    commit()
    settlement.settle()
    original = provider.refund
    seen = {}

    def refund(**kwargs):
        seen["in_transaction"] = db.session().in_transaction()
        # Another worker (a webhook, a settlement run) can lock the pledge row right now, without waiting.
        with db.engine.connect() as other:
            if db.engine.dialect.name == "postgresql":
                other.execute(text("SET lock_timeout = '500ms'"))
                other.execute(text("SELECT id FROM pledge WHERE id = :id FOR UPDATE NOWAIT"), {"id": pledge_id})
            else:
                other.exec_driver_sql("PRAGMA busy_timeout = 0")
                other.execute(text("UPDATE pledge SET updated_at = updated_at WHERE id = :id"), {"id": pledge_id})
            other.rollback()
        seen["locked_elsewhere"] = True
        return original(**kwargs)

    monkeypatch.setattr(provider, "refund", refund)
    pledge = refunds.refund_pledge(pledge_id, RefundRequest(amount=100_00))
    assert seen == {"in_transaction": False, "locked_elsewhere": True}
    assert pledge.refunded_amount == 100_00
