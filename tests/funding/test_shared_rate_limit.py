"""The settlement's limit on provider calls holds across processes (and hosts) through Redis, and falls
back to a per-process limit, saying so, when Redis is unreachable."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from funding.settlement import RateLimiter, SharedRateLimiter, rate_limiter
from tests.dbutil import drop_scratch_database, scratch_database_url
from tests.services import free_port, redis_server

ROOT = Path(__file__).resolve().parents[2]
RATE = 10  # provider calls per second, for both workers together
PLEDGES = 15  # per worker: 30 calls, so at least 2 s at the limit


def busiest_window(stamps: list[float], width: float) -> int:
    """The most calls that fall within any window of `width` seconds."""
    stamps = sorted(stamps)
    best, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= width:
            first += 1
        best = max(best, last - first + 1)
    return best


def test_two_settle_processes_together_stay_under_the_rate(tmp_path):
    urls = [scratch_database_url(f"ratelimit{n}", tmp_path) for n in (1, 2)]
    stamp_file = tmp_path / "charges.txt"
    try:
        with redis_server(tmp_path) as redis:
            redis_url = redis.url
            started = time.time()
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            workers = [subprocess.Popen(
                [sys.executable, "-m", "tests.funding.settle_worker", url, redis_url, str(stamp_file), str(RATE),
                 str(PLEDGES), "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True) for url in urls]
            outputs = [worker.communicate(timeout=120) for worker in workers]
        for worker, (out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-3000:]
            assert f"collected {PLEDGES}" in out
            assert "Redis unreachable" not in err
    finally:
        for url in urls:
            drop_scratch_database(url)

    stamps = [float(line) for line in stamp_file.read_text().split()]
    assert len(stamps) == 2 * PLEDGES
    assert min(stamps) > started
    # Together, about RATE calls in any second, where two per-process limiters would send 2 x RATE. The slots
    # are booked 1/RATE s apart on Redis's clock; the stamp is taken a little after the booking (a thread
    # waking up, waiting for the CPU on a busy machine), and a late stamp shares its second with the next
    # on-time ones: allow RATE + 3 (the unshared limiters measured 21).
    relative = [round(stamp - min(stamps), 3) for stamp in sorted(stamps)]
    assert busiest_window(stamps, 1.0) <= RATE + 3, " ".join(map(str, relative))
    # ...and each worker alone would have sent its 15 calls in about 1.5 s: here they took turns.
    assert max(stamps) - min(stamps) >= (2 * PLEDGES / RATE) - 1 - 0.1


def test_without_redis_the_limit_is_per_process_and_the_log_says_so(app, caplog):
    limiter = SharedRateLimiter(20, f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING, logger="funding.settlement")
    started = time.monotonic()
    for _ in range(10):
        limiter.wait()
    assert time.monotonic() - started >= 9 / 20 - 0.02  # still limited, in this process
    assert [r.getMessage() for r in caplog.records if "Redis unreachable" in r.getMessage()][:1]
    assert len([r for r in caplog.records if "Redis unreachable" in r.getMessage()]) == 1  # said once


def test_the_limiter_is_shared_only_when_redis_is_configured(app):
    with app.app_context():
        assert isinstance(rate_limiter(25), RateLimiter)
        app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
        try:
            assert isinstance(rate_limiter(25), SharedRateLimiter)
            assert isinstance(rate_limiter(None), RateLimiter)
        finally:
            app.config["REDIS_URL"] = None
