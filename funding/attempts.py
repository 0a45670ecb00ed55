"""What charging (settlement.py) and refunding (refunds.py) share: the pledge row lock, the next
attempt number of a pledge, and the turn-taking of their database phases on SQLite."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from funding.models import PaymentAttempt, Pledge
from portal.extensions import db

_SQLITE_WRITER = threading.RLock()


class serial_on_sqlite:
    """SQLite has one writer and refuses to upgrade a reader under contention ("database is locked"), so
    the short database phases of concurrent settlement threads take turns there; the provider calls,
    the slow part, still overlap. PostgreSQL relies on its row locks instead."""

    def __enter__(self):
        self.locked = db.engine.dialect.name == "sqlite"
        if self.locked:
            _SQLITE_WRITER.acquire()

    def __exit__(self, *exc):
        if self.locked:
            _SQLITE_WRITER.release()


def lock_pledge(pledge_id: int) -> Pledge:
    """The pledge, row-locked until commit (PostgreSQL) and reloaded from the database."""
    return db.session.scalars(select(Pledge).where(Pledge.id == pledge_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def next_attempt_number(pledge: Pledge) -> int:
    """The number of the pledge's next payment attempt (charges and refunds count together)."""
    return (db.session.scalar(select(func.max(PaymentAttempt.number)).where(PaymentAttempt.pledge_id == pledge.id))
            or 0) + 1
