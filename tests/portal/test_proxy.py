"""Behind a load balancer (TRUSTED_PROXIES): the client's address and scheme, not the balancer's."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.config import ConfigError, load_config, validate_config
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url


@pytest.fixture
def proxied_app(tmp_path):
    """An app behind one trusted proxy, on a scratch database of its own (its requests commit)."""
    url = scratch_database_url("proxy", tmp_path)
    proxied = make_test_app(url, TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="2 per minute")
    with proxied.app_context():
        upgrade()
    yield proxied
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_scratch_database(url)


def register(client, email: str, address: str):
    return client.post("/api/v1/auth/register", json={"email": email, "password": "a-long-password-1", "name": "P", "roles": ["founder"]},
                       headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"})


def test_audit_rows_record_the_client_behind_the_proxy(proxied_app):
    with proxied_app.app_context():
        client = proxied_app.test_client()
        assert register(client, "behind-proxy@example.com", "203.0.113.7").status_code == 201
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.ip == "203.0.113.7"
        db.session.rollback()


def test_without_trusted_proxies_the_forwarded_header_is_ignored(app, client):
    assert register(client, "spoofing@example.com", "203.0.113.8").status_code == 201
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.ip != "203.0.113.8"


def test_the_login_budget_is_per_client_not_per_balancer(proxied_app):
    with proxied_app.app_context():
        client = proxied_app.test_client()

        def login(address: str) -> int:
            return client.post("/api/v1/auth/tokens", json={"email": "nobody@example.com", "password": "wrong-password"},
                               headers={"X-Forwarded-For": address}).status_code

        assert [login("198.51.100.1") for _ in range(3)] == [401, 401, 429]
        assert login("198.51.100.2") == 401  # another client behind the same balancer still may try
        db.session.rollback()


def test_the_scheme_and_host_come_from_the_proxy(proxied_app):
    seen = {}

    @proxied_app.get("/_proxy_probe")
    def probe():
        from flask import request

        seen.update(scheme=request.scheme, host=request.host, url=request.url_root)
        return ""

    proxied_app.test_client().get("/_proxy_probe", headers={"X-Forwarded-Proto": "https",
                                                             "X-Forwarded-Host": "portal.example.com"})
    assert seen == {"scheme": "https", "host": "portal.example.com", "url": "https://portal.example.com/"}


def test_trusted_proxies_is_a_small_number_of_hops(tmp_path):
    config = load_config(str(tmp_path), {"SECRET_KEY": "x", "TRUSTED_PROXIES": "9"})
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        validate_config(config)
    assert load_config(str(tmp_path), {})["TRUSTED_PROXIES"] == 0
