"""Benchmark: booking creation throughput with 32 concurrent clients on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_resources python bench/resources_booking_throughput.py

Creates a scratch database `<name>_bench_<pid>` (dropped afterwards), starts the portal under gunicorn
(gthread workers, rate limits off, mail to the log) on 127.0.0.1, and runs two scenarios with 32 client
threads (keep-alive HTTP sessions, bearer tokens):

- spread: every client books 40 50-minute slots (one per hour) on its own resource (nothing clashes): the cost of the
  rules, the exclusion-constraint insert, the audit chain and the commit;
- contended: all 32 clients book random 50-minute slots on ONE resource, 40 requests each: most overlap and
  must be answered 409; afterwards the database is checked for overlaps (there must be none).

Prints a Markdown table. Not a test.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

CLIENTS = 32
PER_CLIENT = 40
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


def run(base: str, jobs: list[list[tuple[int, dict]]], tokens: list[str]) -> dict:
    """Each client thread sends its list of (resource_id, body) in order; returns timings and statuses."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs) + 1)

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[index]}"
        barrier.wait()
        for resource_id, body in jobs[index]:
            started = time.perf_counter()
            response = session.post(f"{base}/api/v1/resources/{resource_id}/bookings", json=body, timeout=120)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"wall": wall, "requests": len(statuses), "rps": len(statuses) / wall,
            "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "statuses": {code: statuses.count(code) for code in sorted(set(statuses))}}


def main() -> None:
    from portal.config import normalise_database_url

    raw = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not raw or not raw.startswith("postgres"):
        sys.exit("Set BENCH_DATABASE_URL to a PostgreSQL URL (a scratch database is created next to it).")
    parsed = make_url(normalise_database_url(raw))
    name = f"{parsed.database}_bench_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = parsed.set(database=name).render_as_string(hide_password=False)
    server = None
    try:
        from portal import create_app
        from portal.auth.services import create_api_token
        from portal.db import commit, utcnow
        from portal.extensions import db
        from tests import factories
        from tests.resources.factories import ResourceFactory

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef"})
        with app.app_context():
            db.create_all()
            company = factories.OrganisationFactory(kind="company")
            always = [(d, "00:00", "23:59") for d in range(7)]
            resources = [ResourceFactory(organisation=company, min_minutes=30, max_minutes=480, buffer_minutes=0,
                                         advance_days=730, opening_hours=always) for _ in range(CLIENTS + 1)]
            startup = factories.OrganisationFactory(kind="startup")
            tokens = []
            for _ in range(CLIENTS):
                user = factories.UserFactory()
                factories.MembershipFactory(organisation=startup, user=user)
                tokens.append(create_api_token(user, "bench")[1])
            commit()
            resource_ids = [r.id for r in resources]
            db.session.remove()
            db.engine.dispose()
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret-key-0123456789abcdef",
                   RATELIMIT_ENABLED="0", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
        env.pop("REDIS_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "gthread",
             "--threads", str(THREADS), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
             "portal:create_app()"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/api/v1/resources?per_page=1", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        day0 = (utcnow() + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)

        def slot(k: int) -> dict:
            start = day0 + timedelta(hours=k)
            return {"start": start.isoformat(), "end": (start + timedelta(minutes=50)).isoformat()}

        # warm-up: one booking per client on the last resource's far future (not counted)
        run(base, [[(resource_ids[-1], slot(24 * 600 + i))] for i in range(CLIENTS)], tokens)
        spread = run(base, [[(resource_ids[i], slot(k)) for k in range(PER_CLIENT)] for i in range(CLIENTS)], tokens)
        rng = random.Random(2026)
        contended_resource = resource_ids[0]
        # Slots 2000-2199 hours ahead of day0 on resource 0, which the spread run did not touch.
        contended = run(base, [[(contended_resource, slot(2000 + rng.randrange(200))) for _ in range(PER_CLIENT)]
                               for _ in range(CLIENTS)], tokens)
        with create_engine(url).connect() as connection:
            overlaps = connection.execute(text(
                "SELECT count(*) FROM booking a JOIN booking b ON a.resource_id = b.resource_id AND a.id < b.id "
                "AND tstzrange(a.blocked_from, a.blocked_until) && tstzrange(b.blocked_from, b.blocked_until) "
                "WHERE a.status IN ('confirmed','completed','no_show') AND b.status IN ('confirmed','completed',"
                "'no_show')")).scalar()
            total = connection.execute(text("SELECT count(*) FROM booking")).scalar()
            version = connection.execute(text("SHOW server_version")).scalar()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"PostgreSQL {version}; gunicorn {WORKERS} workers x {THREADS} threads (gthread); "
          f"{CLIENTS} client threads, {PER_CLIENT} requests each")
    print("| scenario | requests | wall s | requests/s | p50 ms | p95 ms | p99 ms | statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for label, result in (("spread (no clashes)", spread), ("contended (one resource)", contended)):
        print(f"| {label} | {result['requests']} | {result['wall']:.2f} | {result['rps']:.1f} | {result['p50']:.1f} | "
              f"{result['p95']:.1f} | {result['p99']:.1f} | {result['statuses']} |")
    print(f"bookings in the database: {total}; overlapping occupying pairs: {overlaps}")


if __name__ == "__main__":
    main()
