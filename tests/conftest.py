"""Test fixtures: one app per session, each test inside a transaction that is rolled back.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. The schema is built once per session by
the Alembic migrations (`flask db upgrade` to head), as production builds it, so the tests run on the
constraints, triggers and indexes the migrations create. Views and services commit as in production,
but the session is joined to an outer transaction in "create_savepoint" mode, so a commit only
releases a savepoint and the test's rollback undoes everything.
"""

from __future__ import annotations

import re
import tempfile

import pytest
from flask import g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from portal import create_app
from portal.extensions import db, limiter
from tests.dbutil import base_url, empty_database

TEST_SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct-horse-battery"


def make_test_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_INLINE": True,
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "PUBLIC_BASE_URL": "http://localhost",
        "STRIPE_SECRET_KEY": None,
        "ELASTICSEARCH_URL": None,
        "MAIL_SERVER": None,
        "UPLOAD_FOLDER": tempfile.mkdtemp(prefix="portal-uploads-"),
        # Public aggregates are cached for a minute (portal/cache.py); tests change the data between
        # requests, so they see it at once. tests/portal/test_cache.py turns the cache on.
        "CACHE_DISABLED": True,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = base_url() or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = make_test_app(url)
    with app.app_context():
        empty_database(db.engine)  # PostgreSQL: what an earlier run left; SQLite: a new file anyway
        upgrade()  # alembic upgrade head, with the project's migrations/ (flask-migrate)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own Session picks the engine itself and
        # would ignore the connection that holds the outer transaction.
        session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
                                 scopefunc=_app_ctx_id)
        db.session = session
        try:
            yield session
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class CommittingClient(FlaskClient):
    """Commits the test's setup before each request, as a real client only sees committed data.

    In savepoint mode the commit only releases a savepoint, so a request that rolls back undoes
    its own work and never the fixtures the test created before it.
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        # Requests reuse the test's app context; in production each request has a fresh `g`.
        g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db_session):
    app.config["WTF_CSRF_ENABLED"] = False
    app.test_client_class = CommittingClient
    limiter.reset()
    return app.test_client()


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def mail_outbox(app):
    outbox = app.extensions.setdefault("mail_outbox", [])
    outbox.clear()
    return outbox


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factories(db_session):
    from tests import factories

    return factories


@pytest.fixture
def login(client):
    """Log a user in through the real login form."""

    def do_login(user, password: str = PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do_login


@pytest.fixture
def bearer(db_session):
    """Authorization headers with a fresh personal API token for a user."""
    from portal.auth.services import create_api_token

    def make(user) -> dict[str, str]:
        _token, raw = create_api_token(user, "tests")
        db_session.flush()
        return {"Authorization": f"Bearer {raw}"}

    return make


def link_in(message, path_prefix: str) -> str:
    """The first link in a mail whose path starts with `path_prefix`, as a local path."""
    body = message.get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", body)
    assert match, f"no {path_prefix} link in mail: {body}"
    return match.group(1)


@pytest.fixture
def provider(app):
    """A fresh in-memory sandbox payment provider for the test (so its PaymentIntents can be counted)."""
    from funding.payments import SandboxProvider

    fake = SandboxProvider()
    previous = app.extensions.get("funding_provider")
    app.extensions["funding_provider"] = fake
    yield fake
    if previous is None:
        app.extensions.pop("funding_provider", None)
    else:
        app.extensions["funding_provider"] = previous


@pytest.fixture
def mail_locales(monkeypatch):
    """(recipient, language the mail was written in) for every mail the test sends."""
    from flask_babel import get_locale

    import portal.mail

    seen: list[tuple[str, str]] = []
    original = portal.mail.send_mail

    def spy(to, subject, body):
        seen.append((to, get_locale().language))
        original(to, subject, body)

    monkeypatch.setattr(portal.mail, "send_mail", spy)
    return seen
