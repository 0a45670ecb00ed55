"""With REDIS_URL, jobs go through a database outbox: a committed row never loses its job, a rollback
drops it, Redis being down costs no request and no mail, and each job reaches RQ exactly once.

These tests run a real redis-server of their own on a free port and stop and restart it."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from flask import g
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from portal import jobs
from portal.db import commit, rollback
from portal.jobs import JobOutbox
from tests.services import RedisServer

SEEN: list[tuple[str, str | None]] = []


def record(value: str) -> None:
    SEEN.append((value, g.get("request_id")))


def reset_jobs_state(app) -> None:
    jobs._state.update(redis_down_until=0.0, backlog=False, last_relay=time.monotonic(), outage_logged=False)
    app.extensions.pop("portal.redis", None)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outbox_app(app, db_session, redis_server):
    """The test app with REDIS_URL set (jobs through the outbox), on the test's own redis-server."""
    SEEN.clear()
    app.config.update(REDIS_URL=redis_server.url, JOBS_INLINE=False)
    reset_jobs_state(app)
    yield app
    app.config.update(REDIS_URL=None, JOBS_INLINE=True)
    reset_jobs_state(app)


def outbox_rows(db_session, path: str | None = None) -> list[JobOutbox]:
    statement = select(JobOutbox).order_by(JobOutbox.id).execution_options(populate_existing=True)
    if path:
        statement = statement.where(JobOutbox.path == path)
    return list(db_session.scalars(statement))


def run_worker(app) -> None:
    from rq import SimpleWorker

    queue = jobs.get_queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


# ---- the outbox follows the transaction ---------------------------------------------------------

def test_a_committed_job_is_an_outbox_row_delivered_to_rq_and_a_rollback_drops_it(outbox_app, db_session):
    jobs.enqueue("tests.portal.test_outbox.record", "dropped")
    rollback()
    assert outbox_rows(db_session) == []
    jobs.enqueue("tests.portal.test_outbox.record", "kept")
    commit()
    [row] = outbox_rows(db_session)
    assert row.delivered_at is not None and row.args == ["kept"] and row.last_error == ""
    queue = jobs.get_queue()
    assert queue.job_ids == [jobs.rq_job_id(row.id, row.created_at)]
    assert jobs.queue_depth() == 1 and jobs.outbox_lag_seconds() == 0
    run_worker(outbox_app)
    assert SEEN == [("kept", None)]
    assert jobs.queue_depth() == 0


def test_jobs_carry_the_request_id_into_the_worker(outbox_app, db_session):
    with outbox_app.test_request_context("/"):
        g.request_id = "req-4711"
        jobs.enqueue("tests.portal.test_outbox.record", "from a request")
        commit()
        g.pop("request_id")
    [row] = outbox_rows(db_session)
    assert row.request_id == "req-4711"
    run_worker(outbox_app)
    assert SEEN == [("from a request", "req-4711")]
    assert g.get("request_id") is None  # set for the job only


def test_inline_jobs_keep_the_request_id(app, db_session):
    SEEN.clear()
    with app.test_request_context("/"):
        g.request_id = "req-inline"
        jobs.enqueue("tests.portal.test_outbox.record", "inline")
        commit()
    assert SEEN == [("inline", "req-inline")]
    assert outbox_rows(db_session) == []  # no outbox without Redis


# ---- Redis down: the request succeeds, the mail arrives once when Redis is back -----------------

def test_a_problem_report_while_redis_is_down_is_mailed_once_when_redis_returns(
        outbox_app, redis_server, client, bearer, factories, db_session, mail_outbox):
    from resources.models import ProblemReport
    from tests.resources.factories import ResourceFactory

    owner = factories.UserFactory(roles=["company"], locale="en")
    lab = ResourceFactory(organisation=factories.OrganisationFactory(kind="company", owner=owner))
    headers = bearer(factories.UserFactory(locale="en"))
    staff_email = owner.email
    redis_server.stop()

    started = time.monotonic()
    made = client.post(f"/api/v1/resources/{lab.id}/problems", headers=headers, json={"description": "Coolant leak"})
    assert made.status_code == 201, made.json
    assert time.monotonic() - started < 5
    count = db_session.scalar(select(func.count()).select_from(ProblemReport).where(ProblemReport.resource_id == lab.id))
    assert count == 1
    [waiting] = outbox_rows(db_session, "portal.mail.deliver")
    assert waiting.delivered_at is None and "ConnectionError" in waiting.last_error
    assert waiting.args[0] == staff_email
    assert jobs.outbox_lag_seconds() >= 0 and jobs.queue_depth() is None
    with pytest.raises(RedisError):  # still down: the relay leaves the row where it is
        jobs.relay()
    assert outbox_rows(db_session, "portal.mail.deliver")[0].delivered_at is None
    assert mail_outbox == []

    redis_server.start()
    undelivered = len([r for r in outbox_rows(db_session) if r.delivered_at is None])
    assert jobs.relay() == undelivered
    assert jobs.relay() == 0
    assert all(r.delivered_at is not None for r in outbox_rows(db_session))
    queue = jobs.get_queue()
    assert queue.count == undelivered

    # A relay that crashed after the push but before the "delivered" mark: delivering again adds no job.
    db_session.execute(update(JobOutbox).values(delivered_at=None, claim_token=None, claimed_until=None))
    db_session.commit()
    assert jobs.relay() == undelivered
    assert queue.count == undelivered

    run_worker(outbox_app)
    mails = [m for m in mail_outbox if m["To"] == staff_email]
    assert len(mails) == 1 and "Coolant leak" in mails[0].get_content()


def test_the_next_successful_request_relays_what_waited(outbox_app, redis_server, client, bearer, factories,
                                                      db_session):
    from tests.resources.factories import ResourceFactory

    owner = factories.UserFactory(roles=["company"], locale="en")
    lab = ResourceFactory(organisation=factories.OrganisationFactory(kind="company", owner=owner))
    headers = bearer(factories.UserFactory(locale="en"))
    redis_server.stop()
    assert client.post(f"/api/v1/resources/{lab.id}/problems", headers=headers,
                       json={"description": "first"}).status_code == 201
    redis_server.start()
    jobs._state["redis_down_until"] = 0.0  # (the web process waits REDIS_RETRY_AFTER before trying again)
    assert client.post(f"/api/v1/resources/{lab.id}/problems", headers=headers,
                       json={"description": "second"}).status_code == 201
    rows = outbox_rows(db_session, "portal.mail.deliver")
    assert len(rows) == 2 and all(r.delivered_at is not None for r in rows)
    assert jobs.get_queue().count == len(outbox_rows(db_session))


# ---- two relays, one delivery ---------------------------------------------------------------------

def test_two_relays_never_claim_the_same_row(outbox_app, db_session):
    from datetime import timedelta

    from portal.db import utcnow

    for value in ("a", "b", "c"):
        db_session.add(JobOutbox(path="tests.portal.test_outbox.record", args=[value], kwargs={}, attempts=0,
                                 last_error=""))
    db_session.commit()
    _token, first = jobs._claim(10)
    _other, second = jobs._claim(10)
    assert [r["args"] for r in first] == [["a"], ["b"], ["c"]] and second == []
    # The first relay died holding them: once its lease is over, another relay takes them.
    db_session.execute(update(JobOutbox).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db_session.commit()
    _third, again = jobs._claim(10)
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert jobs.relay() == 0  # still leased to the third relay
    assert [r.attempts for r in outbox_rows(db_session)] == [2, 2, 2]


# ---- the scheduler loop relays while Redis comes and goes ----------------------------------------

class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tick() -> None:
    SEEN.append(("tick", None))


def test_the_scheduler_loop_survives_redis_outages_and_relays_when_it_returns(tmp_path, redis_server, monkeypatch):
    from flask_migrate import upgrade

    from portal.extensions import db
    from tests.conftest import make_test_app
    from tests.dbutil import drop_scratch_database, scratch_database_url

    url = scratch_database_url("outbox_loop", tmp_path)
    scratch = make_test_app(url, REDIS_URL=redis_server.url, JOBS_INLINE=False)
    monkeypatch.setattr(jobs, "PERIODIC", {})  # only this test's periodic job (after create_app registered theirs)
    jobs.register_periodic("test-outbox-tick", "tests.portal.test_outbox.tick", 3600)
    reset_jobs_state(scratch)
    stop = threading.Event()
    handler = ListHandler()
    try:
        with scratch.app_context():
            upgrade()  # (alembic's logging setup replaces the root handlers: listen on portal.jobs itself)
            logging.getLogger("portal.jobs").addHandler(handler)
            monkeypatch.setattr(logging.getLogger("portal.jobs"), "level", logging.INFO)
            redis_server.stop()
            jobs.enqueue("tests.portal.test_outbox.record", "waited")
            commit()  # Redis is down: the row waits
            db.session.remove()
            loop = threading.Thread(target=jobs.scheduler_loop, args=(scratch, stop, 0.05), daemon=True)
            loop.start()
            time.sleep(0.5)
            assert loop.is_alive()
            assert db.session.scalar(select(JobOutbox.delivered_at)) is None
            redis_server.start()
            deadline = time.monotonic() + 10
            while db.session.scalar(select(JobOutbox.delivered_at).execution_options(populate_existing=True)) is None:
                assert time.monotonic() < deadline, "the scheduler loop did not relay the outbox"
                db.session.remove()
                time.sleep(0.05)
            redis = Redis.from_url(redis_server.url)
            while redis.llen("rq:queue:portal") < 2:  # the periodic tick too, on a later round
                assert time.monotonic() < deadline, "the scheduler loop did not enqueue the periodic job"
                time.sleep(0.05)
            stop.set()
            loop.join(5)
            queued = [i.decode() for i in redis.lrange("rq:queue:portal", 0, -1)]
            assert len(queued) == 2 and sum(i.startswith("outbox-") for i in queued) == 1  # the job, the tick
            warnings = [m for m in handler.messages if "outbox relay failed" in m]
            assert len(warnings) == 1  # said once, not every tick
            assert any("outbox relay work again" in m for m in handler.messages)
            db.session.remove()
            db.engine.dispose()
    finally:
        stop.set()
        logging.getLogger("portal.jobs").removeHandler(handler)
        reset_jobs_state(scratch)
        drop_scratch_database(url)


def test_relays_on_two_hosts_at_once_deliver_each_row_once(tmp_path, redis_server):
    """Two relays (own connections, as on two hosts) drain one backlog: each row claimed and pushed once."""
    from flask_migrate import upgrade

    from portal.extensions import db
    from tests.conftest import make_test_app
    from tests.dbutil import drop_scratch_database, scratch_database_url

    url = scratch_database_url("outbox_race", tmp_path)
    scratch = make_test_app(url, REDIS_URL=redis_server.url, JOBS_INLINE=False)
    reset_jobs_state(scratch)
    try:
        with scratch.app_context():
            upgrade()
            db.session.add_all([JobOutbox(path="tests.portal.test_outbox.record", args=[str(n)], kwargs={},
                                          attempts=0, last_error="") for n in range(60)])
            db.session.commit()
            db.session.remove()
        delivered: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def host():
            with scratch.app_context():
                try:
                    start.wait()
                    while True:
                        pushed = jobs.relay(limit=7)
                        delivered.append(pushed)
                        if not pushed:
                            break
                except BaseException as error:  # noqa: BLE001 (reported below)
                    errors.append(error)
                finally:
                    db.session.remove()

        hosts = [threading.Thread(target=host) for _ in range(2)]
        for thread in hosts:
            thread.start()
        for thread in hosts:
            thread.join(60)
        assert errors == []
        assert sum(delivered) == 60
        with scratch.app_context():
            rows = list(db.session.scalars(select(JobOutbox)))
            assert len(rows) == 60 and all(r.delivered_at is not None for r in rows)
            assert {r.attempts for r in rows} == {1}  # no row was claimed twice
            assert Redis.from_url(redis_server.url).llen("rq:queue:portal") == 60
            db.session.remove()
            db.engine.dispose()
    finally:
        reset_jobs_state(scratch)
        drop_scratch_database(url)


def test_delivered_rows_are_purged_after_a_week(outbox_app, db_session):
    from datetime import timedelta

    from portal.db import utcnow

    old, recent, waiting = (JobOutbox(path="x.y", args=[], kwargs={}, attempts=1, last_error="") for _ in range(3))
    old.delivered_at = utcnow() - timedelta(days=8)
    recent.delivered_at = utcnow() - timedelta(days=1)
    db_session.add_all([old, recent, waiting])
    db_session.commit()
    assert jobs.purge_delivered() == 1
    assert {r.id for r in outbox_rows(db_session)} == {recent.id, waiting.id}
