"""Signed checkpoints of the audit streams: the anchor that makes truncation and rewrites visible.

A checkpoint signs, with the portal's Ed25519 audit key, the length and head hash of every audit
stream (`portal.audit`: the streams are independent hash chains), the total number of rows, the
newest head row, and the Merkle root of the rows added since the previous checkpoint, stream by
stream in order (the exact message is `portal.receipts.checkpoint_message`, format v2; checkpoints
written before the streams existed are format v1 and cover the legacy stream 0 alone). Checkpoints are public (`/api/v1/audit/checkpoints`,
`/transparency/audit`), so a copy kept by anyone shows when the database no longer matches, and
with `TSA_URL` each also gets an RFC 3161 timestamp from an outside authority.

`flask --app portal audit checkpoint` (and the hourly periodic job) writes one; `audit verify`
checks the chain against all of them; document receipts point to the first checkpoint covering
the upload's audit row.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, LargeBinary, String, and_, event, func, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column

from portal import receipts
from portal.audit import GENESIS, LEGACY_STREAM, AuditEvent, hashed_fields
from portal.config import parse_audit_signing_key
from portal.db import UTCDateTime, commit, utcnow
from portal.errors import Conflict
from portal.extensions import db

log = logging.getLogger(__name__)

DEV_KEY_FILE = "audit-signing-key.pem"
CHECKPOINT_EVERY_SECONDS = 3600
# Serialises checkpoint writers on PostgreSQL (sequence numbers); held only while writing the row.
ADVISORY_LOCK_KEY = 0x63686B70  # "chkp"


class AuditCheckpoint(db.Model):
    """One signed statement "the audit streams had these lengths and heads" (never edited; only the
    timestamp token is filled in after the row is committed). `streams` is [[stream, rows, head hash],
    ...] by stream; None for a v1 checkpoint (before the streams: `rows` and `head_hash` of stream 0)."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(unique=True)
    rows: Mapped[int]
    previous_rows: Mapped[int]
    # No foreign key: the checkpoint must outlive the rows it covers, to show that they were deleted.
    head_event_id: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    batch_root: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signature: Mapped[str] = mapped_column(String(100))  # base64 of the 64-byte Ed25519 signature
    public_key: Mapped[str] = mapped_column(String(60))  # base64 of the 32-byte Ed25519 public key
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)  # DER RFC 3161 TimeStampToken
    timestamped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the token's genTime
    streams: Mapped[list | None] = mapped_column(JSON)

    @property
    def coverage(self) -> dict[int, tuple[int, str]]:
        """stream -> (rows covered, hash of the last covered row)."""
        if self.streams is None:
            return {LEGACY_STREAM: (self.rows, self.head_hash)}
        return {int(stream): (int(rows), head) for stream, rows, head in self.streams}

    @property
    def created_at_text(self) -> str:
        return iso_seconds(self.created_at)

    @property
    def message(self) -> bytes:
        return receipts.checkpoint_message(sequence=self.sequence, rows=self.rows, head_event_id=self.head_event_id,
                                           head=self.head_hash, previous_rows=self.previous_rows,
                                           batch_root=self.batch_root, created_at=self.created_at_text,
                                           streams=self.streams)


def iso_seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def checkpoint_json(checkpoint: AuditCheckpoint) -> dict:
    """The published form; `portal.receipts.message_of` rebuilds the signed message from it."""
    data = {"sequence": checkpoint.sequence, "rows": checkpoint.rows, "head": checkpoint.head_hash,
            "head_event_id": checkpoint.head_event_id, "previous_rows": checkpoint.previous_rows,
            "batch_root": checkpoint.batch_root, "created_at": checkpoint.created_at_text,
            "signature": checkpoint.signature, "public_key": checkpoint.public_key,
            "format": receipts.CHECKPOINT_FORMAT if checkpoint.streams is None else receipts.CHECKPOINT_FORMAT_V2}
    if checkpoint.streams is not None:
        data["streams"] = [{"stream": stream, "rows": rows, "head": head} for stream, rows, head in checkpoint.streams]
    if checkpoint.timestamp_token:
        data["timestamp_token"] = base64.b64encode(checkpoint.timestamp_token).decode("ascii")
        data["timestamped_at"] = iso_seconds(checkpoint.timestamped_at) if checkpoint.timestamped_at else None
    return data


# ---- the key --------------------------------------------------------------------------------------

def signing_key():
    """The Ed25519 key from AUDIT_SIGNING_KEY, or (outside production) one generated once and kept in
    the instance folder."""
    cache = current_app.extensions.setdefault("audit_signing_key", {})
    if "key" not in cache:
        configured = current_app.config.get("AUDIT_SIGNING_KEY")
        if configured:
            cache["key"] = parse_audit_signing_key(configured)
        elif current_app.config.get("ENV_NAME") == "production":
            raise RuntimeError("AUDIT_SIGNING_KEY is required when PORTAL_ENV=production")
        else:
            cache["key"] = _development_key(Path(current_app.instance_path) / DEV_KEY_FILE)
    return cache["key"]


def _development_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            log.warning("generated a development audit signing key in %s; set AUDIT_SIGNING_KEY in production", path)
    return parse_audit_signing_key(path.read_text())


def public_key_b64() -> str:
    from cryptography.hazmat.primitives import serialization

    raw = signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


# ---- writing checkpoints ----------------------------------------------------------------------------

def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()).limit(1))


def _coverage(checkpoint: AuditCheckpoint | None) -> dict[int, tuple[int, str]]:
    return {} if checkpoint is None else checkpoint.coverage


def _between(before: dict[int, tuple[int, str]], after: dict[int, tuple[int, str]]):
    """The condition for the rows added between two coverages: positions (before, after] of each stream."""
    ranges = [and_(AuditEvent.stream == stream, AuditEvent.seq > before.get(stream, (0, ""))[0],
                   AuditEvent.seq <= rows)
              for stream, (rows, _head) in after.items() if rows > before.get(stream, (0, ""))[0]]
    return or_(*ranges) if ranges else None


def _batch(before: dict[int, tuple[int, str]], after: dict[int, tuple[int, str]], column=AuditEvent) -> list:
    """The rows (or one column of them) a checkpoint adds, stream by stream, in order: its Merkle batch."""
    condition = _between(before, after)
    if condition is None:
        return []
    return list(db.session.scalars(select(column).where(condition).order_by(AuditEvent.stream, AuditEvent.seq)))


def _covered_count(coverage: dict[int, tuple[int, str]]) -> int:
    condition = _between({}, coverage)
    if condition is None:
        return 0
    return db.session.scalar(select(func.count(AuditEvent.id)).where(condition)) or 0


def _row_at(stream: int, seq: int) -> AuditEvent | None:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.stream == stream, AuditEvent.seq == seq))


def stream_heads() -> dict[int, AuditEvent]:
    """The newest row of every stream. Within a stream rows commit in order (its lock is held to
    commit), so what is visible of a stream is always a whole prefix of it."""
    lengths = db.session.execute(select(AuditEvent.stream, func.max(AuditEvent.seq)).group_by(AuditEvent.stream))
    heads = {}
    for stream, length in list(lengths):
        row = _row_at(stream, length)
        if row is not None:
            heads[stream] = row
    return heads


# ---- append-only guard: a checkpoint is never edited or deleted; only its missing timestamp is filled in ----

CHECKPOINT_GUARD_DDL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_checkpoint_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.timestamp_token IS NOT NULL
     OR (NEW.sequence, NEW.rows, NEW.previous_rows, NEW.head_event_id, NEW.head_hash, NEW.batch_root,
         NEW.created_at, NEW.signature, NEW.public_key, NEW.streams::text)
        IS DISTINCT FROM (OLD.sequence, OLD.rows, OLD.previous_rows, OLD.head_event_id, OLD.head_hash,
                          OLD.batch_root, OLD.created_at, OLD.signature, OLD.public_key, OLD.streams::text) THEN
    RAISE EXCEPTION 'audit_checkpoint is append-only';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql""",
        "CREATE TRIGGER audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_checkpoint "
        "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_guard()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
        "WHEN OLD.timestamp_token IS NOT NULL OR NEW.sequence IS NOT OLD.sequence OR NEW.rows IS NOT OLD.rows "
        "OR NEW.previous_rows IS NOT OLD.previous_rows OR NEW.head_event_id IS NOT OLD.head_event_id "
        "OR NEW.head_hash IS NOT OLD.head_hash OR NEW.batch_root IS NOT OLD.batch_root "
        "OR NEW.created_at IS NOT OLD.created_at OR NEW.signature IS NOT OLD.signature "
        "OR NEW.public_key IS NOT OLD.public_key OR NEW.streams IS NOT OLD.streams "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    ],
}


@event.listens_for(AuditCheckpoint.__table__, "after_create")
def _create_checkpoint_guard(target, connection, **kw) -> None:
    for statement in CHECKPOINT_GUARD_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


def create_checkpoint() -> AuditCheckpoint | None:
    """Sign the current heads of all streams (flushes, never commits). None when no row was added
    since the last checkpoint. Refuses (409) to sign streams that no longer continue the last
    checkpoint. Takes no audit stream lock: writers keep appending meanwhile."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    previous = latest_checkpoint()
    before = _coverage(previous)
    heads = stream_heads()
    if not any(row.seq > before.get(stream, (0, ""))[0] for stream, row in heads.items()):
        return None
    for stream, (rows, head_hash) in before.items():
        kept = _row_at(stream, rows)
        if (kept is None or kept.hash != head_hash or receipts.row_hash(hashed_fields(kept)) != kept.hash
                or stream not in heads or heads[stream].seq < rows):
            raise Conflict(f"The audit chain no longer matches checkpoint {previous.sequence}: "
                           "run `flask --app portal audit verify`.")
    after = {stream: (max(row.seq, before.get(stream, (0, ""))[0]), row.hash) for stream, row in heads.items()}
    batch = _batch(before, after)
    expected = {stream: (rows, head) for stream, (rows, head) in before.items()}
    for row in batch:  # never sign over rows that do not chain on from the last checkpoint
        rows, prev = expected.get(row.stream, (0, GENESIS))
        if row.seq != rows + 1 or row.prev_hash != prev or receipts.row_hash(hashed_fields(row)) != row.hash:
            raise Conflict(f"Audit row {row.id} does not continue the chain: run `flask --app portal audit verify`.")
        expected[row.stream] = (row.seq, row.hash)
    previous_rows = previous.rows if previous is not None else 0
    rows = sum(length for length, _head in after.values())
    if _covered_count(after) != rows or rows != previous_rows + len(batch):
        raise Conflict(f"The audit chain no longer has the {previous_rows} rows of checkpoint "
                       f"{previous.sequence}: run `flask --app portal audit verify`.")
    newest = max(heads.values(), key=lambda row: row.id)
    checkpoint = AuditCheckpoint(
        sequence=(previous.sequence if previous is not None else 0) + 1, rows=rows, previous_rows=previous_rows,
        head_event_id=newest.id, head_hash=newest.hash, batch_root=receipts.merkle_root([r.hash for r in batch]),
        streams=[[stream, length, head] for stream, (length, head) in sorted(after.items())],
        created_at=utcnow().replace(microsecond=0), public_key=public_key_b64(), signature="")
    checkpoint.signature = base64.b64encode(signing_key().sign(checkpoint.message)).decode("ascii")
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def checkpoint_now() -> AuditCheckpoint | None:
    """Write and commit a checkpoint, then (with TSA_URL, outside any transaction) timestamp it and
    any earlier checkpoint still without a token. The periodic job and the CLI command."""
    checkpoint = create_checkpoint()
    commit()
    if current_app.config.get("TSA_URL"):
        stamp_pending()
    return checkpoint


# ---- RFC 3161 timestamps ----------------------------------------------------------------------------

def _post_timestamp_query(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
        return response.read(1024 * 1024)


def request_timestamp(message: bytes) -> tuple[bytes, receipts.TimestampInfo]:
    """Ask the TSA to stamp SHA-256(message); return the DER token once its imprint and nonce check."""
    nonce = secrets.randbits(63)
    query = receipts.timestamp_request(hashlib.sha256(message).digest(), nonce)
    reply = _post_timestamp_query(current_app.config["TSA_URL"], query, float(current_app.config.get("TSA_TIMEOUT", 10)))
    token = receipts.token_from_response(reply)
    return token, receipts.check_token(token, message, nonce)


def stamp_pending(limit: int = 10) -> int:
    """Timestamp checkpoints that have no token yet. No transaction is open during the HTTP calls,
    and a failing authority only leaves the checkpoint unstamped (logged; retried next time)."""
    pending = [(c.id, c.sequence, c.message) for c in db.session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.timestamp_token.is_(None))
        .order_by(AuditCheckpoint.sequence).limit(limit))]
    commit()  # end the read transaction before talking to the outside world
    stamped = 0
    for checkpoint_id, sequence, message in pending:
        try:
            token, info = request_timestamp(message)
        except (receipts.TimestampError, urllib.error.URLError, OSError, ValueError) as error:
            log.warning("audit checkpoint %s: timestamp authority failed (%s); stored without a token", sequence, error)
            continue
        checkpoint = db.session.get(AuditCheckpoint, checkpoint_id)
        checkpoint.timestamp_token = token
        checkpoint.timestamped_at = info.gen_time
        commit()
        stamped += 1
    return stamped


def periodic_checkpoint() -> None:
    checkpoint_now()


# ---- checking the chain against the checkpoints ----------------------------------------------------

@dataclass
class CheckpointProblem:
    sequence: int
    reason: str


@dataclass
class CheckpointReport:
    checked: int = 0
    problems: list[CheckpointProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_checkpoints(progress: Callable[[int], None] | None = None) -> CheckpointReport:
    """Each checkpoint is signed by this portal's key, and every stream still has the rows, head and
    batch it signed."""
    report = CheckpointReport()
    checkpoints = list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence)))
    trusted = public_key_b64()
    previous_rows, expected_sequence = 0, 1
    for checkpoint in checkpoints:
        problem = None
        if checkpoint.sequence != expected_sequence:
            problem = f"checkpoints {expected_sequence}..{checkpoint.sequence - 1} are missing"
        elif checkpoint.previous_rows != previous_rows:
            problem = f"previous_rows {checkpoint.previous_rows} does not follow the previous checkpoint ({previous_rows})"
        elif checkpoint.public_key != trusted:
            problem = "signed by a key that is not this portal's audit key"
        elif not receipts.verify_signature(checkpoint.public_key, checkpoint.signature, checkpoint.message):
            problem = "its signature does not verify (the checkpoint was edited)"
        elif checkpoint.timestamp_token:
            try:
                receipts.check_token(checkpoint.timestamp_token, checkpoint.message)
            except (receipts.TimestampError, ValueError) as error:
                problem = f"its timestamp token does not match: {error}"
        if problem:
            report.problems.append(CheckpointProblem(checkpoint.sequence, problem))
        expected_sequence, previous_rows = checkpoint.sequence + 1, checkpoint.rows

    signed = {c.sequence for c in checkpoints} - {p.sequence for p in report.problems}
    by_sequence = {c.sequence: c for c in checkpoints}
    for checkpoint in checkpoints:
        if checkpoint.sequence not in signed:
            continue
        problem = _check_against_streams(checkpoint, by_sequence, signed, progress)
        if problem:
            report.problems.append(CheckpointProblem(checkpoint.sequence, problem))
        else:
            report.checked += 1
    report.problems.sort(key=lambda p: p.sequence)
    return report


def _check_against_streams(checkpoint: AuditCheckpoint, by_sequence: dict[int, AuditCheckpoint], signed: set[int],
                           progress: Callable[[int], None] | None) -> str | None:
    """Why the streams no longer match this (validly signed) checkpoint, or None."""
    after = checkpoint.coverage
    for stream, (rows, head_hash) in sorted(after.items()):
        row = _row_at(stream, rows)
        if row is None:
            length = db.session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.stream == stream)) or 0
            if length < rows:
                return (f"stream {stream} has only {length} rows but the checkpoint covers {rows}, up to its head "
                        f"{head_hash[:16]}… (the newest rows were deleted)")
            return f"row {rows} of stream {stream} is missing (rows were deleted)"
        if row.hash != head_hash:
            return (f"row {rows} of stream {stream} (audit row {row.id}) has hash {row.hash[:16]}…, "
                    f"not {head_hash[:16]}… (rewritten)")
    head = db.session.get(AuditEvent, checkpoint.head_event_id)
    if head is None or head.hash != checkpoint.head_hash:
        return f"its head row {checkpoint.head_event_id} is gone or has another hash (rewritten)"
    if _covered_count(after) != checkpoint.rows:
        return f"the streams no longer hold exactly the {checkpoint.rows} rows it covers (rows were deleted or inserted)"
    if checkpoint.sequence == 1:
        before = {}
    elif checkpoint.sequence - 1 in signed:
        before = by_sequence[checkpoint.sequence - 1].coverage
    else:  # the previous checkpoint is missing or itself refused (reported): its batch has no known start
        return None
    batch = _batch(before, after, AuditEvent.hash)
    if progress is not None:
        progress(len(batch))
    if len(batch) != checkpoint.rows - checkpoint.previous_rows or receipts.merkle_root(batch) != checkpoint.batch_root:
        return "the rows it covers no longer have the signed batch root (rewritten)"
    return None


# ---- receipts for an upload ----------------------------------------------------------------------

def _covers(checkpoint: AuditCheckpoint, event: AuditEvent) -> bool:
    return checkpoint.coverage.get(event.stream, (0, ""))[0] >= event.seq


def first_checkpoint_covering(event: AuditEvent) -> AuditCheckpoint | None:
    """The earliest checkpoint whose stream lengths include the row (coverage only grows: binary search)."""
    latest = latest_checkpoint()
    if latest is None or not _covers(latest, event):
        return None
    found, low, high = latest, 1, latest.sequence - 1
    while low <= high:
        middle = (low + high) // 2
        probe = db.session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.sequence >= middle)
                                  .order_by(AuditCheckpoint.sequence).limit(1))
        if probe is not None and probe.sequence < found.sequence and _covers(probe, event):
            found, high = probe, middle - 1
        else:
            low = (probe.sequence if probe is not None else middle) + 1
    return found


def covered_event_ids(event_ids: list[int]) -> set[int]:
    """Which of these audit rows a checkpoint already covers."""
    latest = latest_checkpoint()
    if latest is None or not event_ids:
        return set()
    coverage = latest.coverage
    rows = db.session.execute(select(AuditEvent.id, AuditEvent.stream, AuditEvent.seq)
                              .where(AuditEvent.id.in_(event_ids)))
    return {i for i, stream, seq in rows if coverage.get(stream, (0, ""))[0] >= seq}


def upload_receipt(event: AuditEvent, file_sha256: str, subject: dict) -> dict:
    """A receipt proving that a file with `file_sha256` was recorded by audit row `event`, and (once a
    checkpoint covers it) that the row is in a signed, published checkpoint."""
    receipt = {
        "format": receipts.RECEIPT_FORMAT,
        "issued_at": iso_seconds(utcnow()),
        "portal": current_app.config.get("PUBLIC_BASE_URL"),
        "document": subject,
        "file": {"sha256": file_sha256},
        "audit_event": {"id": event.id, "hash": event.hash, "prev_hash": event.prev_hash,
                        "stream": event.stream, "seq": event.seq, "hashed": hashed_fields(event)},
        "checkpoint": None,
        "inclusion": None,
        "verify": "python -m portal.receipts verify RECEIPT.json FILE  (standalone: "
                  f"{current_app.config.get('PUBLIC_BASE_URL')}/transparency/audit/verify_receipt.py)",
    }
    checkpoint = first_checkpoint_covering(event)
    if checkpoint is None:
        receipt["status"] = "pending"
        receipt["note"] = "No checkpoint covers this upload yet; one is written every hour. Download the receipt again then."
        return receipt
    before = {}
    if checkpoint.sequence > 1:
        previous = db.session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.sequence == checkpoint.sequence - 1))
        if previous is None:
            raise Conflict("A checkpoint is missing: run `flask --app portal audit verify`.")
        before = previous.coverage
    batch = _batch(before, checkpoint.coverage, AuditEvent.hash)
    if event.hash not in batch or len(batch) != checkpoint.rows - checkpoint.previous_rows:
        raise Conflict("The audit chain no longer matches its checkpoint: run `flask --app portal audit verify`.")
    index = batch.index(event.hash)
    receipt["status"] = "anchored"
    receipt["checkpoint"] = checkpoint_json(checkpoint)
    receipt["inclusion"] = {"leaf_index": index, "tree_size": len(batch),
                            "path": receipts.inclusion_path(batch, index)}
    return receipt
