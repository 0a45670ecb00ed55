"""Operations: a request id on every request, JSON log lines, Prometheus metrics on /metrics.

- **Request id.** A well-formed incoming `X-Request-ID` (1-64 letters, digits, `.`, `_`, `:`, `-`: what
  nginx, Heroku and load balancers send) is kept, anything else is replaced by a new one. It lives in
  `flask.g.request_id` (jobs enqueued by the request carry it, portal.jobs), is returned as `X-Request-ID`
  on every response, errors included, and is on every log line written while it is set.
- **Logs.** `LOG_FORMAT=json` (the production default) writes one JSON object per line: `time`, `level`,
  `logger`, `message`, `request_id`, and for the access line `method`, `path`, `endpoint`, `status`,
  `duration_ms`, `user_id` (when known). URL parts that carry a secret (`<token>`) are masked in `path`.
- **Metrics.** `GET /metrics` in Prometheus' text format, only with `Authorization: Bearer <METRICS_TOKEN>`
  (404 while METRICS_TOKEN is unset, 401 without the right token): request latency per endpoint (the URL
  rule's endpoint, never the raw path), method and status class; and, read at scrape time, the job queue
  depth, the outbox lag, pledges per status and payment attempts per kind and status. Under gunicorn with
  several workers, prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by
  portal/gunicorn_conf.py) adds up the workers' histograms.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
)
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")  # 64: the length portal.jobs keeps
_SECRET_ARG = re.compile(r"token|secret|key|password", re.IGNORECASE)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MASK = "[redacted]"

access_log = logging.getLogger("portal.request")

REQUEST_LATENCY = Histogram(
    "portal_http_request_duration_seconds", "Time from the start of a request to its response, in seconds.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

bp = Blueprint("observability", __name__)


def init_app(app: Flask) -> None:
    """Runs first and last around every request (before the input guard, after every other hook)."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, finish_request)
    app.register_blueprint(bp)
    if app.config.get("LOG_FORMAT") == "json":
        use_json_logs()


# ---- request id ----------------------------------------------------------------------------------


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """The incoming id when it is well formed (bounded, safe in a header and a log line), else None."""
    return value if value and _REQUEST_ID.fullmatch(value) else None


def start_request() -> None:
    g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or new_request_id()
    g.request_id = request_id
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.endpoint or "unmatched"
    method = request.method if request.method in _METHODS else "other"
    REQUEST_LATENCY.labels(endpoint, method, f"{response.status_code // 100}xx").observe(duration)
    path = logged_path()
    duration_ms = round(duration * 1000, 1)
    access_log.info("%s %s %s %.1fms", request.method, path, response.status_code, duration_ms,
                    extra={"method": request.method, "path": path, "endpoint": endpoint,
                           "status": response.status_code, "duration_ms": duration_ms})
    return response


def logged_path() -> str:
    """The request path with URL variables that carry a secret (confirmation, reset, invitation tokens)
    masked; the query string is left out (it may carry one too)."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if _SECRET_ARG.search(name) and str(value):
            path = path.replace(str(value), MASK)
    return path


def current_user_id() -> int | None:
    """The signed-in user's id when the request already loaded it; never loads it (no query)."""
    if not has_request_context():
        return None
    user = g.get("_login_user")  # flask-login's cache of current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        from sqlalchemy import inspect

        identity = inspect(user).identity  # without a refresh, even after commit expired the object
        return identity[0] if identity else None
    except Exception:  # not a mapped object
        return getattr(user, "id", None)


# ---- logs ----------------------------------------------------------------------------------------

_ACCESS_FIELDS = ("method", "path", "endpoint", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is None and has_app_context():
            request_id = g.get("request_id")
        if request_id:
            entry["request_id"] = request_id
        for name in _ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        user_id = getattr(record, "user_id", None) or current_user_id()
        if user_id is not None:
            entry["user_id"] = user_id
        entry["pid"] = record.process
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json_logs(logger: logging.Logger | None = None) -> None:
    """Give the plain stream handlers of `logger` (the root logger: the one logging.basicConfig or
    gunicorn's log config made) the JSON formatter. Test harness handlers (subclasses) are left alone."""
    for handler in (logger or logging.getLogger()).handlers:
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(JsonFormatter())


# ---- metrics -------------------------------------------------------------------------------------


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Response("A valid metrics token is required.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"})
    state = CollectorRegistry()
    state.register(StateCollector())
    body = generate_latest(request_registry()) + generate_latest(state)
    return Response(body, 200, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def request_registry():
    """This process' metrics, or every worker's (summed from PROMETHEUS_MULTIPROC_DIR) under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


# Settlement outcomes: counted from the tables by name, so portal imports no domain package; a table
# that is not there (a deployment without funding) is simply not reported. Refund attempts share
# payment_attempt with charges and are told apart by their idempotency key (funding.models).
_REFUND_KEY_PATTERN = "pledge-%-refund-%"


class StateCollector:
    """Gauges read at scrape time from the shared state (Redis, the database): the same on every host."""

    def collect(self):
        up = GaugeMetricFamily("portal_metrics_source_up", "1 when the source of these gauges answered the scrape.",
                               labels=["source"])
        from portal import jobs

        queue_depth = getattr(jobs, "queue_depth", None)
        if queue_depth is not None:
            depth = self._read(queue_depth)
            up.add_metric(["job_queue"], 0 if depth is None else 1)
            if depth is not None:
                yield GaugeMetricFamily("portal_job_queue_depth", "Jobs waiting in the Redis queue.", value=depth)
        outbox_lag = getattr(jobs, "outbox_lag_seconds", None)
        if outbox_lag is not None:
            lag = self._read(outbox_lag)
            up.add_metric(["job_outbox"], 0 if lag is None else 1)
            if lag is not None:
                yield GaugeMetricFamily("portal_job_outbox_lag_seconds",
                                        "Age of the oldest job not yet handed to Redis (0: outbox empty).", value=lag)
        settlement = self._read(_settlement_counts)
        up.add_metric(["settlement"], 0 if settlement is None else 1)
        if settlement is not None:
            pledges, attempts = settlement
            if pledges is not None:
                family = GaugeMetricFamily("portal_pledges", "Pledges per status.", labels=["status"])
                for status, count in pledges:
                    family.add_metric([status], count)
                yield family
            if attempts is not None:
                family = GaugeMetricFamily("portal_payment_attempts", "Payment attempts per kind and status.",
                                           labels=["kind", "status"])
                for kind, status, count in attempts:
                    family.add_metric([kind, status], count)
                yield family
        yield up

    @staticmethod
    def _read(function):
        try:
            return function()
        except Exception:
            logging.getLogger(__name__).warning("metrics: %s failed", getattr(function, "__name__", function),
                                                exc_info=True)
            from portal.extensions import db

            db.session.rollback()
            return None


def _settlement_counts():
    """Two grouped counts over indexed status columns: cheap enough for every scrape."""
    from sqlalchemy import case, func, select

    from portal.extensions import db

    tables = db.metadata.tables
    pledges = attempts = None
    if "pledge" in tables:
        pledge = tables["pledge"]
        pledges = db.session.execute(
            select(pledge.c.status, func.count()).group_by(pledge.c.status).order_by(pledge.c.status)).all()
    if "payment_attempt" in tables:
        attempt = tables["payment_attempt"]
        kind = case((attempt.c.idempotency_key.like(_REFUND_KEY_PATTERN), "refund"), else_="charge")
        attempts = db.session.execute(
            select(kind, attempt.c.status, func.count()).group_by(kind, attempt.c.status)
            .order_by(kind, attempt.c.status)).all()
    return pledges, attempts
