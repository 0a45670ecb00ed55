"""gunicorn entry point for bench/platform_bench.py: the portal unchanged plus statement counts.

    cd <checkout> && PYTHONPATH=bench gunicorn -c python:portal.gunicorn_conf 'platform_wsgi:app'

Wraps `portal:create_app()` and adds, through an SQLAlchemy `before_cursor_execute` listener on the app's
engine, two response headers (adapted from ../shared/bench/portal_wsgi.py):
  X-Queries       every statement sent to the database during the request (BEGIN/COMMIT/SAVEPOINT included)
  X-Queries-Data  the same without transaction control and PRAGMAs
A measuring tool only: never deploy it.
"""

from __future__ import annotations

import re

from flask import g
from sqlalchemy import event

from portal import create_app
from portal.extensions import db

CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", re.I)

app = create_app()


def _on_execute(conn, cursor, statement, parameters, context, executemany):
    try:
        stats = g._bench_sql
    except (AttributeError, RuntimeError):  # outside a request (start-up) or no app context
        return
    stats[0] += 1
    if not CONTROL.match(statement):
        stats[1] += 1


with app.app_context():
    event.listen(db.engine, "before_cursor_execute", _on_execute)


@app.before_request
def _bench_start():
    g._bench_sql = [0, 0]


# Count the portal's own before_request hooks (bearer auth, page cache lookup) too: ours goes first.
app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())


@app.after_request
def _bench_headers(response):
    stats = g.get("_bench_sql")
    if stats is not None:
        response.headers["X-Queries"] = str(stats[0])
        response.headers["X-Queries-Data"] = str(stats[1])
    return response
