"""Redis or the database unreachable: requests degrade, they do not fail with a 500.

- REDIS_URL set but nothing listening: the login budget falls back to in-process limits (said once
  in the log), jobs wait in the outbox, the login, token and register endpoints answer as usual.
- The database unreachable: pages answer a friendly 503 page, /api/ the JSON error, with Retry-After.
"""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select

from portal import jobs
from portal.config import ConfigError, load_config, validate_config
from portal.extensions import limiter
from portal.jobs import JobOutbox
from tests.conftest import PASSWORD, make_test_app
from tests.portal.test_outbox import outbox_rows, reset_jobs_state
from tests.services import free_port


def test_production_requires_redis_url():
    env = {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32, "AUDIT_SIGNING_KEY": "A" * 43 + "="}
    with pytest.raises(ConfigError, match="REDIS_URL is required when PORTAL_ENV=production"):
        validate_config(load_config("/tmp/instance", env))
    assert "REDIS_URL" not in " ".join(load_config("/tmp/instance", {**env, "REDIS_URL": "redis://r:6379/0"})["_ERRORS"])
    # Outside production Redis stays optional (jobs inline, limits in memory).
    assert load_config("/tmp/instance", {})["_ERRORS"] == []


@pytest.fixture
def dead_redis(app, db_session):
    """The test app with REDIS_URL (limits and jobs) pointing at a port nothing listens on (ask for
    `client` first: its fixture resets the limiter storage)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    previous = {name: app.config[name] for name in ("REDIS_URL", "JOBS_INLINE", "RATELIMIT_STORAGE_URI",
                                                    "LOGIN_RATE_LIMIT")}
    app.config.update(REDIS_URL=url, JOBS_INLINE=False, RATELIMIT_STORAGE_URI=url, LOGIN_RATE_LIMIT="3 per minute")
    limiter.init_app(app)  # (re-creates the limiter's storage from the config; hooks are not added twice)
    reset_jobs_state(app)
    yield url
    app.config.update(previous)
    limiter.init_app(app)
    limiter._storage_dead = False  # the next test starts on its own, healthy, memory storage
    reset_jobs_state(app)


def test_login_tokens_and_register_work_with_redis_down_and_the_budget_still_holds(
        client, dead_redis, factories, db_session, mail_outbox, caplog):
    user = factories.UserFactory(email="ada@example.com")
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        login = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert login.status_code == 302, login.get_data(as_text=True)
        token = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
        assert token.status_code == 201, token.json
        register = client.post("/api/v1/auth/register", json={
            "email": "grace@example.com", "password": "a-long-password", "name": "Grace", "roles": ["founder"]})
        assert register.status_code == 201, register.json
        # The one login budget (3 per minute) is now counted in this process: the 4th attempt is refused.
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "wrong"}).status_code == 401
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 429
    assert time.monotonic() - started < 10  # short Redis timeouts: no request hangs on it
    fallbacks = [r for r in caplog.records if "falling back to in-memory storage" in r.getMessage()]
    assert len(fallbacks) == 1  # said once, not on every request
    # The confirmation mail waits in the outbox for Redis, not lost and not sent twice.
    assert mail_outbox == []
    [waiting] = outbox_rows(db_session, "portal.mail.deliver")
    assert waiting.args[0] == "grace@example.com" and waiting.delivered_at is None
    assert jobs.outbox_lag_seconds() >= 0
    assert db_session.scalar(select(JobOutbox.id).where(JobOutbox.delivered_at.is_not(None))) is None


def test_a_failing_request_writes_no_outbox_row(client, dead_redis, factories, db_session):
    factories.UserFactory(email="taken@example.com")
    response = client.post("/api/v1/auth/register", json={
        "email": "taken@example.com", "password": "a-long-password", "name": "x", "roles": ["founder"]})
    assert response.status_code == 409
    assert outbox_rows(db_session) == []


# ---- the database unreachable ---------------------------------------------------------------------

@pytest.fixture
def no_database():
    """An app whose database is a PostgreSQL port nothing listens on."""
    down = make_test_app(f"postgresql://portal@127.0.0.1:{free_port()}/portal")
    yield down
    from portal.extensions import db

    with down.app_context():
        db.engine.dispose()


def test_pages_answer_a_friendly_503_while_the_database_is_unreachable(no_database, caplog):
    client = no_database.test_client()
    with caplog.at_level(logging.ERROR):
        page = client.get("/resources/")
    assert page.status_code == 503
    assert page.headers["Retry-After"].isdigit() and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "cannot reach its database" in text
    assert "Try again" in text and 'href="/resources/"' in text  # the page itself, in the site's layout
    assert "Traceback" not in text and "psycopg" not in text
    assert any("database unavailable" in r.getMessage() for r in caplog.records)
    # A form post too (the login checks the password in the database).
    login = client.post("/auth/login", data={"email": "a@example.com", "password": "whatever-long"})
    assert login.status_code == 503
    # Liveness needs no database.
    assert client.get("/healthz").status_code == 200


def test_the_api_answers_503_service_unavailable_while_the_database_is_unreachable(no_database):
    client = no_database.test_client()
    response = client.get("/api/v1/resources")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert response.json["error"]["code"] == "service_unavailable"
    assert "database" in response.json["error"]["message"]
    token = client.post("/api/v1/auth/tokens", json={"email": "a@example.com", "password": "whatever-long"})
    assert token.status_code == 503 and token.json["error"]["code"] == "service_unavailable"


def test_only_lost_connections_are_503(app):
    from sqlalchemy.exc import IntegrityError, OperationalError

    from portal.errors import database_unavailable

    class Refused(Exception):
        sqlstate = None
    Refused.__module__ = "psycopg"

    class Deadlock(Exception):
        sqlstate = "40P01"
    Deadlock.__module__ = "psycopg.errors"

    class AdminShutdown(Exception):
        sqlstate = "57P01"
    AdminShutdown.__module__ = "psycopg.errors"

    assert database_unavailable(OperationalError("SELECT 1", {}, Refused("connection refused")))
    assert database_unavailable(OperationalError("SELECT 1", {}, AdminShutdown("terminating connection")))
    assert not database_unavailable(OperationalError("SELECT 1", {}, Deadlock("deadlock detected")))
    assert not database_unavailable(IntegrityError("INSERT", {}, Deadlock("duplicate key")))
    lost = OperationalError("SELECT 1", {}, Deadlock("x"), connection_invalidated=True)
    assert database_unavailable(lost)
