"""The audit log as parallel streams: writes about different objects take different locks, every
stream is a hash chain of its own, and the signed checkpoints cover the heads of all of them."""

from __future__ import annotations

import base64
import hashlib
import threading
import time

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from portal import audit, checkpoints, receipts
from portal.audit import GENESIS, LEGACY_STREAM, STREAMS, AuditEvent, compute_hash
from portal.checkpoints import AuditCheckpoint, create_checkpoint, upload_receipt, verify_checkpoints
from portal.db import utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import base_url, drop_scratch_database, scratch_database_url
from tests.portal.test_audit import Thing, events_on, tamper, thing_on

A, B, C = 3, 7, 11  # three streams


def test_an_object_keeps_its_stream_and_different_objects_spread_over_the_streams(db_session):
    assert 1 <= audit.stream_for("Booking", "1", "booking.created") <= STREAMS
    assert audit.stream_for("Booking", "42", "x") == audit.stream_for("Booking", "42", "y")  # the object decides
    assert len({audit.stream_for("Booking", str(i), "") for i in range(200)}) == STREAMS
    first = events_on(A, 2)
    second = events_on(B, 1)
    assert [e.stream for e in first] == [A, A] and second[0].stream == B
    assert [e.seq for e in first] == [1, 2] and second[0].seq == 1
    assert first[0].prev_hash == GENESIS == second[0].prev_hash and first[1].prev_hash == first[0].hash
    # a stream's hash covers its stream and position; a legacy row's does not
    assert {"stream": A, "seq": 2}.items() <= audit.hashed_fields(first[1]).items()
    assert audit.verify().ok


def test_a_transaction_appends_to_the_stream_of_its_first_event(db_session):
    db.session.commit()
    one = audit.record("test.thing", thing_on(A))
    two = audit.record("test.thing", thing_on(B))  # another object, same transaction: same stream
    assert one.stream == two.stream == A and two.prev_hash == one.hash
    db.session.commit()
    three = audit.record("test.thing", thing_on(B))  # a new transaction: the object's own stream
    assert three.stream == B


def test_tampering_in_one_stream_is_named_and_the_other_streams_stay_intact(db_session, runner):
    in_a = events_on(A, 3)
    in_b = events_on(B, 3)
    tamper("UPDATE audit_event SET after = :after WHERE id = :id", after='{"n": 99}', id=in_b[1].id)
    result = audit.verify()
    assert not result.ok and result.broken_id == in_b[1].id and "edited" in result.reason
    assert [(p.stream, p.row_id) for p in result.problems] == [(B, in_b[1].id)]
    assert result.checked == 3 + 1 and result.streams == 2  # all of stream A, stream B up to the edit
    assert in_a[0].id  # (stream A's rows are fine)
    output = runner.invoke(args=["audit", "verify"])
    assert output.exit_code == 1 and f"row {in_b[1].id}" in output.output and f"stream {B}" in output.output


def test_a_deleted_row_in_the_middle_of_a_stream_breaks_its_link(db_session):
    events_on(A, 1)
    in_b = events_on(B, 3)
    tamper("DELETE FROM audit_event WHERE id = :id", id=in_b[1].id)
    result = audit.verify()
    assert result.broken_id == in_b[2].id and "link" in result.reason


def test_deleting_the_newest_rows_of_one_stream_is_caught_by_the_checkpoint(db_session, runner):
    in_a = events_on(A, 3)
    events_on(B, 2)  # the newest row overall is in stream B: stream A's tail is not the chain's tail
    first = create_checkpoint()
    events_on(C, 1)
    second = create_checkpoint()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    tamper("DELETE FROM audit_event WHERE id IN (:x, :y)", x=in_a[1].id, y=in_a[2].id)
    assert audit.verify().ok  # what is left of stream A still links up
    problems = verify_checkpoints().problems
    assert [p.sequence for p in problems] == [first.sequence, second.sequence]
    assert f"stream {A} has only 1 rows but the checkpoint covers 3" in problems[0].reason
    assert "newest rows were deleted" in problems[0].reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"checkpoint {first.sequence} no longer matches" in result.output
    # and the next checkpoint refuses to sign over it
    events_on(C, 1)
    refused = runner.invoke(args=["audit", "checkpoint"])
    assert refused.exit_code == 1 and "no longer matches checkpoint" in refused.output


def test_deleting_a_whole_stream_is_caught_by_the_checkpoint(db_session):
    events_on(A, 1)
    in_b = events_on(B, 2)
    checkpoint = create_checkpoint()
    tamper("DELETE FROM audit_event WHERE stream = :stream", stream=B)
    assert audit.verify().ok
    problems = verify_checkpoints().problems
    assert [p.sequence for p in problems] == [checkpoint.sequence]
    assert f"stream {B} has only 0 rows" in problems[0].reason
    assert in_b


def test_rewriting_one_stream_after_an_edit_is_caught(db_session):
    events_on(A, 2)
    in_b = events_on(B, 3)
    checkpoint = create_checkpoint()
    tamper("UPDATE audit_event SET after = :after WHERE id = :id", after='{"n": -1}', id=in_b[0].id)
    _rehash(B)
    assert audit.verify().ok
    problems = verify_checkpoints().problems
    assert [p.sequence for p in problems] == [checkpoint.sequence] and "rewritten" in problems[0].reason


def _rehash(stream: int) -> None:
    """An attacker's second step: recompute every hash of a stream so that its chain links up again."""
    previous = GENESIS
    for row in db.session.scalars(select(AuditEvent).where(AuditEvent.stream == stream).order_by(AuditEvent.seq)):
        row.prev_hash = previous
        row.hash = compute_hash(row)
        previous = row.hash
    db.session.flush()
    db.session.expire_all()


def test_two_rows_never_continue_the_same_row_or_share_a_position(db_session):
    head = events_on(A, 2)[-1]

    def forged(**fields) -> AuditEvent:
        row = AuditEvent(created_at=utcnow(), action="forged", stream=A, seq=head.seq + 1, prev_hash=head.hash)
        for name, value in fields.items():
            setattr(row, name, value)
        row.hash = compute_hash(row)
        return row

    db.session.add(forged())
    db.session.flush()
    for fork in (forged(seq=head.seq + 2, action="fork"), forged(prev_hash="f" * 64, action="same place")):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(fork)
            db.session.flush()


def _upload_event(stream: int, data: bytes, after: int = 0) -> AuditEvent:
    db.session.commit()
    return audit.record(receipts.UPLOAD_ACTION, thing_on(stream, after),
                        after={"sha256": hashlib.sha256(data).hexdigest()})


def test_receipts_prove_rows_of_any_stream_against_the_first_checkpoint_covering_them(db_session):
    early = _upload_event(A, b"early")
    events_on(B, 2)
    first = create_checkpoint()
    late = _upload_event(B, b"late")
    events_on(C, 3)
    second = create_checkpoint()
    events_on(A, 1, after=1000)
    third = create_checkpoint()
    assert checkpoints.first_checkpoint_covering(early).sequence == first.sequence
    assert checkpoints.first_checkpoint_covering(late).sequence == second.sequence
    assert checkpoints.covered_event_ids([early.id, late.id]) == {early.id, late.id}
    assert third.sequence == 3
    for event, data in ((early, b"early"), (late, b"late")):
        receipt = upload_receipt(event, hashlib.sha256(data).hexdigest(), {"title": "x"})
        assert receipt["status"] == "anchored"
        assert receipt["audit_event"]["stream"] == event.stream and receipt["audit_event"]["seq"] == event.seq
        code, checks = receipts.verify_receipt(receipt, data)
        assert code == 0, [c for c in checks if not c.ok]
        assert any(c.name == f"audit row is within stream {event.stream} as signed" and c.ok for c in checks)
        assert receipts.verify_receipt(receipt, data + b"!")[0] == 1
    pending = _upload_event(C, b"pending", after=5000)
    assert upload_receipt(pending, "0" * 64, {})["status"] == "pending"
    assert checkpoints.covered_event_ids([pending.id]) == set()


# ---- the rows written before the streams: stream 0 and v1 checkpoints --------------------------------

def _legacy_chain(n: int) -> list[AuditEvent]:
    """Rows as the single chain wrote them (what the migration turns into stream 0)."""
    rows, previous = [], GENESIS
    for i in range(n):
        row = AuditEvent(created_at=utcnow(), action=receipts.UPLOAD_ACTION if i == 1 else "legacy.event",
                         after={"sha256": hashlib.sha256(b"old").hexdigest()} if i == 1 else {"n": i},
                         stream=LEGACY_STREAM, seq=i + 1, prev_hash=previous)
        row.hash = compute_hash(row)
        db.session.add(row)
        db.session.flush()
        rows.append(row)
        previous = row.hash
    return rows


def _v1_checkpoint(rows: list[AuditEvent]) -> AuditCheckpoint:
    checkpoint = AuditCheckpoint(sequence=1, rows=len(rows), previous_rows=0, head_event_id=rows[-1].id,
                                 head_hash=rows[-1].hash, batch_root=receipts.merkle_root([r.hash for r in rows]),
                                 created_at=utcnow().replace(microsecond=0), public_key=checkpoints.public_key_b64(),
                                 signature="")
    checkpoint.signature = base64.b64encode(checkpoints.signing_key().sign(checkpoint.message)).decode()
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def test_the_legacy_chain_and_its_v1_checkpoints_stay_verifiable(db_session, runner):
    legacy = _legacy_chain(4)
    assert "stream" not in audit.hashed_fields(legacy[0])  # the hash the rows were written with
    old = _v1_checkpoint(legacy)
    assert old.message.startswith(b"haichuang-audit-checkpoint:v1\n") and b"stream" not in old.message
    assert checkpoints.checkpoint_json(old)["format"] == "haichuang-audit-checkpoint:v1"
    assert "streams" not in checkpoints.checkpoint_json(old)
    events_on(A, 2)
    new = create_checkpoint()
    assert new.sequence == 2 and new.previous_rows == 4 and new.rows == 6
    assert new.coverage == {LEGACY_STREAM: (4, legacy[-1].hash), A: (2, new.coverage[A][1])}
    assert audit.verify().ok and verify_checkpoints().ok
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # a receipt for a legacy upload is anchored by the v1 checkpoint and verifies offline
    receipt = upload_receipt(legacy[1], hashlib.sha256(b"old").hexdigest(), {"title": "old"})
    assert receipt["checkpoint"]["sequence"] == 1
    assert receipts.verify_receipt(receipt, b"old")[0] == 0
    # tampering with a legacy row is still caught by the chain, and rewriting it by the checkpoints
    tamper("UPDATE audit_event SET after = :after WHERE id = :id", after='{"n": 7}', id=legacy[2].id)
    assert audit.verify().broken_id == legacy[2].id
    _rehash(LEGACY_STREAM)
    assert audit.verify().ok
    problems = verify_checkpoints().problems
    assert [p.sequence for p in problems] == [1, 2] and all("rewritten" in p.reason for p in problems)


# ---- PostgreSQL: no global lock --------------------------------------------------------------------

def _postgresql() -> bool:
    url = base_url()
    return bool(url) and url.startswith("postgresql")


@pytest.fixture
def committing_app(tmp_path):
    """A scratch PostgreSQL database: these tests commit from several connections at once."""
    if not _postgresql():
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite has one writer and no advisory locks")
    url = scratch_database_url("audit_streams", tmp_path)
    app = make_test_app(url)
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_scratch_database(url)


class Writer(threading.Thread):
    """Records one audit event about `thing` in its own transaction; commits when `release` is set."""

    def __init__(self, app, thing: Thing, release: threading.Event | None = None) -> None:
        super().__init__(daemon=True)
        self.app, self.thing, self.release = app, thing, release
        self.recorded, self.committed = threading.Event(), threading.Event()
        self.row: tuple[int, int, str, str] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                event = audit.record("test.concurrent", self.thing)
                self.row = (event.stream, event.seq, event.prev_hash, event.hash)
                self.recorded.set()
                if self.release is not None:
                    assert self.release.wait(20), "never released"
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.error = error
        finally:
            self.recorded.set()
            self.committed.set()


def test_writes_about_objects_in_different_streams_do_not_wait_for_each_other(committing_app):
    release = threading.Event()
    holder = Writer(committing_app, thing_on(A), release)
    holder.start()
    assert holder.recorded.wait(10) and holder.error is None
    started = time.monotonic()
    other = Writer(committing_app, thing_on(B))
    other.start()
    try:
        # the other transaction records and commits while the first still holds its stream open
        assert other.committed.wait(5), "a write in another stream waited for an open transaction"
        assert other.error is None and time.monotonic() - started < 5
        assert not holder.committed.is_set()
    finally:
        release.set()
        holder.join(10)
        other.join(10)
    assert holder.error is None and holder.row[0] == A and other.row[0] == B


def test_writes_in_one_stream_wait_and_chain_on_without_a_fork(committing_app):
    release = threading.Event()
    first = Writer(committing_app, thing_on(A), release)
    first.start()
    assert first.recorded.wait(10) and first.error is None
    second = Writer(committing_app, thing_on(A, after=first.thing.id))  # another object, the same stream
    second.start()
    try:
        assert not second.recorded.wait(0.5), "two writers appended to one stream at once"
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert first.error is None and second.error is None
    stream, seq, _prev, head = first.row
    assert second.row[:3] == (stream, seq + 1, head)

    # a burst of writers over two streams: every stream one unbroken chain
    writers = [Writer(committing_app, thing_on(A if i % 2 else B, after=100 + i * 50)) for i in range(16)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)
        assert writer.error is None
    with committing_app.app_context():
        forks = db.session.execute(select(AuditEvent.stream, AuditEvent.prev_hash).group_by(
            AuditEvent.stream, AuditEvent.prev_hash).having(func.count() > 1)).all()
        assert forks == []
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 18
        assert audit.verify().ok
        locks = db.session.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar()
        assert locks == 0  # nothing is left locked after the transactions ended
        assert create_checkpoint() is not None and verify_checkpoints().ok
        db.session.rollback()
