"""Jobs: apply the outbox to the backend after commit; retry what failed; clean up.

Applying rebuilds each touched document from the committed rows, so the order of outbox rows does
not matter and applying one twice is harmless. When the backend is down the rows stay (with the
error and the number of attempts) and the periodic retry picks them up: nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from portal.db import utcnow
from portal.extensions import db
from portal.search import documents
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


def apply_keys(keys: set[tuple[str, int]]) -> tuple[int, int]:
    """Rebuild `keys` from the database and send them to the backend. Returns (upserts, deletes)."""
    from portal.search.services import get_backend

    upserts, deletes = [], []
    for key in sorted(keys):
        document = documents.build(key)
        if document is None:
            deletes.append(key)
        else:
            upserts.append(document)
    get_backend().apply(upserts, deletes)
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
