"""Jobs: apply the outbox to the backend after commit; retry what failed; clean up.

Applying rebuilds each touched document from the committed rows, so the order of outbox rows does
not matter and applying one twice is harmless. When the backend is down the rows stay (with the
error and the number of attempts) and the periodic retry picks them up: nothing is lost.

Two jobs applying the same document at once must not leave the older build indexed:
- on PostgreSQL a job takes a transaction-level advisory lock per document (in key order: no
  deadlock) BEFORE reading the rows it builds from, and keeps it until it commits, i.e. after the
  backend has the document. Jobs touching one document therefore build and write in turn, and the
  later one reads everything the earlier one read (READ COMMITTED: each statement sees all commits);
- every Elasticsearch write carries an external version (`version_type=external_gte`) read under
  those locks: the outbox id sequence's current value on PostgreSQL (monotonic, so the later lock
  holder sends a version at least as high), the clock in microseconds on SQLite (single-writer
  database, one worker). A write whose version is below the indexed one is a stale build and is
  dropped as a success.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import delete, func, literal_column, select, text, update

from portal.db import utcnow
from portal.extensions import db
from portal.search import documents, registry
from portal.search.backend import get_backend
from portal.search.interfaces import SearchUnavailable
from portal.search.models import SearchOutbox

log = logging.getLogger(__name__)

BATCH = 500
KEEP_APPLIED = timedelta(days=1)


def _pending(limit: int) -> list[SearchOutbox]:
    stmt = (select(SearchOutbox).where(SearchOutbox.applied_at.is_(None)).order_by(SearchOutbox.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # two workers never apply the same rows
    return list(db.session.scalars(stmt))


def lock_documents(keys: set[tuple[str, int]]) -> None:
    """PostgreSQL: hold an advisory lock per document until commit (see the module docstring), then
    forget loaded objects so the documents are built from what is committed now."""
    if db.session.get_bind().dialect.name != "postgresql" or not keys:
        return
    for doc_type, object_id in sorted(keys):
        db.session.execute(select(func.pg_advisory_xact_lock(registry.document_type(doc_type).lock_class, object_id)))
    db.session.expire_all()


def current_version(floor: int = 0) -> int:
    """A version read under the locks. PostgreSQL: the outbox id sequence's current value (shared by
    every worker, never reused). SQLite (one writer, one worker): the time in microseconds, since its
    row ids restart once old rows are cleaned up."""
    if db.session.get_bind().dialect.name == "postgresql":
        value = db.session.scalar(select(literal_column("last_value")).select_from(text("search_outbox_id_seq")))
        return max(int(value or 0), floor)
    return max(time.time_ns() // 1000, floor)


def apply_keys(keys: set[tuple[str, int]], version: int = 0) -> tuple[int, int]:
    """Rebuild `keys` from the database and send them to the backend. Returns (upserts, deletes).

    `version` orders Elasticsearch writes (see the module docstring); 0 means "read it now"."""
    lock_documents(keys)
    version = current_version(version)
    upserts, deletes = [], []
    for key in sorted(keys):
        document = documents.build(key)
        if document is None:
            deletes.append(key)
        else:
            upserts.append(document)
    get_backend().apply(upserts, deletes, version=version)
    return len(upserts), len(deletes)


def apply_outbox(limit: int = BATCH) -> int:
    """Apply pending outbox rows (a batch per call, until none are left). Returns rows applied."""
    applied = 0
    while True:
        rows = _pending(limit)
        if not rows:
            return applied
        keys: set[tuple[str, int]] = set()
        for row in rows:
            keys |= documents.expand(row.kind, row.object_id)
        ids = [row.id for row in rows]
        try:
            apply_keys(keys)
        except SearchUnavailable as error:
            db.session.rollback()
            db.session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids)).values(
                attempts=SearchOutbox.attempts + 1, last_error=str(error)[:500]))
            log.warning("search: %d outbox rows not applied, will retry: %s", len(ids), error)
            return applied
        db.session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids)).values(applied_at=utcnow(),
                                                                                     last_error=""))
        applied += len(ids)
        if len(rows) < limit:
            return applied


def retry_outbox() -> int:
    """Periodic: apply what is still pending and forget rows applied more than a day ago."""
    applied = apply_outbox()
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.applied_at < utcnow() - KEEP_APPLIED))
    return applied
