"""Column types, the one place a unit of work is committed, and `attempt()` for refusals a view handles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy import text as text_
from sqlalchemy.types import TypeDecorator

from portal.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive UTC
    and made aware again on load. Naive input is refused: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that `column` holds one of `values` (constants only, never user input)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def commit() -> None:
    """Commit the unit of work, then hand jobs queued during it to the job system."""
    from portal import jobs

    jobs.commit_and_dispatch()


def holds_sqlite_write_lock() -> bool:
    """Whether this unit of work runs on SQLite and began with BEGIN IMMEDIATE (a writing request), so
    it holds the database's write lock already and a lock statement would only cost a round trip."""
    if db.session.get_bind().dialect.name != "sqlite":
        return False
    return bool(db.session.connection().info.get("sqlite_write_locked"))  # (begins the transaction if need be)


def record_use_later(model, row_id: int, column: str, now: datetime, interval) -> None:
    """Note that a row (a login, an API token) was used, without writing in this request's transaction.

    A GET runs in a read transaction; writing a "last used" time there would upgrade it to a write, which
    on SQLite fails with "database is locked" whenever another writer got in first (a 500 for a read).
    The write happens after the request's own transaction has ended (`write_recorded_uses`), in its own
    short transaction, only if the stored time is older than `interval`; when the database is busy it is
    skipped: the next request records it. The loaded object shows the new time at once."""
    from flask import g, has_request_context
    from sqlalchemy.orm.attributes import set_committed_value

    if not has_request_context():
        return
    g.setdefault("recorded_uses", {})[(model, row_id, column)] = (now, interval)
    for obj in db.session.identity_map.values():
        if isinstance(obj, model) and obj.id == row_id:
            set_committed_value(obj, column, now)


def write_recorded_uses() -> None:
    """Write what `record_use_later` noted, in one short transaction of its own; skip it if the database is
    busy (SQLite: wait at most 0.2 s for the write lock instead of the usual 10 s)."""
    import logging

    from flask import g
    from sqlalchemy import or_, update
    from sqlalchemy.exc import OperationalError

    pending = g.pop("recorded_uses", None)
    if not pending:
        return
    from portal.pagecache import ignoring_writes

    sqlite = db.session.get_bind().dialect.name == "sqlite"
    try:
        if sqlite:
            db.session.execute(text_("PRAGMA busy_timeout=200"))
        with ignoring_writes(db.session):  # no public page shows them
            for (model, row_id, column), (now, interval) in pending.items():
                stored = getattr(model, column)
                db.session.execute(update(model).where(model.id == row_id,
                                                       or_(stored.is_(None), stored < now - interval))
                                   .values({column: now}).execution_options(synchronize_session=False))
            db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        logging.getLogger("portal.db").info("last-used times not recorded (database busy): %s", error.orig)
    finally:
        if sqlite:
            try:
                db.session.execute(text_("PRAGMA busy_timeout=10000"))
                db.session.commit()
            except OperationalError:
                db.session.rollback()


def rollback() -> None:
    from portal import jobs

    db.session.rollback()
    jobs.discard_pending()


@contextmanager
def attempt() -> Iterator[None]:
    """Run a service call whose refusal (a `PortalError`) the view handles itself.

    The request commits when its response is below 400 (`PortalFlask.dispatch_request`), so a view that
    catches a refusal and answers 200 (the form again, with the errors) or 302 (a flash and a redirect)
    would commit whatever the service flushed before it raised. Inside `attempt()` the call runs in a
    savepoint: when it raises, everything it flushed is rolled back and the jobs and mails it queued are
    dropped, before the view renders anything; what the request did before the call is kept. On success
    the savepoint is released and the request commits as usual::

        try:
            with attempt():
                services.create_thing(current_user, from_form(NewThing, form))
        except PortalError as error:
            attach_errors(form, error)

    Views that let a refusal propagate (the API) need nothing: an error response rolls back everything.
    """
    from portal import jobs

    queued = list(db.session.info.get(jobs.PENDING, ()))
    savepoint = db.session.begin_nested()
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        # (a rollback drops the session's whole pending list: keep what was queued before the call)
        if queued:
            db.session.info[jobs.PENDING] = queued
        else:
            db.session.info.pop(jobs.PENDING, None)
        raise
    if savepoint.is_active:
        savepoint.commit()


def migration_filter(dialect_name: str):
    """Alembic `include_object` hook: leave out what lives only in raw DDL of one database.

    SQLite's FTS5 shadow tables and indexes declared for another dialect (`Index(...).ddl_if(...)`)
    are not differences between models and migrations.
    """

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and name and name.startswith("search_document_fts"):
            return False
        if type_ == "index" and obj is not None:
            condition = getattr(obj, "_ddl_if", None)
            if condition is not None and condition.dialect and condition.dialect != dialect_name:
                return False
        return True

    return include_object
