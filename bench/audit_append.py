"""Benchmark: audited transactions per second when every transaction records an audit event and then
stays open a little (the rest of its unit of work: ledger rows, the commit).

    python bench/audit_append.py --database postgresql://postgres@127.0.0.1:5432/bench_audit --threads 16
    python bench/audit_append.py            # a fresh SQLite file

Each of N threads loops for --seconds: open a transaction, `portal.audit.record(...)` about an object
of its own (a new one each time), sleep --hold-ms with the transaction open, commit. With one lock
for the whole audit log (before issue 11) the transactions queue behind each other: at most
1000 / hold-ms per second whatever N. With per-stream locks only transactions on the same stream
queue. The database is emptied first (drop_all, create_all): use a scratch database. The audit log
is verified at the end. Prints one line of numbers. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class BenchObject:
    def __init__(self, id: int) -> None:
        self.id = id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hold-ms", type=float, default=5.0, help="time the transaction stays open after recording")
    args = parser.parse_args()

    from portal import audit, create_app
    from portal.extensions import db

    workdir = tempfile.mkdtemp(prefix="bench-audit-")
    url = args.database or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key-0123456789",
                      "REDIS_URL": None, "JOBS_INLINE": True, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": workdir,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.threads + 2, "max_overflow": 4}})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()

    ids = itertools.count(1)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads + 1)
    deadline = [0.0]

    def worker() -> None:
        mine: list[float] = []
        barrier.wait()
        with app.app_context():
            while time.perf_counter() < deadline[0]:
                started = time.perf_counter()
                try:
                    audit.record("bench.append", BenchObject(next(ids)), after={"at": started})
                    time.sleep(args.hold_ms / 1000)
                    db.session.commit()
                except Exception as error:  # noqa: BLE001 (counted and shown)
                    db.session.rollback()
                    with lock:
                        errors.append(type(error).__name__)
                    continue
                mine.append(time.perf_counter() - started)
            db.session.remove()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + args.seconds
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    with app.app_context():
        result = audit.verify()
        streams = getattr(result, "streams", 1)
        db.session.remove()
        db.engine.dispose()
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else 0.0
    print(f"{url.split('://')[0]}: {args.threads} threads, hold {args.hold_ms:g} ms, {elapsed:.1f} s: "
          f"{len(latencies)} transactions = {len(latencies) / elapsed:.1f}/s "
          f"(one-lock ceiling {1000 / args.hold_ms:.0f}/s); latency p50 "
          f"{statistics.median(ordered) * 1000 if ordered else 0:.1f} ms, p95 {p95 * 1000:.1f} ms; "
          f"errors {len(errors)}; audit verify ok={result.ok}, {result.checked} rows, {streams} stream(s)")


if __name__ == "__main__":
    main()
