"""Liveness (/healthz) and readiness (/readyz) for a load balancer and an orchestrator."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from portal.main import views


def test_liveness_is_cheap_and_needs_no_database(client, monkeypatch):
    monkeypatch.setattr(views.db.session, "execute", lambda *a, **k: (_ for _ in ()).throw(AssertionError("queried")))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readiness_reports_each_service(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "not configured",
                                                        "search": "built-in", "storage": "ok"}}


def test_an_unreachable_redis_degrades_but_stays_ready(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = None
    assert response.status_code == 200
    assert response.json["status"] == "degraded" and response.json["checks"]["redis"] == "down"


def test_without_the_database_the_host_is_not_ready(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(views.db.session, "execute", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and response.json["checks"]["database"] == "down"
