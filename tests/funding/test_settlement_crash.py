"""Kill settlement half-way (raise at a random pledge), rerun it, and find every pledge charged exactly once.

Runs on a scratch database with real commits (settlement commits around provider calls), serially
and with worker threads, and crashes at three points: before the provider is called, after it
charged the card but before the portal recorded it (the worst case), and while recording.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from funding import ledger, settlement
from funding.models import Campaign, LedgerEntry, LedgerKind, Pledge, PledgeStatus
from funding.payments import SandboxProvider
from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url

PLEDGES = 24


class Crash(RuntimeError):
    pass


@pytest.fixture
def scratch(tmp_path, request):
    url = scratch_database_url(f"crash{request.node.callspec.id.replace('-', '_')}"[:40], tmp_path)
    app = make_test_app(url)
    provider = SandboxProvider()
    app.extensions["funding_provider"] = provider
    with app.app_context():
        db.create_all()
        try:
            yield app, provider
        finally:
            settlement.AFTER_PROVIDER_CALL = None
            db.session.remove()
            db.engine.dispose()
    drop_scratch_database(url)


def seed(count: int) -> int:
    from tests import factories
    from tests.funding.factories import CampaignFactory, PledgeFactory

    campaign = CampaignFactory(goal_amount=1000_00, deadline=utcnow() - timedelta(minutes=1))
    for index in range(count):
        PledgeFactory(campaign=campaign, amount=100_00 + index,
                      backer=factories.UserFactory(roles=[Role.BACKER]))
    commit()
    return campaign.id


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("crash_point", ["before_call", "after_call", "while_recording"])
def test_settlement_killed_half_way_then_rerun_charges_every_pledge_exactly_once(scratch, crash_point, concurrency,
                                                                                  monkeypatch):
    app, provider = scratch
    campaign_id = seed(PLEDGES)
    pledge_ids = list(db.session.scalars(select(Pledge.id).where(Pledge.campaign_id == campaign_id)
                                         .order_by(Pledge.id)))
    victim = random.Random(f"{crash_point}{concurrency}").choice(pledge_ids[1:-1])

    original_charge = provider.charge
    original_record = ledger.record_collected
    if crash_point == "before_call":
        def charge(**kwargs):
            if kwargs["metadata"]["pledge_id"] == str(victim):
                raise Crash("killed before the provider call")
            return original_charge(**kwargs)

        monkeypatch.setattr(provider, "charge", charge)
    elif crash_point == "after_call":
        def after_call(pledge_id: int) -> None:
            if pledge_id == victim:
                raise Crash("killed after the card was charged, before the portal recorded it")

        settlement.AFTER_PROVIDER_CALL = after_call
    else:
        def record(pledge, attempt_id, charged, fee):
            original_record(pledge, attempt_id, charged, fee)
            if pledge.id == victim:
                raise Crash("killed while writing the ledger")

        monkeypatch.setattr(ledger, "record_collected", record)

    with pytest.raises(Crash):
        settlement.settle(concurrency=concurrency)
    db.session.rollback()
    db.session.remove()
    assert db.session.get(Pledge, victim).status == PledgeStatus.ACTIVE  # not recorded: the crash hit it

    # The process "restarts": no crash any more. Rerun twice for good measure.
    monkeypatch.setattr(provider, "charge", original_charge)
    monkeypatch.setattr(ledger, "record_collected", original_record)
    settlement.AFTER_PROVIDER_CALL = None
    settlement.settle(concurrency=concurrency)
    settlement.settle(concurrency=concurrency)
    db.session.remove()

    per_pledge = Counter(pi.metadata["pledge_id"] for pi in provider.payment_intents.values())
    assert len(provider.payment_intents) == PLEDGES
    assert per_pledge == Counter({str(pid): 1 for pid in pledge_ids})
    statuses = dict(db.session.execute(select(Pledge.id, Pledge.status).where(Pledge.campaign_id == campaign_id)).all())
    assert set(statuses.values()) == {PledgeStatus.COLLECTED}
    collected = db.session.scalars(select(LedgerEntry).where(LedgerEntry.campaign_id == campaign_id,
                                                            LedgerEntry.kind == LedgerKind.COLLECTED)).all()
    assert Counter(e.pledge_id for e in collected) == Counter({pid: 1 for pid in pledge_ids})
    campaign = db.session.get(Campaign, campaign_id)
    assert ledger.totals(campaign)["collected"] == sum(100_00 + i for i in range(PLEDGES))
    assert campaign.settled_at is not None
    # The victim's attempt was re-sent with the same idempotency key, never a second one.
    victim_pledge = db.session.get(Pledge, victim)
    expected_attempts = 1
    assert len(victim_pledge.attempts) == expected_attempts
