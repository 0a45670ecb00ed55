"""Benchmark: contended mentor-slot booking, 32 concurrent founders, PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_incubation python bench/incubation_slot_booking.py

Creates a scratch database `<name>_slotbench_<pid>` (dropped afterwards), one mentor with 200 free slots and
32 founders with API tokens. Each founder (one thread, its own Flask test client, so its own request, session
and transaction) tries to book EVERY slot, in its own random order: 6,400 POST /mentor-slots/{id}/book
requests racing for 200 slots. Exactly 200 must answer 201 and 6,200 must answer 409; afterwards every slot
must be booked by exactly the founder who got its 201. In-process (one Python process, the GIL), so the
numbers are the cost of the conditional UPDATE + audit + commit path, not of a production server.
Prints a Markdown table. Not a test.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SLOTS = 200
FOUNDERS = 32


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


def founder(app, raw: str, slot_ids: list[int], barrier, out: list, seed: int) -> None:
    client = app.test_client()
    order = list(slot_ids)
    random.Random(seed).shuffle(order)
    barrier.wait()
    for slot_id in order:
        start = time.perf_counter()
        response = client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers={"Authorization": f"Bearer {raw}"},
                               json={"topic": "bench"})
        out.append((slot_id, response.status_code, (time.perf_counter() - start) * 1000, seed))


def main() -> None:
    from incubation.models import MentorProfile, MentorSlot
    from portal.auth.models import Role, User, UserRole
    from portal.auth.services import create_api_token
    from portal.db import commit, utcnow
    from portal.extensions import db
    from tests.conftest import make_test_app

    base = os.environ.get("BENCH_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        sys.exit("set BENCH_DATABASE_URL to a PostgreSQL database")
    parsed = make_url(base)
    name = f"{parsed.database}_slotbench_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = parsed.set(database=name).render_as_string(hide_password=False)
    app = make_test_app(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": FOUNDERS + 2, "max_overflow": 8})
    try:
        with app.app_context():
            db.create_all()
            mentor = User(email="mentor@example.com", name="Mentor", password_hash="x")
            mentor.role_rows = [UserRole(role=Role.MENTOR)]
            db.session.add(mentor)
            db.session.flush()
            profile = MentorProfile(user_id=mentor.id, bio="bench")
            db.session.add(profile)
            db.session.flush()
            start = utcnow().replace(microsecond=0) + timedelta(days=1)
            for index in range(SLOTS):
                db.session.add(MentorSlot(mentor_profile_id=profile.id, starts_at=start + timedelta(hours=index),
                                          ends_at=start + timedelta(hours=index, minutes=45)))
            tokens = {}
            for index in range(FOUNDERS):
                user = User(email=f"f{index}@example.com", name=f"Founder {index}", password_hash="x")
                db.session.add(user)
                db.session.flush()
                tokens[user.id] = create_api_token(user, "bench")[1]
            slot_ids = [s.id for s in db.session.scalars(db.select(MentorSlot))]
            commit()

        out: list = []
        barrier = threading.Barrier(FOUNDERS + 1)
        threads = [threading.Thread(target=founder, args=(app, raw, slot_ids, barrier, out, user_id))
                   for user_id, raw in tokens.items()]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began

        statuses = Counter(status for _slot, status, _ms, _who in out)
        winners = {slot: who for slot, status, _ms, who in out if status == 201}
        with app.app_context():
            booked = dict(db.session.execute(db.select(MentorSlot.id, MentorSlot.booked_by_id)).all())
        consistent = all(booked[slot] == who for slot, who in winners.items())
        latencies = [ms for _s, _st, ms, _w in out]
        won = [ms for _s, st, ms, _w in out if st == 201]
        lost = [ms for _s, st, ms, _w in out if st == 409]
        print(f"\n{FOUNDERS} founders x {SLOTS} slots = {len(out)} requests in {elapsed:.1f} s "
              f"({len(out) / elapsed:.0f} requests/s)\n")
        print("| outcome | count | median (ms) | p95 (ms) | p99 (ms) |")
        print("|---|---:|---:|---:|---:|")
        for label, samples, count in (("201 booked", won, statuses[201]), ("409 taken", lost, statuses[409]),
                                      ("all", latencies, len(out))):
            print(f"| {label} | {count} | {statistics.median(samples):.1f} | {percentile(samples, 0.95):.1f} | "
                  f"{percentile(samples, 0.99):.1f} |")
        other = {k: v for k, v in statuses.items() if k not in (201, 409)}
        print(f"\nother statuses: {other or 'none'}; slots booked: {sum(1 for v in booked.values() if v)} of {SLOTS}; "
              f"each slot held by its one 201 winner: {consistent}")
        assert statuses[201] == SLOTS and statuses[409] == SLOTS * (FOUNDERS - 1) and consistent and not other
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
