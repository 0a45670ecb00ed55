"""No write inside a read (issue 13, point 5): the "last used" time of an API token or a login is written
after the request's own transaction, in a short transaction of its own, and skipped when the database is
busy. Before, a GET with a bearer token upgraded its read transaction to write `last_used_at`; on SQLite,
when another writer held the lock, that upgrade failed with "database is locked" and the GET answered 500.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from portal.auth.models import ApiToken, Role, UserSession
from portal.db import commit, utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url


def test_a_token_records_its_use_at_most_once_a_minute(client, factories):
    from portal.auth.services import create_api_token

    user = factories.UserFactory(roles=[Role.FOUNDER])
    token, raw = create_api_token(user, "script")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == first  # within the minute: not written again
    stale = first - timedelta(minutes=2)
    db.session.get(ApiToken, token.id).last_used_at = stale
    db.session.flush()
    client.get("/api/v1/me", headers=headers)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at > stale


def test_a_login_records_its_activity_after_the_request(client, login, factories):
    user = login(factories.UserFactory(roles=[Role.FOUNDER]))
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    old = utcnow() - timedelta(hours=1)
    record.last_seen_at = old
    db.session.flush()
    assert client.get("/dashboard").status_code == 200
    db.session.expire_all()
    assert db.session.get(UserSession, record.id).last_seen_at > old


def test_a_get_with_a_token_answers_while_another_writer_holds_the_sqlite_lock(tmp_path):
    url = scratch_database_url("recorded_use", tmp_path)
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock; PostgreSQL writes rows without upgrading a read")
    from portal.auth.services import create_api_token
    from tests import factories

    app = make_test_app(url)
    try:
        with app.app_context():
            upgrade()
            user = factories.UserFactory(roles=[Role.FOUNDER])
            token, raw = create_api_token(user, "script")
            token_id = token.id
            commit()
            db.session.remove()
        headers = {"Authorization": f"Bearer {raw}"}
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=0.1)
        other.execute("BEGIN IMMEDIATE")  # another request writing right now
        other.execute("UPDATE user_account SET name = name")
        try:
            started = time.monotonic()
            response = app.test_client().get("/api/v1/me", headers=headers)
            took = time.monotonic() - started
        finally:
            other.execute("COMMIT")
            other.close()
        assert response.status_code == 200, response.get_data(as_text=True)
        assert took < 3, f"the read waited {took:.1f} s for the write lock"
        with app.app_context():
            assert db.session.get(ApiToken, token_id).last_used_at is None  # skipped while busy
            db.session.remove()
        assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
        with app.app_context():
            assert db.session.get(ApiToken, token_id).last_used_at is not None  # recorded once it was free
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_scratch_database(url)
