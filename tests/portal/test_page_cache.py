"""Anonymous public pages are kept a few seconds and revalidated by ETag (issue 13, point 2): a second
anonymous visitor costs no statement, a write shows at once (on every host), signed-in pages are never
kept, and anonymous pages carry no per-visitor token or cookie."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.dbutil import counted_statements
from tests.services import redis_server


@pytest.fixture
def page_cache(app):
    cache = app.extensions["portal.pagecache"]
    app.config["CACHE_DISABLED"] = False
    app.config["PAGE_CACHE_SECONDS"] = 10
    cache.clear()
    yield cache
    app.config["CACHE_DISABLED"] = True
    cache.clear()


def test_a_second_anonymous_visitor_gets_the_kept_page_without_a_statement(page_cache, client, factories):
    factories.OrganisationFactory(name="Anchor Kept Co", kind="company")
    first = client.get("/organisations/")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=10"
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    assert first.headers["ETag"]
    assert "Set-Cookie" not in first.headers  # nothing per visitor: no session, no CSRF token
    assert "X-Portal-Page-Cache" not in first.headers  # the app's note to the middleware stays inside
    with counted_statements() as statements:
        second = client.get("/organisations/")
    assert len(statements) == 0
    assert second.get_data() == first.get_data()
    assert "Anchor Kept Co" in second.get_data(as_text=True)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]

    revalidated = client.get("/organisations/", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.get_data() == b""


def test_a_committed_write_shows_at_once(page_cache, client, factories):
    client.get("/organisations/")
    factories.OrganisationFactory(name="Written Later Ltd", kind="company")  # committed by the next request
    assert "Written Later Ltd" in client.get("/organisations/").get_data(as_text=True)


def test_each_language_and_query_is_kept_apart(page_cache, client):
    english = client.get("/organisations/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    chinese = client.get("/organisations/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="zh-CN"' in chinese
    assert 'lang="zh-CN"' in client.get("/organisations/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    client.get("/api/v1/resources?per_page=3")
    with counted_statements() as other_query:
        client.get("/api/v1/resources?per_page=4")
    assert len(other_query) > 0


def test_signed_in_pages_are_never_kept(page_cache, client, factories, login):
    user = factories.UserFactory()
    login(user)
    first = client.get("/organisations/")
    assert first.headers["Cache-Control"] == "no-store"
    with counted_statements() as statements:
        client.get("/organisations/")
    assert len(statements) > 0
    assert 'name="csrf_token"' in first.get_data(as_text=True)


def test_a_bearer_token_is_never_served_a_kept_answer(page_cache, client, factories):
    client.get("/api/v1/resources")
    from portal.auth.services import create_api_token

    _token, raw = create_api_token(factories.UserFactory(), "script")
    with counted_statements() as statements:
        response = client.get("/api/v1/resources", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200 and len(statements) > 0
    assert response.headers["Cache-Control"] == "no-store"


def test_anonymous_visitors_switch_language_with_a_get_that_sets_only_their_cookie(page_cache, client):
    page = client.get("/").get_data(as_text=True)
    assert 'id="language-form"' in page and 'method="get"' in page and "csrf_token" not in page
    response = client.get("/language?locale=zh_CN&next=/organisations/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/organisations/")
    assert 'lang="zh-CN"' in client.get("/organisations/").get_data(as_text=True)  # own cookie: not the kept page
    assert client.get("/language?locale=xx&next=https://evil.example/").headers["Location"].startswith("/")


def test_health_and_metrics_are_never_kept(page_cache, client):
    client.get("/healthz")
    assert "Cache-Control" not in client.get("/healthz").headers


def test_hosts_share_the_generation_through_redis(page_cache, app, client, factories, tmp_path):
    with redis_server(tmp_path) as server:
        app.config["REDIS_URL"] = server.url
        try:
            client.get("/organisations/")
            with counted_statements() as kept:
                client.get("/organisations/")
            assert len(kept) == 0
            with app.test_request_context():  # a write committed on another host bumps the shared number
                from redis import Redis

                Redis.from_url(server.url).incr("portal:pagecache:generation")
            with counted_statements() as fresh:
                client.get("/organisations/")
            assert len(fresh) > 0
            server.stop()  # Redis down: pages are not kept (freshness unknown), and still served
            down = client.get("/organisations/")
            assert down.status_code == 200 and "X-Portal-Page-Cache" not in down.headers
            with counted_statements() as without:
                client.get("/organisations/")
            assert len(without) > 0
        finally:
            app.config["REDIS_URL"] = None
            app.extensions.pop("portal.redis", None)
            db.session.rollback()


def test_a_process_keeps_a_bounded_number_of_bytes(page_cache, client, monkeypatch):
    from portal import pagecache

    size = len(client.get("/organisations/").get_data())
    monkeypatch.setattr(pagecache, "MAX_BYTES", int(size * 2.5))
    for page in range(2, 6):
        client.get(f"/organisations/?page={page}")
    assert len(page_cache.entries) == 2 and page_cache.bytes <= pagecache.MAX_BYTES
    with counted_statements() as newest:
        client.get("/organisations/?page=5")
    with counted_statements() as evicted:
        client.get("/organisations/")
    assert len(newest) == 0 and len(evicted) > 0
