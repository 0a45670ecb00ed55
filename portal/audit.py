"""Append-only, hash-chained audit log of security- and money-relevant events, in parallel streams.

Each row belongs to a *stream* and stores the SHA-256 of its own content together with the hash of
the row before it in that stream (`prev_hash`) and its position there (`seq`, 1, 2, 3...). Editing
or deleting any row breaks its stream's chain from that row on; `flask --app portal audit verify`
checks every stream and names the first broken row. Database triggers (see the migrations) refuse
UPDATE and DELETE, and a unique index on (stream, prev_hash) refuses a fork (two rows continuing
the same row), as one on (stream, seq) refuses two rows at one position.

Why streams: one chain needs one lock held to commit, so every money and security write of every
host would queue behind every other. Instead there are `STREAMS` chains; an event goes to the
stream chosen by a stable hash of its object (`stream_for`), so the history of one booking or one
pledge stays in one chain while writes about different objects take different locks
(`pg_advisory_xact_lock(ADVISORY_LOCK_KEY, stream)` on PostgreSQL). A transaction appends to one
stream only: later events of the same transaction join the stream of its first event, so a
transaction never holds two stream locks and two transactions can never deadlock on them.

Stream 0 (`LEGACY_STREAM`) holds the rows written before streams existed, one chain in id order,
unchanged (their hash covers no stream or position); new rows go to streams 1..STREAMS, and their
hash also covers `stream` and `seq`.

A chain alone cannot show that its newest rows were dropped, or that every hash after an edit was
recomputed: `portal.checkpoints` signs the heads of all streams from time to time and publishes
them, and `audit verify` also checks the streams against those signed checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.receipts import row_hash

GENESIS = "0" * 64
# PostgreSQL: pg_advisory_xact_lock(ADVISORY_LOCK_KEY, stream) serialises the writers of one stream only.
ADVISORY_LOCK_KEY = 0x6A756469  # "audi"
LEGACY_STREAM = 0
# Fixed: changing it moves objects to other streams (still verifiable, but an object's history then
# spans two chains). 16 streams make two concurrent writes about different objects meet in the same
# stream with probability 1/16.
STREAMS = 16
_SESSION_STREAM = "audit_stream"


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("uq_audit_event_stream_seq", "stream", "seq", unique=True),
        # No fork: two rows never continue the same row of a stream. (Not for the closed legacy stream 0,
        # whose old rows are kept as they are.)
        Index("uq_audit_event_stream_prev_hash", "stream", "prev_hash", unique=True,
              sqlite_where=text("stream > 0"), postgresql_where=text("stream > 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    stream: Mapped[int] = mapped_column(default=LEGACY_STREAM)
    seq: Mapped[int]
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
    """The fields a row's hash covers, as `portal.receipts.row_hash` encodes them (receipts carry them).
    Rows of the streams also cover their stream and position; legacy rows keep their original form."""
    fields = {
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
    if event.stream != LEGACY_STREAM:
        fields["stream"] = event.stream
        fields["seq"] = event.seq
    return fields


def compute_hash(event: AuditEvent) -> str:
    return row_hash(hashed_fields(event))


def stream_for(object_type: str | None, object_id: str | None, action: str) -> int:
    """The stream (1..STREAMS) of an object's events: a stable hash of the object, or of the action for
    events about no object. The same in every process and release (no Python `hash()`)."""
    key = f"{object_type}:{object_id}" if object_type is not None else f"action:{action}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % STREAMS + 1


@event.listens_for(Session, "after_transaction_end")
def _forget_stream(session, transaction) -> None:
    if transaction.parent is None:  # the session's transaction ended: its stream lock is gone too
        session.info.pop(_SESSION_STREAM, None)


def record(
    action: str,
    obj: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    actor_id: int | None = None,
) -> AuditEvent:
    """Append an audit event in the current transaction (flushes, never commits). Locks only the
    event's stream (PostgreSQL), until the transaction ends."""
    if actor_id is None and has_request_context() and current_user and current_user.is_authenticated:
        actor_id = current_user.id
    object_type = object_id = None
    if obj is not None:
        object_type = type(obj).__name__
        object_id = str(getattr(obj, "id", None))
    session = db.session
    stream = session.info.get(_SESSION_STREAM)
    if stream is None:
        stream = session.info[_SESSION_STREAM] = stream_for(object_type, object_id, action)
    if session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key, :stream)"),
                           {"key": ADVISORY_LOCK_KEY, "stream": stream})
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.stream == stream)
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    event = AuditEvent(
        created_at=utcnow(),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_normalise(before),
        after=_normalise(after),
        ip=request.remote_addr if has_request_context() else None,
        stream=stream,
        seq=last.seq + 1 if last else 1,
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass
class StreamProblem:
    stream: int
    row_id: int | None
    reason: str


@dataclass
class VerifyResult:
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    streams: int = 0
    problems: list[StreamProblem] = field(default_factory=list)  # the first broken row of each broken stream

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _rows() -> Iterator[AuditEvent]:
    stmt = (select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq, AuditEvent.id)
            .execution_options(yield_per=1000))
    yield from db.session.scalars(stmt)


def verify(progress=None) -> VerifyResult:
    """Walk every stream in order; report the first row of each stream whose link, hash or position
    does not hold (`broken_id`: the first of them, the lowest stream first)."""
    result = VerifyResult(0)
    stream, expected_prev, expected_seq, broken = None, GENESIS, 1, False
    for row in _rows():
        if row.stream != stream:
            stream, expected_prev, expected_seq, broken = row.stream, GENESIS, 1, False
            result.streams += 1
        if progress is not None:
            progress(1)
        if broken:
            continue
        reason = None
        if row.prev_hash != expected_prev:
            reason = f"stream {row.stream}: link to the previous row is broken (a row was deleted or edited)"
        elif compute_hash(row) != row.hash:
            reason = f"stream {row.stream}: content does not match its hash (the row was edited)"
        elif row.seq != expected_seq:
            reason = f"stream {row.stream}: position {row.seq} where {expected_seq} was expected (the row was edited)"
        if reason:
            broken = True
            result.problems.append(StreamProblem(row.stream, row.id, reason))
            if result.broken_id is None:
                result.broken_id, result.reason = row.id, reason
            continue
        expected_prev, expected_seq = row.hash, expected_seq + 1
        result.checked += 1
    return result


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
