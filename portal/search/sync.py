"""The transactional outbox: changes to searchable models are recorded in the same transaction.

An `after_flush` listener (where the pre-flush new/dirty/deleted sets and attribute history are
still visible, and new rows already have their ids) inserts one `search_outbox` row per touched
object on the flush's own connection, and queues `portal.search.tasks.apply_outbox` once per
transaction. A rollback takes the rows and the job with it; a commit hands the job to the job
system, which applies the rows to the backend. Other packages need no change: the listener reads
the models registered with registry.register_source.

ORM-enabled bulk UPDATE/DELETE statements (`update(Model).where(Model.id == x)`) bypass the flush;
`do_orm_execute` catches those whose WHERE names the primary key.
"""

from __future__ import annotations

import logging

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import iterate

from portal import jobs
from portal.db import utcnow
from portal.search.registry import source_for

log = logging.getLogger(__name__)

APPLY_JOB = "portal.search.tasks.apply_outbox"
DISABLED = "portal.search.disabled"  # session.info flag for bulk loads that reindex afterwards


def _changed(obj, watch) -> bool:
    state = inspect(obj)
    names = watch if watch is not None else [attr.key for attr in state.mapper.column_attrs]
    return any(state.attrs[name].history.has_changes() for name in names if name in state.attrs)


def _queue_apply(session: Session) -> None:
    pending = session.info.setdefault(jobs.PENDING, [])
    if not any(job.path == APPLY_JOB for job in pending):
        pending.append(jobs.Job(APPLY_JOB, (), {}))


def record(session: Session, keys: set[tuple[str, int]]) -> None:
    """Write outbox rows for `keys` in the session's transaction and queue the apply job."""
    from portal.search.models import SearchOutbox

    if not keys or session.info.get(DISABLED):
        return
    now = utcnow()
    session.connection().execute(SearchOutbox.__table__.insert(), [
        {"kind": kind, "object_id": object_id, "created_at": now, "attempts": 0, "last_error": ""}
        for kind, object_id in sorted(keys)])
    _queue_apply(session)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if session.info.get(DISABLED):
        return
    keys: set[tuple[str, int]] = set()
    for collection, is_dirty in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in collection:
            source = source_for(type(obj))
            if source is None or (is_dirty and not _changed(obj, source.watch)):
                continue
            if source.watch is not None and not is_dirty and obj in session.new:
                continue  # a new user or organisation is in no document yet
            keys.update((kind, object_id) for kind, object_id in source.keys(obj) if object_id is not None)
    record(session, keys)


def _bulk_ids(statement, model) -> list[int]:
    """Primary-key values named by `Model.id == value` or `Model.id IN (...)` in a WHERE clause."""
    primary = inspect(model).primary_key[0]
    ids: list[int] = []
    where = getattr(statement, "whereclause", None)
    if where is None:
        return ids
    for element in iterate(where):
        if not isinstance(element, BinaryExpression):
            continue
        left = element.left  # the ORM hands an annotated copy of the column
        if getattr(left, "table", None) is not primary.table or getattr(left, "name", None) != primary.name:
            continue
        right = element.right
        if element.operator is operators.eq and isinstance(right, BindParameter):
            ids.append(right.effective_value)
        elif element.operator is operators.in_op and isinstance(right, BindParameter):
            ids.extend(right.effective_value or [])
    return [i for i in ids if isinstance(i, int)]


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete) or state.session.info.get(DISABLED):
        return
    mapper = state.bind_mapper
    source = source_for(mapper.class_) if mapper is not None else None
    if source is None:
        return
    ids = _bulk_ids(state.statement, mapper.class_)
    if not ids:
        log.debug("search: bulk %s on %s without primary keys is not indexed", state.statement, mapper.class_)
        return
    keys: set[tuple[str, int]] = set()
    for object_id in ids:
        try:  # keys computed from the primary key alone (the statement's target may be any source)
            keys.update(source.keys(_Stub(object_id)))
        except AttributeError:  # keys need another attribute (ResourcePrice.resource_id): not known here
            log.debug("search: bulk statement on %s is not indexed", mapper.class_)
            return
    record(state.session, keys)


class _Stub:
    def __init__(self, object_id: int):
        self.id = object_id
