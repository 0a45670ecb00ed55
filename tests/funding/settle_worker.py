"""One settle worker for tests/funding/test_shared_rate_limit.py, run as its own process:

    python -m tests.funding.settle_worker DATABASE_URL REDIS_URL STAMP_FILE RATE PLEDGES WORKERS

It builds a due campaign of PLEDGES pledges in its own (scratch) database, says it is ready (a file next to
STAMP_FILE) and waits until all WORKERS are (so that they charge at the same time), then settles it with `--rate RATE` against
REDIS_URL. Its provider appends the time of every charge to STAMP_FILE (one line per call).
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from funding.payments import SandboxProvider


class StampingProvider(SandboxProvider):
    def __init__(self, stamp_file: str):
        super().__init__(latency=0.01)
        self.stamp_file = stamp_file

    def charge(self, **kwargs):
        with open(self.stamp_file, "a") as stamps:  # O_APPEND: one short line per write, never interleaved
            stamps.write(f"{time.time():.6f}\n")
        return super().charge(**kwargs)


def wait_for_the_others(stamp_file: str, workers: int) -> None:
    from pathlib import Path

    ready = Path(stamp_file).with_suffix(".ready")
    with open(ready, "a") as marks:
        marks.write("ready\n")
    deadline = time.monotonic() + 120
    while ready.read_text().count("ready") < workers and time.monotonic() < deadline:
        time.sleep(0.01)


def main(database_url: str, redis_url: str, stamp_file: str, rate: float, pledges: int, workers: int) -> None:
    from flask_migrate import upgrade

    from funding import settlement
    from funding.models import Pledge, PledgeStatus
    from portal.db import commit, utcnow
    from portal.extensions import db
    from tests.conftest import make_test_app
    from tests.funding.factories import CampaignFactory, PledgeFactory

    app = make_test_app(database_url, REDIS_URL=redis_url, JOBS_INLINE=True)
    app.extensions["funding_provider"] = StampingProvider(stamp_file)
    with app.app_context():
        upgrade()
        campaign = CampaignFactory(goal_amount=100_00, deadline=utcnow() - timedelta(minutes=1))
        for _ in range(pledges):
            PledgeFactory(campaign=campaign, amount=100_00)
        campaign_id = campaign.id
        commit()
        wait_for_the_others(stamp_file, workers)
        settlement.settle(campaign_id, concurrency=4, rate=rate)
        collected = db.session.query(Pledge).filter_by(campaign_id=campaign_id,
                                                       status=PledgeStatus.COLLECTED).count()
        db.session.remove()
        db.engine.dispose()
    print(f"collected {collected}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
