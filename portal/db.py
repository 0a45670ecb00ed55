"""Column types and the one place a unit of work is committed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
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


def rollback() -> None:
    from portal import jobs

    db.session.rollback()
    jobs.discard_pending()


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
