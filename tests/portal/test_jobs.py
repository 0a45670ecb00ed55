"""Jobs leave the process only after commit: inline without Redis, through RQ with it."""

import os

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from portal import jobs
from portal.db import commit, rollback

CALLS: list[str] = []


def record_call(value: str) -> None:
    CALLS.append(value)


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


def test_inline_jobs_run_after_commit_only(app, db_session):
    jobs.enqueue("tests.portal.test_jobs.record_call", "rolled back")
    rollback()
    jobs.enqueue("tests.portal.test_jobs.record_call", "committed")
    assert CALLS == []  # not before the commit
    commit()
    assert CALLS == ["committed"]


def test_unknown_jobs_fail_at_enqueue_time(db_session):
    with pytest.raises((ImportError, AttributeError)):
        jobs.enqueue("tests.portal.test_jobs.no_such_job")


def test_a_failing_request_sends_no_mail(client, factories, mail_outbox):
    factories.UserFactory(email="taken@example.com")
    response = client.post("/api/v1/auth/register", json={
        "email": "taken@example.com", "password": "a-long-password", "name": "x", "roles": ["founder"]})
    assert response.status_code == 409
    assert mail_outbox == []


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {url}; .ci/run should have started it")
        pytest.skip(f"Redis is not reachable at {url}")
    return url


def test_with_redis_jobs_are_queued_after_commit_and_run_by_a_worker(app, db_session):
    from rq import SimpleWorker

    url = redis_url()
    app.config.update(REDIS_URL=url, JOBS_INLINE=False)
    try:
        queue = jobs.get_queue()
        queue.empty()
        jobs.enqueue("tests.portal.test_jobs.record_call", "dropped")
        rollback()
        jobs.enqueue("tests.portal.test_jobs.record_call", "queued")
        assert queue.count == 0
        commit()
        assert queue.count == 1 and CALLS == []
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        assert CALLS == ["queued"]
    finally:
        app.config.update(REDIS_URL=None, JOBS_INLINE=True)
        queue.empty()


def test_periodic_jobs_are_enqueued_once_per_interval(app, db_session, monkeypatch):
    import threading

    url = redis_url()
    app.config.update(REDIS_URL=url, JOBS_INLINE=False)
    # Only this test's job: the domain packages' periodic work must not run against the test queue.
    monkeypatch.setattr(jobs, "PERIODIC", {})
    jobs.register_periodic("test-tick", "tests.portal.test_jobs.tick", 3600)
    redis = Redis.from_url(url)
    redis.delete("portal:periodic:test-tick")
    try:
        queue = jobs.get_queue()
        queue.empty()
        stop = threading.Event()
        threads = [threading.Thread(target=jobs.scheduler_loop, args=(app, stop, 0.05, False)) for _ in range(2)]
        for thread in threads:
            thread.start()
        stop.wait(0.3)
        stop.set()
        for thread in threads:
            thread.join()
        assert queue.count == 1  # two schedulers, one interval: one job
    finally:
        redis.delete("portal:periodic:test-tick")
        app.config.update(REDIS_URL=None, JOBS_INLINE=True)
        queue.empty()


def tick() -> None:
    CALLS.append("tick")
