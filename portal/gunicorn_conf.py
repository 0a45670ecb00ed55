"""gunicorn settings for the web process: `gunicorn -c python:portal.gunicorn_conf` (see Procfile).

Command-line options win over these defaults (the Procfile passes --workers and --bind explicitly).

Metrics with several workers: each worker is its own process, so prometheus_client runs in
multiprocess mode. PROMETHEUS_MULTIPROC_DIR names a directory the workers write their metric files to
(one directory per gunicorn master, on local disk, emptied at start); when unset, a fresh temporary
directory is made here. The variable must be set before prometheus_client is first imported, which is
why this module sets it before the app is loaded. When a worker exits, its files are marked dead.
"""

from __future__ import annotations

import glob
import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")

# Imported here, once, in the master: importing it first inside child_exit while a worker was exiting
# at shutdown once failed as a partially initialised module.
from prometheus_client import multiprocess  # noqa: E402

wsgi_app = "portal:create_app()"
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# The portal writes its own access line (JSON with the request id, portal.observability): no second one.
accesslog = None


def _log_format() -> str:
    """LOG_FORMAT as portal.config reads it (json by default in production)."""
    environment = os.environ.get("PORTAL_ENV", os.environ.get("FLASK_ENV", "development")).lower()
    return (os.environ.get("LOG_FORMAT") or ("json" if environment == "production" else "text")).strip().lower()


if _log_format() == "json":
    # gunicorn's own messages (worker boots, timeouts) as JSON too, through the portal's formatter; the
    # root logger gets the same handler, so the app's lines and gunicorn's share one format and stream.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.observability.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True, "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True, "qualname": "gunicorn.access"},
            "alembic": {"level": "WARNING"},  # as portal.configure_logging quiets it without a log config
        },
    }


def on_starting(server) -> None:
    """Files left by an earlier run of this master would be added to the new one's counts."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
