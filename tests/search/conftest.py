"""Fixtures of the search suite: every behavioural test runs on each backend.

`backend` is "builtin" (on the session database: SQLite, or PostgreSQL with TEST_DATABASE_URL) or
"elasticsearch" (a fresh clone of an osmem-server started on 127.0.0.1 by its pytest plugin, reached
with ELASTICSEARCH_COMPAT_HEADERS=false as production would).
`index_now()` commits the test's work the way a request does, which runs the outbox job inline.
"""

from __future__ import annotations

import pytest

from portal.db import commit
from portal.extensions import db

BACKENDS = ["builtin", "elasticsearch"]


@pytest.fixture(params=BACKENDS)
def backend(request, app, db_session):
    if request.param == "builtin":
        yield "builtin"
        return
    server = request.getfixturevalue("osmem_server")
    clone = server.clone()
    # osmem answers plain JSON only: the production switch for such servers, no test-only code.
    app.config.update(ELASTICSEARCH_URL=clone.url, ELASTICSEARCH_COMPAT_HEADERS=False, ELASTICSEARCH_TIMEOUT=15)
    try:
        yield "elasticsearch"
    finally:
        app.config.update(ELASTICSEARCH_URL=None, ELASTICSEARCH_COMPAT_HEADERS=True)
        clone.close()


@pytest.fixture
def index_now(backend):
    def run() -> None:
        commit()  # in the test transaction: releases a savepoint, then runs the queued jobs inline

    return run


@pytest.fixture
def search_api(client, index_now):
    """GET /api/v1/search with the given query arguments; returns the response."""

    def get(path: str = "/api/v1/search", **args):
        return client.get(path, query_string=args)

    return get


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


@pytest.fixture
def outbox_rows():
    from sqlalchemy import select

    from portal.search.models import SearchOutbox

    def rows():
        return db.session.scalars(select(SearchOutbox).order_by(SearchOutbox.id)).all()

    return rows
