"""Operations (issue 11, point 9): request ids, JSON log lines, Prometheus metrics on /metrics, and the
metrics of several gunicorn workers added up."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portal import observability
from portal.observability import JsonFormatter, use_json_logs
from tests.services import free_port

TOKEN = "metrics-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_lines():
    """What the JSON formatter writes for the access log and the app's loggers during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("portal.request"), logging.getLogger("tests.observability")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield {"Authorization": f"Bearer {TOKEN}"}
    app.config["METRICS_TOKEN"] = None


# ---- request id ------------------------------------------------------------------------------------


def test_a_well_formed_request_id_is_kept_and_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:9c1e_2.0"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:9c1e_2.0"


def test_a_request_without_one_gets_a_new_one_each_time(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 65, "<script>", "id;drop", "ünïcode", "a/b"])
def test_an_ill_formed_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_errors_carry_the_request_id_too(client):
    for response in (client.get("/no/such/page", headers={"X-Request-ID": "req-404"}),
                     client.get("/api/v1/me", headers={"X-Request-ID": "req-404"}),
                     client.delete("/healthz", headers={"X-Request-ID": "req-404"})):
        assert response.status_code in (401, 404, 405)
        assert response.headers["X-Request-ID"] == "req-404"


def test_an_input_refused_at_the_edge_still_carries_it(client):
    response = client.get("/api/v1/projects", query_string={"page": "1\x00"}, headers={"X-Request-ID": "req-edge"})
    assert response.status_code == 400 and response.headers["X-Request-ID"] == "req-edge"


# ---- logs ----------------------------------------------------------------------------------------


def test_the_access_line_is_one_json_object_with_the_request_id(client, log_lines, factories, login):
    user = login(factories.UserFactory())
    response = client.get("/dashboard", headers={"X-Request-ID": "req-json-1"})
    assert response.status_code == 200
    line = [entry for entry in log_lines() if entry.get("request_id") == "req-json-1"][-1]
    assert line["logger"] == "portal.request" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["endpoint"]) == ("GET", "/dashboard", 200,
                                                                                 "main.dashboard")
    assert isinstance(line["duration_ms"], float) and line["user_id"] == user.id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert "GET /dashboard 200" in line["message"]


def test_anonymous_requests_log_no_user(client, log_lines):
    client.get("/healthz", headers={"X-Request-ID": "req-anon"})
    line = [entry for entry in log_lines() if entry.get("request_id") == "req-anon"][-1]
    assert "user_id" not in line


def test_any_log_line_written_during_a_request_has_its_id(app, log_lines):
    with app.test_request_context("/"):
        observability.start_request()
        logging.getLogger("tests.observability").warning("something to look at")
        request_id = observability.g.request_id
    (line,) = [entry for entry in log_lines() if entry["logger"] == "tests.observability"]
    assert line["request_id"] == request_id and line["message"] == "something to look at"
    assert line["level"] == "WARNING"


def test_secret_tokens_in_the_path_are_masked(client, log_lines):
    client.get("/auth/reset-password/very-secret-reset-token", headers={"X-Request-ID": "req-mask"})
    line = [entry for entry in log_lines() if entry.get("request_id") == "req-mask"][-1]
    assert "very-secret-reset-token" not in json.dumps(line)
    assert line["path"] == "/auth/reset-password/[redacted]"


def test_exceptions_are_kept_inside_the_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("portal.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed here" and "ValueError: boom" in entry["exception"]


def test_log_format_json_formats_plain_stream_handlers_only():
    logger = logging.getLogger("tests.observability.switch")
    plain, other = logging.StreamHandler(io.StringIO()), logging.FileHandler(os.devnull)
    logger.addHandler(plain)
    logger.addHandler(other)
    try:
        use_json_logs(logger)
        assert isinstance(plain.formatter, JsonFormatter) and not isinstance(other.formatter, JsonFormatter)
    finally:
        logger.removeHandler(plain)
        logger.removeHandler(other)
        other.close()


def test_log_format_is_json_in_production_and_checked(tmp_path):
    from portal.config import ConfigError, load_config, validate_config

    production = {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32}
    assert load_config(str(tmp_path), production)["LOG_FORMAT"] == "json"
    assert load_config(str(tmp_path), {})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be json or text"):
        validate_config(load_config(str(tmp_path), {"LOG_FORMAT": "xml"}))
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16"):
        validate_config(load_config(str(tmp_path), {"METRICS_TOKEN": "short"}))


# ---- metrics ---------------------------------------------------------------------------------------


def test_metrics_are_not_there_without_a_token_setting(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(client, metrics_token):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "portal_http" not in response.get_data(as_text=True)


def _sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus' text format, None when it is not there."""
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if not labels and line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_show_the_latency_of_an_endpoint_just_called(client, metrics_token):
    def health_count() -> float:
        text = client.get("/metrics", headers=metrics_token).get_data(as_text=True)
        return _sample(text, "portal_http_request_duration_seconds_count",
                       endpoint="main.health", method="GET", status="2xx") or 0.0

    before = health_count()
    client.get("/healthz")
    client.get("/healthz")
    response = client.get("/metrics", headers=metrics_token)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert health_count() == before + 2
    assert _sample(text, "portal_http_request_duration_seconds_bucket", endpoint="main.health", method="GET",
                   status="2xx", le="+Inf") >= 2
    assert "/healthz" not in text  # labelled by endpoint, never by raw path


def test_unknown_paths_share_one_label(client, metrics_token):
    client.get("/no/such/path/123")
    client.get("/another/unknown")
    text = client.get("/metrics", headers=metrics_token).get_data(as_text=True)
    assert _sample(text, "portal_http_request_duration_seconds_count", endpoint="unmatched", method="GET",
                   status="4xx") >= 2
    assert "/no/such" not in text and "/another" not in text


def test_metrics_show_jobs_and_settlement_outcomes(client, db_session, metrics_token):
    from funding.models import PaymentAttempt, PledgeStatus
    from tests.funding.factories import PledgeFactory

    collected = PledgeFactory(status=PledgeStatus.COLLECTED)
    PledgeFactory(campaign=collected.campaign, status=PledgeStatus.ERRORED)
    db_session.add_all([
        PaymentAttempt(pledge_id=collected.id, number=1, idempotency_key=f"pledge-{collected.id}-attempt-1",
                       amount=1000_00, currency="CNY", status="succeeded"),
        PaymentAttempt(pledge_id=collected.id, number=2, idempotency_key=f"pledge-{collected.id}-refund-2-after-0",
                       amount=1000_00, currency="CNY", status="failed")])
    db_session.flush()
    text = client.get("/metrics", headers=metrics_token).get_data(as_text=True)
    assert _sample(text, "portal_pledges", status="collected") >= 1
    assert _sample(text, "portal_pledges", status="errored") >= 1
    assert _sample(text, "portal_payment_attempts", kind="charge", status="succeeded") >= 1
    assert _sample(text, "portal_payment_attempts", kind="refund", status="failed") >= 1
    from portal import jobs

    if hasattr(jobs, "queue_depth"):
        assert _sample(text, "portal_job_queue_depth") == 0  # jobs run inline in the tests
    if hasattr(jobs, "outbox_lag_seconds"):
        assert _sample(text, "portal_job_outbox_lag_seconds") is not None
    assert _sample(text, "portal_metrics_source_up", source="settlement") == 1


def test_a_failing_source_is_reported_not_fatal(client, metrics_token, monkeypatch):
    from portal import jobs

    def down():
        raise ConnectionError("redis down")

    monkeypatch.setattr(jobs, "queue_depth", down, raising=False)
    response = client.get("/metrics", headers=metrics_token)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _sample(text, "portal_metrics_source_up", source="job_queue") == 0
    assert _sample(text, "portal_job_queue_depth") is None


# ---- several gunicorn workers -----------------------------------------------------------------------


def _get(url: str, token: str | None = None) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


@pytest.mark.skipif(shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="no gunicorn")
def test_gunicorn_workers_add_up_to_one_set_of_metrics(tmp_path):
    """The Procfile's web line: two workers, requests spread over them, every scrape counts them all."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale")  # a crashed earlier run: emptied at start
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}", "SECRET_KEY": "k" * 32,
           "METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "LOG_FORMAT": "json",
           "PORTAL_ENV": "development", "RATELIMIT_ENABLED": "false", "REDIS_URL": "", "ELASTICSEARCH_URL": "",
           "PYTHONPATH": str(ROOT)}
    env.pop("TEST_DATABASE_URL", None)
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "flask"), "--app", "portal", "db", "upgrade"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-c", "python:portal.gunicorn_conf", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "portal:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)

        def health_count() -> float:
            status, text, _headers = _get(f"{base}/metrics", TOKEN)
            assert status == 200
            return _sample(text, "portal_http_request_duration_seconds_count", endpoint="main.health",
                           method="GET", status="2xx")

        # The readiness probe above may have been answered more than once (a probe that timed out on a
        # loaded machine still counts on the server): count from here.
        before = health_count()
        ids = {_get(f"{base}/healthz")[2]["X-Request-ID"] for _ in range(30)}
        assert len(ids) == 30
        counts = {health_count() for _ in range(6)}  # whichever worker answers the scrape
        assert counts == {before + 30}, (before, counts)
        assert _get(f"{base}/metrics")[0] == 401
        assert not (metrics_dir / "counter_99999.db").exists()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    lines = (tmp_path / "gunicorn.log").read_text().splitlines()
    access = [json.loads(line) for line in lines if line.startswith("{") and '"portal.request"' in line]
    assert access and all(entry["request_id"] and entry["duration_ms"] >= 0 for entry in access)
    booted = [json.loads(line) for line in lines if line.startswith("{") and '"gunicorn.error"' in line]
    assert booted, "gunicorn's own lines are JSON too"
    assert not [line for line in lines if line.strip() and not line.startswith("{")], "every line is JSON"
