"""Background work behind one small interface.

`enqueue("package.module.function", *args)` records a job on the current unit of work. Nothing
leaves the process before the transaction commits, and nothing committed is lost:

- Without `REDIS_URL` (`JOBS_INLINE`), jobs run inline right after the commit; on rollback they are
  dropped.
- With `REDIS_URL`, each job is also written as a `job_outbox` row in the same transaction, so a
  committed row always has its job and a rollback drops both. After the commit the rows are pushed
  to RQ (run by the `worker` process) and marked delivered. If Redis is unreachable the request still
  succeeds and the rows wait: a relay (`relay()`: the scheduler loop of `jobs worker --with-scheduler`,
  `jobs relay`, and opportunistically the web process after a successful push) delivers the backlog
  when Redis is back.

Each outbox row is delivered exactly once: a relay claims rows with a lease (a conditional UPDATE,
`FOR UPDATE SKIP LOCKED` on PostgreSQL) so that two hosts never push the same row, and the RQ job id
is derived from the row (`outbox-<id>-<created_at>`, enqueued as unique), so a re-delivery after a
crash between the push and the "delivered" mark finds the job already there instead of creating a
second one.
No database lock is held while Redis is called: claims commit before the push.

Jobs are named by import path so that both RQ and the inline runner can find them; their arguments
must be JSON (ids and strings). Each job is its own unit of work: it commits on success and rolls
back on failure. A job enqueued during a request carries the request's id (`g.request_id`), and runs
with it set again in `g`, so the job's log lines carry the request's id.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import JSON, Index, Integer, String, delete, event, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

PENDING = "portal.jobs.pending"
COMMITTED = "portal.jobs.committed"
QUEUE_NAME = "portal"

# Redis calls from the web process must fail fast when Redis is down: a request waits at most this
# long on a dead or black-holed Redis (connection refused fails at once).
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_SOCKET_TIMEOUT = 1.0
# After a failed push the web process leaves Redis alone for this long (rows wait in the outbox).
REDIS_RETRY_AFTER = 5.0
# A claimed outbox row is someone's to deliver for this long; after that another relay may take it.
OUTBOX_LEASE_SECONDS = 60
# The web process looks for a backlog at most this often (and at once after an outage it saw).
OUTBOX_RELAY_EVERY = 30.0
OUTBOX_BATCH = 100
# Delivered outbox rows are kept this long (to look into what was sent), then purged.
OUTBOX_KEEP_DAYS = 7
# RQ keeps a finished job (and so its id, which makes a re-delivery a no-op) this long.
RQ_RESULT_TTL = 24 * 3600

_PROCESS_TOKEN = uuid.uuid4().hex


class JobOutbox(db.Model):
    """A job whose transaction committed, waiting for (or already given to) RQ."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_delivered_at_id", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON)
    kwargs: Mapped[dict] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # The relay that may push this row now, until `claimed_until`.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Job:
    path: str
    args: tuple
    kwargs: dict
    request_id: str | None = None
    outbox: JobOutbox | None = field(default=None, compare=False)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Periodic:
    path: str
    every_seconds: int


# Periodic work registered by the domain packages (settlement, reminders, outbox retries...).
PERIODIC: dict[str, Periodic] = {}


def register_periodic(name: str, path: str, every_seconds: int) -> None:
    PERIODIC[name] = Periodic(path, every_seconds)


register_periodic("jobs.purge_outbox", "portal.jobs.purge_delivered", 6 * 3600)


def enqueue(path: str, *args, **kwargs) -> None:
    """Run `path(*args, **kwargs)` after the current transaction commits."""
    resolve(path)  # fail now, in the caller, if the job does not exist
    try:
        json.dumps([args, kwargs])
    except (TypeError, ValueError):
        raise TypeError(f"arguments of job {path} must be JSON (ids and strings), got {args!r} {kwargs!r}") from None
    request_id = _current_request_id()
    outbox = None
    now = utcnow()
    if not current_app.config["JOBS_INLINE"]:
        # Pre-claimed by this process, which pushes it right after the commit.
        outbox = JobOutbox(path=path, args=list(args), kwargs=dict(kwargs), request_id=request_id, created_at=now,
                           attempts=1, last_error="", claim_token=_PROCESS_TOKEN,
                           claimed_until=now + timedelta(seconds=OUTBOX_LEASE_SECONDS))
        db.session.add(outbox)
    db.session.info.setdefault(PENDING, []).append(Job(path, args, kwargs, request_id, outbox, now))


def _current_request_id() -> str | None:
    request_id = g.get("request_id") if has_app_context() else None
    return str(request_id)[:64] if request_id else None


def resolve(path: str) -> Callable:
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    session.info.pop(PENDING, None)


def discard_pending() -> None:
    db.session.info.pop(PENDING, None)


def commit_and_dispatch() -> None:
    """Commit the unit of work, then hand jobs queued during it to the job system (what
    `portal.db.commit` does: the job runners use it here so that portal.db and portal.jobs do not
    import each other)."""
    db.session.commit()
    dispatch_committed()


def dispatch_committed() -> None:
    """Hand over the jobs whose transaction has committed. Never raises for an unreachable Redis:
    the jobs then wait in the outbox."""
    while True:
        committed = db.session.info.pop(COMMITTED, None)
        if not committed:
            return
        if current_app.config["JOBS_INLINE"]:
            for job in committed:
                run_inline(job)
            continue
        rows = [_row_of(job) for job in committed if job.outbox is not None]
        _deliver_claimed([row for row in rows if row["id"] is not None])


def _row_of(job: Job) -> dict:
    # The identity survives the commit's expiry, so reading it costs no query.
    identity = db.inspect(job.outbox).identity
    return {"id": identity[0] if identity else None, "path": job.path, "args": list(job.args),
            "kwargs": dict(job.kwargs), "request_id": job.request_id, "created_at": job.created_at}


def run_inline(job: Job) -> None:
    set_request_id = job.request_id and not g.get("request_id")
    if set_request_id:
        g.request_id = job.request_id
    try:
        resolve(job.path)(*job.args, **job.kwargs)
        commit_and_dispatch()
    except Exception:  # a failed background job must never fail the request that queued it
        db.session.rollback()
        discard_pending()
        log.exception("inline job %s failed", job.path)
    finally:
        if set_request_id:
            g.pop("request_id", None)


def execute(path: str, args: tuple, kwargs: dict, request_id: str | None = None,
            outbox_id: int | None = None) -> None:
    """Entry point for RQ workers; runs inside the app context the worker command pushed."""
    # A forked work-horse must not reuse the parent's database sockets.
    db.engine.dispose(close=False)
    previous = g.get("request_id")
    if request_id:
        g.request_id = request_id
    try:
        resolve(path)(*args, **kwargs)
        commit_and_dispatch()
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()
        if request_id:
            if previous is None:
                g.pop("request_id", None)
            else:
                g.request_id = previous


# ---- Redis ---------------------------------------------------------------------------------------

def get_redis(for_worker: bool = False):
    """A Redis client with short timeouts, shared by the process (one connection pool per URL).
    `for_worker`: a client of its own, whose socket timeout RQ's worker raises for its blocking pops."""
    from redis import Redis

    url = current_app.config["REDIS_URL"]
    options = {"socket_connect_timeout": REDIS_CONNECT_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT}
    if for_worker:
        return Redis.from_url(url, **options)
    clients = current_app.extensions.setdefault("portal.redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url, **options)
    return clients[url]


def get_queue(connection=None):
    from rq import Queue

    return Queue(QUEUE_NAME, connection=connection or get_redis())


def queue_depth() -> int | None:
    """Jobs waiting in the RQ queue; 0 when jobs run inline, None when Redis is unreachable."""
    from redis.exceptions import RedisError

    if current_app.config["JOBS_INLINE"] or not current_app.config.get("REDIS_URL"):
        return 0
    try:
        return int(get_queue().count)
    except RedisError:
        return None


def outbox_lag_seconds() -> float:
    """Age in seconds of the oldest job not yet handed to Redis; 0 when the outbox is empty."""
    oldest = db.session.scalar(select(func.min(JobOutbox.created_at)).where(JobOutbox.delivered_at.is_(None)))
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # in case min() bypassed the column type
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())


# ---- delivery ------------------------------------------------------------------------------------

_state = {"redis_down_until": 0.0, "backlog": False, "last_relay": 0.0, "outage_logged": False}
_state_lock = threading.Lock()


def _note_redis_down(error: Exception) -> None:
    with _state_lock:
        _state["redis_down_until"] = time.monotonic() + REDIS_RETRY_AFTER
        _state["backlog"] = True
        first = not _state["outage_logged"]
        _state["outage_logged"] = True
    if first:
        log.warning("Redis unreachable (%s): jobs wait in the database outbox until it is back",
                    type(error).__name__)


def _note_redis_up() -> None:
    with _state_lock:
        was_down = _state["outage_logged"]
        _state["outage_logged"] = False
        _state["redis_down_until"] = 0.0
    if was_down:
        log.info("Redis reachable again: relaying the job outbox")


def _deliver_claimed(rows: list[dict]) -> None:
    """After a request's commit: push the rows it wrote (claimed by this process), then mark them."""
    if not rows:
        return
    ids = [row["id"] for row in rows]
    if time.monotonic() < _state["redis_down_until"]:
        _release(ids, _PROCESS_TOKEN, None)  # Redis failed a moment ago: leave them to the relay
        return
    delivered, error = _push(rows)
    _finish(delivered, [i for i in ids if i not in delivered], _PROCESS_TOKEN, error)
    if error is None:
        _maybe_relay_backlog()


def _maybe_relay_backlog() -> None:
    """Cheap and bounded: right after an outage this process saw, or every OUTBOX_RELAY_EVERY seconds."""
    now = time.monotonic()
    if not _state["backlog"] and now - _state["last_relay"] < OUTBOX_RELAY_EVERY:
        return
    _state["last_relay"] = now
    _state["backlog"] = False
    from redis.exceptions import RedisError

    try:
        relay(limit=OUTBOX_BATCH)
    except RedisError:
        pass  # noted by _push; the scheduler loop relays anyway
    except Exception:  # opportunistic: the scheduler loop relays anyway
        _safe_rollback()
        log.exception("opportunistic outbox relay failed")


def relay(limit: int = OUTBOX_BATCH) -> int:
    """Deliver undelivered outbox rows to RQ, oldest first, in batches; returns how many were pushed
    now. Safe to run on several hosts at once: each row goes to exactly one relay. Raises Redis's
    error when Redis is unreachable (the rows stay in the outbox)."""
    if current_app.config["JOBS_INLINE"] or not current_app.config.get("REDIS_URL"):
        return 0
    total = 0
    while True:
        token, rows = _claim(limit)
        if not rows:
            return total
        delivered, error = _push(rows)
        _finish(delivered, [r["id"] for r in rows if r["id"] not in delivered], token, error)
        total += len(delivered)
        if error is not None:
            raise error  # the rows are released for the next relay
        if len(rows) < limit:
            return total


def _claim(limit: int) -> tuple[str, list[dict]]:
    """Take up to `limit` undelivered rows nobody holds, for OUTBOX_LEASE_SECONDS. One conditional
    UPDATE (its row choice `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent relays take different
    rows instead of waiting; on SQLite the statement takes the write lock at once). Commits at once:
    no lock is held while Redis is called."""
    token = uuid.uuid4().hex
    now = utcnow()
    free = (JobOutbox.delivered_at.is_(None),
            or_(JobOutbox.claimed_until.is_(None), JobOutbox.claimed_until < now))
    candidates = select(JobOutbox.id).where(*free).order_by(JobOutbox.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    try:
        claimed = db.session.execute(
            update(JobOutbox).where(JobOutbox.id.in_(candidates.scalar_subquery()), *free)
            .values(claim_token=token, claimed_until=now + timedelta(seconds=OUTBOX_LEASE_SECONDS),
                    attempts=JobOutbox.attempts + 1),
            execution_options={"synchronize_session": False}).rowcount
        mine = select(JobOutbox).where(JobOutbox.delivered_at.is_(None), JobOutbox.claim_token == token)
        rows = _rows(mine.order_by(JobOutbox.id)) if claimed else []
        db.session.commit()
    except Exception:
        _safe_rollback()
        raise
    return token, rows


def _rows(statement) -> list[dict]:
    return [{"id": r.id, "path": r.path, "args": list(r.args or ()), "kwargs": dict(r.kwargs or {}),
             "request_id": r.request_id, "created_at": r.created_at}
            for r in db.session.execute(statement.execution_options(populate_existing=True)).scalars()]


def _push(rows: list[dict]) -> tuple[set[int], Exception | None]:
    """Give rows to RQ as unique jobs (`rq_job_id`). Returns the ids now in Redis (including those
    found already there) and the Redis error that stopped the batch, if any."""
    from redis.exceptions import RedisError

    delivered: set[int] = set()
    if not rows:
        return delivered, None
    try:
        queue = get_queue()
        for row in rows:
            _enqueue_unique(queue, row)
            delivered.add(row["id"])
    except RedisError as error:
        _note_redis_down(error)
        return delivered, error
    except Exception as error:  # never fail the committed request: the relay tries these rows again
        log.exception("could not hand outbox rows to RQ; they stay in the outbox")
        return delivered, error
    _note_redis_up()
    return delivered, None


def rq_job_id(outbox_id: int, created_at: datetime) -> str:
    """The RQ job id of an outbox row: its id, and its creation time so that an id a database reuses
    (a restore, SQLite after a purge) never collides with an old job still kept in Redis."""
    return f"outbox-{outbox_id}-{created_at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')}"


def _enqueue_unique(queue, row: dict) -> None:
    from rq.job import Job as RQJob

    job_id = rq_job_id(row["id"], row["created_at"])
    options = {"args": (row["path"], tuple(row["args"]), row["kwargs"]),
               "kwargs": {"request_id": row["request_id"], "outbox_id": row["id"]},
               "job_id": job_id, "result_ttl": RQ_RESULT_TTL, "description": row["path"]}
    try:
        from rq.exceptions import DuplicateJobError
    except ImportError:  # RQ 2: check, then enqueue (the claim keeps other relays away)
        if not RQJob.exists(job_id, connection=queue.connection):
            queue.enqueue_call(execute, **options)
        return
    try:
        queue.enqueue_call(execute, unique=True, **options)
    except DuplicateJobError:
        log.info("outbox row %s was already in Redis (job %s): not enqueued again", row["id"], job_id)


def _finish(delivered: set[int], failed: list[int], token: str, error: Exception | None) -> None:
    """Mark pushed rows delivered and release the others, in one short transaction."""
    try:
        if delivered:
            db.session.execute(
                update(JobOutbox).where(JobOutbox.id.in_(delivered), JobOutbox.claim_token == token)
                .values(delivered_at=utcnow(), claim_token=None, claimed_until=None, last_error=""),
                execution_options={"synchronize_session": False})
        if failed:
            _release_statement(failed, token, error)
        db.session.commit()
    except Exception:
        _safe_rollback()
        # The rows stay claimed until the lease ends; a relay then finds their jobs already in Redis.
        log.exception("could not mark outbox rows delivered; the relay will finish them")


def _release(ids: list[int], token: str, error: Exception | None) -> None:
    try:
        _release_statement(ids, token, error)
        db.session.commit()
    except Exception:
        _safe_rollback()
        log.exception("could not release outbox rows %s; their claim expires by itself", ids)


def _release_statement(ids: list[int], token: str, error: Exception | None) -> None:
    values: dict[str, Any] = {"claim_token": None, "claimed_until": None}
    if error is not None:
        values["last_error"] = f"{type(error).__name__}: {error}"[:500]
    db.session.execute(update(JobOutbox).where(JobOutbox.id.in_(ids), JobOutbox.claim_token == token)
                       .values(**values), execution_options={"synchronize_session": False})


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database itself may be the thing that is down
        log.debug("rollback failed", exc_info=True)


def purge_delivered() -> int:
    """Delete outbox rows delivered more than OUTBOX_KEEP_DAYS ago (a periodic job)."""
    cutoff = utcnow() - timedelta(days=OUTBOX_KEEP_DAYS)
    result = db.session.execute(delete(JobOutbox).where(JobOutbox.delivered_at < cutoff),
                                execution_options={"synchronize_session": False})
    return result.rowcount or 0


# ---- periodic work -------------------------------------------------------------------------------

def run_periodic_once() -> list[str]:
    """Run every periodic job now (inline). For cron-style deployments without Redis."""
    ran = []
    for name, periodic in sorted(PERIODIC.items()):
        resolve(periodic.path)()
        commit_and_dispatch()
        ran.append(name)
    return ran


def schedule_periodic_once(redis, queue) -> list[str]:
    """Enqueue each periodic job whose interval has passed (one Redis lock per job and interval, so
    several schedulers enqueue it once)."""
    enqueued = []
    for name, periodic in PERIODIC.items():
        if redis.set(f"portal:periodic:{name}", int(time.time()), nx=True, ex=periodic.every_seconds):
            queue.enqueue(execute, periodic.path, (), {})
            enqueued.append(name)
    return enqueued


def scheduler_loop(app, stop: threading.Event, tick: float = 15.0, relay_outbox: bool = True) -> None:
    """Every `tick` seconds: enqueue the periodic jobs that are due across all workers (Redis lock),
    and relay the job outbox. Survives Redis and database outages: it logs once and tries again."""
    with app.app_context():
        redis = get_redis()
        queue = get_queue(redis)
        failing: set[str] = set()
        while not stop.is_set():
            for what, step in (("periodic jobs", lambda: schedule_periodic_once(redis, queue)),
                               ("outbox relay", relay if relay_outbox else None)):
                if step is None:
                    continue
                try:
                    step()
                    if what in failing:
                        failing.discard(what)
                        log.info("scheduler: %s work again", what)
                except Exception as error:
                    _safe_rollback()
                    if what not in failing:
                        failing.add(what)
                        log.warning("scheduler: %s failed (%s: %s); retrying every %ss", what,
                                    type(error).__name__, error, tick)
                    else:
                        log.debug("scheduler: %s still failing", what, exc_info=True)
                finally:
                    if what == "outbox relay":
                        db.session.remove()
            stop.wait(tick)
