"""Benchmark: availability of one resource over 30 days with 10,000 existing bookings.

    python bench/resources_availability.py                     # SQLite (a temporary file)
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_resources python bench/resources_availability.py

Creates a scratch database (PostgreSQL: `<name>_bench_<pid>`, dropped afterwards), one resource with
10,000 past bookings and 40 upcoming ones, and a twin resource with only the 40 upcoming ones. Times
`availability.free_intervals` (the service) and GET /api/v1/resources/{id}/availability (the whole
request) for the next 30 days on both: the cost must not grow with the number of past bookings.
Not a test; prints a Markdown table.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PAST_BOOKINGS = 10_000
UPCOMING = 40
ROUNDS = 200


def scratch(url: str | None) -> tuple[str, callable]:
    if not url:
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        return f"sqlite:///{path}", lambda: None
    from portal.config import normalise_database_url

    parsed = make_url(normalise_database_url(url))
    name = f"{parsed.database}_bench_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), drop


def timed(function, rounds: int = ROUNDS) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    from portal import create_app
    from portal.db import commit, utcnow
    from portal.extensions import db
    from resources import availability
    from resources.models import Booking, Resource
    from tests import factories
    from tests.resources.factories import ResourceFactory

    url, drop = scratch(os.environ.get("BENCH_DATABASE_URL"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
                      "TESTING": True, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    try:
        with app.app_context():
            db.create_all()
            company = factories.OrganisationFactory(kind="company")
            user = factories.UserFactory()
            hours = [(d, "08:00", "20:00") for d in range(7)]
            busy = ResourceFactory(organisation=company, name="busy", buffer_minutes=15, opening_hours=hours)
            fresh = ResourceFactory(organisation=company, name="fresh", buffer_minutes=15, opening_hours=hours)
            commit()
            now = utcnow().replace(minute=0, second=0, microsecond=0)
            rows = []
            # 10,000 past bookings, 2 h each, back to back with the buffer, reaching about 2.5 years back.
            start = now - timedelta(hours=2 * PAST_BOOKINGS + 24)
            for index in range(PAST_BOOKINGS):
                begin = start + timedelta(hours=2 * index)
                rows.append(dict(resource_id=busy.id, user_id=user.id, start_at=begin,
                                 end_at=begin + timedelta(minutes=100), blocked_from=begin,
                                 blocked_until=begin + timedelta(minutes=115), status="completed",
                                 audience="external", price_amount=1000, currency="CNY", cancel_fee_amount=0,
                                 purpose="", status_reason=""))
            for resource in (busy, fresh):
                for index in range(UPCOMING):
                    begin = now + timedelta(days=1 + index * 29 / UPCOMING, hours=2)
                    begin = begin.replace(minute=0)
                    rows.append(dict(resource_id=resource.id, user_id=user.id, start_at=begin,
                                     end_at=begin + timedelta(hours=2), blocked_from=begin,
                                     blocked_until=begin + timedelta(hours=2, minutes=15), status="confirmed",
                                     audience="external", price_amount=1000, currency="CNY",
                                     cancel_fee_amount=0, purpose="", status_reason=""))
            started = time.perf_counter()
            for chunk in range(0, len(rows), 2000):
                db.session.execute(insert(Booking), rows[chunk:chunk + 2000])
            commit()
            load_seconds = time.perf_counter() - started
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE booking"))
                commit()
            window_end = now + timedelta(days=30)
            results = {}
            client = app.test_client()
            for resource_id in (busy.id, fresh.id):
                resource = db.session.get(Resource, resource_id)
                slots = availability.free_intervals(resource, now, window_end)
                service = timed(lambda r=resource: (db.session.expire_all(),
                                                    availability.free_intervals(r, now, window_end)))
                query = {"from": now.isoformat(), "to": window_end.isoformat()}
                api = timed(lambda rid=resource_id, query=query: client.get(f"/api/v1/resources/{rid}/availability",
                                                               query_string=query))
                results[resource.name] = (len(slots), service, api)
            plan = ""
            if db.engine.dialect.name == "postgresql":
                plan = "\n".join(row[0] for row in db.session.execute(text(
                    "EXPLAIN ANALYZE SELECT * FROM booking WHERE resource_id = :r AND blocked_until > :a "
                    "AND blocked_from < :b AND status IN ('confirmed', 'completed', 'no_show')"),
                    {"r": busy.id, "a": now, "b": window_end}))
            dialect = db.engine.dialect.name
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    print(f"database: {dialect}; loaded {PAST_BOOKINGS + 2 * UPCOMING} bookings in {load_seconds:.1f} s; "
          f"{ROUNDS} rounds each, window 30 days")
    print("| resource | past bookings | free slots | service median ms | service p95 ms | API median ms | API p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, past in (("busy", PAST_BOOKINGS), ("fresh", 0)):
        slots, (s_med, s_p95), (a_med, a_p95) = results[name]
        print(f"| {name} | {past} | {slots} | {s_med:.2f} | {s_p95:.2f} | {a_med:.2f} | {a_p95:.2f} |")
    if plan:
        print("\nPostgreSQL plan of the window query:\n" + plan)


if __name__ == "__main__":
    main()
