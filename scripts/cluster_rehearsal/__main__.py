"""`python -m scripts.cluster_rehearsal [--keep] [--timeout SECONDS]`: start the cluster, run the journey, stop."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from .journey import Journey
from .services import Cluster, ClusterError


class OutOfTime(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` on the way swallows it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__)
    parser.add_argument("--timeout", type=float, default=300, help="stop and fail after this many seconds (300)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configs, mails)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL allowed to create and drop databases")
    options = parser.parse_args(argv)

    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True)

    def out_of_time(_signum, _frame):
        raise OutOfTime(f"the rehearsal did not finish within {options.timeout:.0f} s")

    def terminated(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, terminated)
    signal.setitimer(signal.ITIMER_REAL, options.timeout)

    root = Path(tempfile.mkdtemp(prefix="portal-cluster-"))
    cluster = Cluster(root, say=say, postgres_admin_url=options.postgres)
    failed = True
    reason = ""
    try:
        say(f"starting the cluster in {root}")
        cluster.start()
        say(f"cluster up ({time.monotonic() - started:.0f} s); journey through {cluster.balancer}")
        journey = Journey(cluster, say)
        journey.run()
        failed = not journey.passed
        journey.summary()
        reason = "; ".join(o.name for o in journey.outcomes if o.status == "FAILED")
    except (ClusterError, OutOfTime) as error:
        say(f"FAILED: {error}")
        reason = str(error).splitlines()[0]
    except KeyboardInterrupt:
        say("FAILED: interrupted")
        reason = "interrupted"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the clean-up short
        if failed:
            cluster.dump_logs()
        say("stopping everything")
        try:
            cluster.stop()
        finally:
            if options.keep or failed:
                say(f"logs, configs and mails kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
    say((f"REHEARSAL FAILED ({reason or 'see above'})" if failed else "REHEARSAL PASSED")
        + f" in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
