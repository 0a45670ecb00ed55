"""Booking locking: how a booking unit of work is serialised, and inserts that turn an overlap into a 409.

The no-overlap guarantee:
- PostgreSQL: the exclusion constraint `booking_no_overlap` (see models.py) refuses a second occupying
  booking whose blocked interval (buffer included) overlaps; the IntegrityError is turned into a
  409 `Conflict` here. Quota checks read other bookings, so they take a row lock on the resource
  first (`SELECT ... FOR UPDATE`), which serialises bookings of that resource.
- SQLite has no exclusion constraints but only one writer at a time, so the booking unit of work is
  serialised: its first statement is a write (an UPDATE that changes nothing), which takes SQLite's
  write lock, waiting up to busy_timeout, exactly as BEGIN IMMEDIATE would. Every read the decision
  depends on happens after it and no other writer can interleave until the request commits. The
  engine (portal/__init__.py) emits a plain deferred BEGIN at the request's first statement, usually
  the login lookup; a transaction that read first and writes later fails with SQLITE_BUSY_SNAPSHOT if
  another writer committed in between. So views that change bookings are decorated with
  `serialised_write` (the lock before the view body runs), and when the lock statement fails that way
  the read-only transaction is rolled back and restarted with the lock as its first statement.
  `serialised()` takes the same lock (per resource row) for callers outside views (jobs, CLI).
"""

from __future__ import annotations

import time as time_module
from collections.abc import Callable
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.db import holds_sqlite_write_lock
from portal.errors import Conflict
from portal.extensions import db
from resources.models import Booking, Resource

T = TypeVar("T")


# ---- locking -----------------------------------------------------------------------------------

def dialect() -> str:
    return db.session.get_bind().dialect.name


def lock_resource(resource_id: int) -> None:
    """Serialise booking decisions on one resource until the transaction ends."""
    if dialect() == "sqlite":
        table = Resource.__table__
        db.session.execute(update(table).where(table.c.id == resource_id)
                           .values(capacity=table.c.capacity, updated_at=table.c.updated_at))
    else:
        db.session.execute(select(Resource.id).where(Resource.id == resource_id).with_for_update())


def sqlite_write_lock(statement) -> None:
    """Execute `statement` (a write) as the lock; on a stale snapshot restart the read-only transaction.
    A writing request's transaction began with BEGIN IMMEDIATE and holds the lock already: nothing to do."""
    if holds_sqlite_write_lock():
        return
    attempts = 8
    for attempt in range(attempts):
        try:
            db.session.execute(statement)
            return
        except OperationalError as error:
            if attempt + 1 == attempts:
                raise Conflict(_("The resource is busy right now. Try again.")) from error
            db.session.rollback()  # only reads happened; restart with the write lock first
            time_module.sleep(0.01 * (attempt + 1))


def begin_booking_write() -> None:
    """Start a booking unit of work on SQLite with the database's write lock (a no-op on PostgreSQL,
    where the exclusion constraint and row locks do the work). Called first thing by every view that
    changes bookings, so even the login bookkeeping of the request (a token's last use) cannot turn the
    transaction into a reader that later fails to upgrade. An UPDATE matching no row takes SQLite's
    write lock like BEGIN IMMEDIATE does."""
    if dialect() != "sqlite":
        return
    table = Resource.__table__
    sqlite_write_lock(update(table).where(table.c.id == -1).values(capacity=table.c.capacity))


def serialised_write(view: Callable) -> Callable:
    """Decorator for views that change bookings: `begin_booking_write()` before the view runs."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args, **kwargs):
        from flask import request

        if request.method != "GET":
            begin_booking_write()
        return view(*args, **kwargs)

    return wrapper


def serialised(resource_id: int, work: Callable[[], T], *, lock_on_postgresql: bool = True) -> T:
    """Run `work()` as the resource's booking unit of work (see the module docstring)."""
    if dialect() == "sqlite":
        table = Resource.__table__
        sqlite_write_lock(update(table).where(table.c.id == resource_id)
                           .values(capacity=table.c.capacity, updated_at=table.c.updated_at))
    elif lock_on_postgresql:
        lock_resource(resource_id)
    return work()


def insert_booking(booking: Booking) -> Booking:
    """Insert inside a savepoint so a lost race leaves the transaction usable; overlap -> 409."""
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as error:
        if not is_overlap(error):
            raise
        raise Conflict(_("That time is already booked (buffers included)."),
                       {"start": [_("overlaps another booking")]}) from error
    return booking


def is_overlap(error: IntegrityError) -> bool:
    """The exclusion constraint said no (SQLSTATE 23P01), not some other integrity rule."""
    return getattr(error.orig, "sqlstate", None) == "23P01" or "booking_no_overlap" in str(error.orig)
