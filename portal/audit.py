"""Append-only, hash-chained audit log of security- and money-relevant events.

Each row stores the SHA-256 of its own content together with the hash of the row before it, so
editing or deleting any row breaks the chain from that row on; `flask --app portal audit verify`
names the first broken row. Database triggers (see the migration) refuse UPDATE and DELETE.

A chain alone cannot show that its newest rows were dropped, or that every hash after an edit was
recomputed: `portal.checkpoints` signs the head from time to time and publishes it, and
`audit verify` also checks the chain against those signed checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, String, event, select, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.receipts import row_hash

GENESIS = "0" * 64
# Serialises writers on PostgreSQL so two transactions never chain onto the same row.
ADVISORY_LOCK_KEY = 0x6A756469  # "audi"


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _normalise(value: Any) -> Any:
    """What the JSON column will give back, so the hash is computed over stored values."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashed_fields(event: AuditEvent) -> dict:
    """The fields a row's hash covers, as `portal.receipts.row_hash` encodes them (receipts carry them)."""
    return {
        "prev": event.prev_hash,
        "at": _timestamp(event.created_at),
        "actor": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
    }


def compute_hash(event: AuditEvent) -> str:
    return row_hash(hashed_fields(event))


def record(
    action: str,
    obj: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    actor_id: int | None = None,
) -> AuditEvent:
    """Append an audit event in the current transaction (flushes, never commits)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    last = db.session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    if actor_id is None and has_request_context() and current_user and current_user.is_authenticated:
        actor_id = current_user.id
    object_type = object_id = None
    if obj is not None:
        object_type = type(obj).__name__
        object_id = str(getattr(obj, "id", None))
    event = AuditEvent(
        created_at=utcnow(),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_normalise(before),
        after=_normalise(after),
        ip=request.remote_addr if has_request_context() else None,
        prev_hash=last or GENESIS,
    )
    event.hash = compute_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class VerifyResult:
    checked: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _rows() -> Iterator[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    yield from db.session.scalars(stmt)


def verify(progress=None) -> VerifyResult:
    """Walk the chain in order; return the first row whose hash or link does not hold."""
    expected_prev = GENESIS
    checked = 0
    for row in _rows():
        if row.prev_hash != expected_prev:
            return VerifyResult(checked, row.id, "link to the previous row is broken (a row was deleted or edited)")
        if compute_hash(row) != row.hash:
            return VerifyResult(checked, row.id, "content does not match its hash (the row was edited)")
        expected_prev = row.hash
        checked += 1
        if progress is not None:
            progress(1)
    return VerifyResult(checked)


# ---- append-only guard -----------------------------------------------------------------------

APPEND_ONLY_DDL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only';
END
$$ LANGUAGE plpgsql""",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    ],
}


@event.listens_for(AuditEvent.__table__, "after_create")
def _create_append_only_guard(target, connection, **kw) -> None:
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)
