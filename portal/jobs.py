"""Background work behind one small interface.

`enqueue("package.module.function", *args)` records a job on the current unit of work. Nothing
leaves the process before the transaction commits: on commit the jobs go to RQ when `REDIS_URL`
is set (run by the `worker` process), or run inline right after the commit otherwise. On rollback
they are dropped, so a job never sees data that was not committed.

Jobs are named by import path so that both RQ and the inline runner can find them, and each job
is its own unit of work: it commits on success and rolls back on failure.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

log = logging.getLogger(__name__)

PENDING = "portal.jobs.pending"
COMMITTED = "portal.jobs.committed"
QUEUE_NAME = "portal"


@dataclass(frozen=True)
class Job:
    path: str
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class Periodic:
    path: str
    every_seconds: int


# Periodic work registered by the domain packages (settlement, reminders, outbox retries...).
PERIODIC: dict[str, Periodic] = {}


def register_periodic(name: str, path: str, every_seconds: int) -> None:
    PERIODIC[name] = Periodic(path, every_seconds)


def enqueue(path: str, *args, **kwargs) -> None:
    """Run `path(*args, **kwargs)` after the current transaction commits."""
    resolve(path)  # fail now, in the caller, if the job does not exist
    db.session.info.setdefault(PENDING, []).append(Job(path, args, kwargs))


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
    """Hand over the jobs whose transaction has committed."""
    while True:
        committed = db.session.info.pop(COMMITTED, None)
        if not committed:
            return
        for job in committed:
            if current_app.config["JOBS_INLINE"]:
                run_inline(job)
            else:
                get_queue().enqueue(execute, job.path, job.args, job.kwargs)


def run_inline(job: Job) -> None:
    try:
        resolve(job.path)(*job.args, **job.kwargs)
        commit_and_dispatch()
    except Exception:  # a failed background job must never fail the request that queued it
        db.session.rollback()
        discard_pending()
        log.exception("inline job %s failed", job.path)


def execute(path: str, args: tuple, kwargs: dict) -> None:
    """Entry point for RQ workers; runs inside the app context the worker command pushed."""
    # A forked work-horse must not reuse the parent's database sockets.
    db.engine.dispose(close=False)
    try:
        resolve(path)(*args, **kwargs)
        commit_and_dispatch()
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


def get_redis():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def get_queue():
    from rq import Queue

    return Queue(QUEUE_NAME, connection=get_redis())


def run_periodic_once() -> list[str]:
    """Run every periodic job now (inline). For cron-style deployments without Redis."""
    ran = []
    for name, periodic in sorted(PERIODIC.items()):
        resolve(periodic.path)()
        commit_and_dispatch()
        ran.append(name)
    return ran


def scheduler_loop(app, stop: threading.Event, tick: float = 15.0) -> None:
    """Enqueue each periodic job at most once per interval across all workers (Redis lock)."""
    with app.app_context():
        redis = get_redis()
        queue = get_queue()
        while not stop.is_set():
            for name, periodic in PERIODIC.items():
                if redis.set(f"portal:periodic:{name}", int(time.time()), nx=True, ex=periodic.every_seconds):
                    queue.enqueue(execute, periodic.path, (), {})
            stop.wait(tick)
