"""Benchmark: settle N pledges against a fake Stripe with 50 ms latency per call, with bounded concurrency
that stays under a rate limit (Stripe: 25/s in test mode, 100/s live). Reports pledges/s as a share of
the limit, and checks that every pledge was charged exactly once.

    python bench/funding_settle.py --pledges 10000 --rate 25 --concurrency 8
    python bench/funding_settle.py --pledges 10000 --rate 100 --concurrency 12
    python bench/funding_settle.py --database postgresql://postgres@127.0.0.1:5432/bench_funding ...

Not a test: numbers go to docs/benchmarks/funding.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per provider call")
    parser.add_argument("--rate", type=float, default=25.0, help="provider calls per second at most")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING)
    from sqlalchemy import func, insert, select

    from funding import settlement
    from funding.models import Campaign, CampaignStatus, LedgerEntry, LedgerKind, Pledge, PledgeStatus
    from funding.payments import SandboxProvider
    from incubation.models import Project
    from portal import create_app
    from portal.auth.models import User
    from portal.db import commit, utcnow
    from portal.extensions import db
    from portal.organisations.models import Organisation

    workdir = tempfile.mkdtemp(prefix="bench-funding-")
    url = args.database or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789",
                      "STRIPE_SECRET_KEY": None, "JOBS_INLINE": True, "REDIS_URL": None, "MAIL_SERVER": None,
                      "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": workdir,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.concurrency + 2, "max_overflow": 4}})
    logging.getLogger("portal.mail").setLevel(logging.WARNING)
    provider = SandboxProvider(latency=args.latency)
    app.extensions["funding_provider"] = provider
    with app.app_context():
        db.drop_all()
        db.create_all()
        organisation = Organisation(name="Bench startup", kind="startup")
        db.session.add(organisation)
        db.session.flush()
        project = Project(organisation_id=organisation.id, title="Bench project")
        db.session.add(project)
        db.session.flush()
        campaign = Campaign(project_id=project.id, title="Bench campaign", goal_amount=100_00, currency="CNY",
                            deadline=utcnow() - timedelta(minutes=1), status=CampaignStatus.LIVE)
        db.session.add(campaign)
        backers = [User(email=f"bench{i}@example.com", name=f"Backer {i}", password_hash="x") for i in range(100)]
        db.session.add_all(backers)
        db.session.flush()
        db.session.execute(insert(Pledge), [
            {"campaign_id": campaign.id, "backer_id": backers[i % 100].id, "amount": 100_00 + i % 1000,
             "status": PledgeStatus.ACTIVE, "provider": "sandbox", "customer_ref": "cus_sandbox_bench",
             "payment_method_ref": "pm_sandbox_visa", "card_label": "Visa 4242 (sandbox)",
             "created_at": utcnow(), "extra_support": 0, "shipping_fee": 0, "refunded_amount": 0,
             "reminders_sent": 0, "final_retry_done": False} for i in range(args.pledges)])
        campaign_id = campaign.id
        commit()

        started = time.perf_counter()
        settlement.close_campaign(campaign_id, force=True)  # decide the outcome, write the gross entries
        closed = time.perf_counter()
        report = settlement.settle(campaign_id, concurrency=args.concurrency, rate=args.rate)
        finished = time.perf_counter()
        elapsed, close_time, charge_time = finished - started, closed - started, finished - closed

        collected = db.session.scalar(select(func.count()).select_from(Pledge).where(
            Pledge.campaign_id == campaign_id, Pledge.status == PledgeStatus.COLLECTED))
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.campaign_id == campaign_id, LedgerEntry.kind == LedgerKind.COLLECTED))
        per_pledge = Counter(pi.metadata["pledge_id"] for pi in provider.payment_intents.values())
        db.session.remove()
        db.engine.dispose()

    rate = args.pledges / elapsed
    floor = args.pledges / args.rate
    print(f"database         {url.split('://')[0]}")
    print(f"pledges          {args.pledges}")
    print(f"latency          {args.latency * 1000:.0f} ms per provider call")
    print(f"rate limit       {args.rate:.0f}/s, concurrency {args.concurrency}")
    print(f"elapsed          {elapsed:.1f} s (floor at the limit: {floor:.1f} s): close {close_time:.1f} s, "
          f"charging {charge_time:.1f} s")
    print(f"throughput       {rate:.1f} pledges/s = {rate / args.rate * 100:.1f}% of the limit "
          f"(charging phase alone: {args.pledges / charge_time:.1f}/s = "
          f"{args.pledges / charge_time / args.rate * 100:.1f}%)")
    print(f"outcomes         {dict(report.outcomes)}")
    print(f"collected        {collected}, ledger entries {entries}, PaymentIntents {len(provider.payment_intents)}, "
          f"provider calls {provider.calls}, max PaymentIntents per pledge {max(per_pledge.values())}")
    assert collected == args.pledges == len(provider.payment_intents) == entries
    assert max(per_pledge.values()) == 1


if __name__ == "__main__":
    main()
