"""`python -m scripts.cluster_rehearsal.settle_probe ARGS...` = `flask --app portal ARGS...`, with every call to the
sandbox payment provider's `charge` written (time, process, idempotency key) to $REHEARSAL_CHARGE_LOG.

The rehearsal's instrument for the settlement rate limit: the calls of two settle processes together, as the
provider would see them (a process re-sending another's pending attempt with the same key is a call too).
"""

from __future__ import annotations

import os
import sys
import time

from flask.cli import main

from funding import payments

LOG = os.environ["REHEARSAL_CHARGE_LOG"]
_charge = payments.SandboxProvider.charge


def charge(self, **kwargs):
    with open(LOG, "a") as log:
        log.write(f"{time.time():.6f} {os.getpid()} {kwargs.get('idempotency_key')}\n")
    return _charge(self, **kwargs)


payments.SandboxProvider.charge = charge

if __name__ == "__main__":
    sys.argv = ["flask", "--app", "portal", *sys.argv[1:]]
    main()
