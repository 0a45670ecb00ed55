"""Public aggregates are short-lived caches (issue 13, points 1 and 2): idle capacity and the home page's
figures are computed at most once a minute, shared through Redis when it is configured, kept per process
when Redis is absent or down; their pages cost the same statements with 3 or 12 resources."""

from __future__ import annotations

import pytest

from portal import cache
from portal.extensions import db
from tests.dbutil import counted_statements
from tests.resources.factories import ResourceFactory
from tests.services import redis_server


@pytest.fixture
def caching(app):
    app.config["CACHE_DISABLED"] = False
    cache._local.clear()
    yield app
    app.config["CACHE_DISABLED"] = True
    cache._local.clear()


def test_a_value_is_computed_once_a_minute_per_process(caching):
    calls = []
    with caching.test_request_context():
        for _ in range(3):
            assert cache.cached("answer", 60, lambda: calls.append(1) or {"n": 42}) == {"n": 42}
        assert len(calls) == 1
        cache.forget("answer")
        cache.cached("answer", 60, lambda: calls.append(1) or {"n": 42})
        assert len(calls) == 2


def test_hosts_share_the_value_through_redis_and_do_without_it(caching, tmp_path):
    calls = []
    with redis_server(tmp_path) as server:
        caching.config["REDIS_URL"] = server.url
        try:
            with caching.test_request_context():
                assert cache.cached("shared", 60, lambda: calls.append(1) or [1, 2]) == [1, 2]
                cache._local.clear()  # another host: nothing in its process
                assert cache.cached("shared", 60, lambda: calls.append(1) or [9]) == [1, 2]
                assert len(calls) == 1
                server.stop()  # Redis down: each process computes and keeps its own copy
                assert cache.cached("shared", 60, lambda: calls.append(1) or [3]) == [3]
                assert cache.cached("shared", 60, lambda: calls.append(1) or [4]) == [3]
        finally:
            caching.config["REDIS_URL"] = None
            caching.extensions.pop("portal.redis", None)


def test_a_long_ranking_is_read_a_page_at_a_time(caching, tmp_path):
    """The idle ranking of every resource is kept once; a page (the home page shows 4 rows) reads its own
    rows, not the whole list (with Redis: LRANGE), and the total comes with it."""
    calls = []
    ranking = [{"id": n, "free": 1000 - n} for n in range(50)]
    with redis_server(tmp_path) as server:
        caching.config["REDIS_URL"] = server.url
        try:
            with caching.test_request_context():
                page, total = cache.cached_slice("ranking", 60, lambda: calls.append(1) or ranking, 0, 4)
                assert page == ranking[:4] and total == 50
                cache._local.clear()  # another host
                page, total = cache.cached_slice("ranking", 60, lambda: calls.append(1) or [], 20, 24)
                assert page == ranking[20:24] and total == 50 and len(calls) == 1
                assert cache.cached_slice("ranking", 60, lambda: [], 48, 60) == (ranking[48:], 50)
                server.stop()  # Redis down: this process computes and keeps the list
                assert cache.cached_slice("ranking", 60, lambda: calls.append(1) or ranking[:3], 0, 2) == \
                    (ranking[:2], 3)
        finally:
            caching.config["REDIS_URL"] = None
            caching.extensions.pop("portal.redis", None)


def test_the_idle_ranking_is_cached_and_the_home_figures_too(caching, client, factories):
    company = factories.OrganisationFactory(kind="company")
    ResourceFactory(organisation=company, opening_hours=[(d, "08:00", "20:00") for d in range(7)])
    client.get("/resources/idle")
    with counted_statements() as cold:
        client.get("/")
    with counted_statements() as warm:
        client.get("/")
        html = client.get("/resources/idle").get_data(as_text=True)
    assert "free" in html
    counting = [s for s in warm if "count(" in s.lower()]
    assert len(warm) < len(cold) and not [s for s in counting if "FROM resource" in s], counting


@pytest.mark.parametrize("path", ["/resources/idle", "/api/v1/resources/idle-capacity", "/"])
def test_idle_capacity_pages_cost_the_same_with_more_resources(client, factories, path):
    """Without the cache (as tests run), each request ranks every calendar: still a fixed number of
    statements, however many resources there are (one query per table, whatever the number)."""
    company = factories.OrganisationFactory(kind="company")

    def add(count: int) -> None:
        for _ in range(count):
            ResourceFactory(organisation=company, opening_hours=[(d, "08:00", "20:00") for d in range(7)])
        db.session.flush()

    add(3)
    client.get(path)
    with counted_statements() as small:
        assert client.get(path).status_code == 200
    add(9)
    client.get(path)  # (the first request after adding also runs the search index job for the new ones)
    with counted_statements() as large:
        assert client.get(path).status_code == 200
    assert len(large) == len(small), "\n".join(large)
