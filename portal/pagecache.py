"""The page cache: what an anonymous visitor is shown, kept a few seconds and revalidated by ETag.

Public pages (home, lists, details, public API lists) are the same for every visitor who is not signed
in. A page qualifies when the request is an anonymous GET (no session or remember cookie, no
`Authorization` header) and its response is a 200 that wrote nothing: no session change, no cookie, no
database write, no `Cache-Control` of its own (`mark_cacheable`, an after-request hook, decides). Such
a response gets an `ETag`, `Cache-Control: public, max-age=PAGE_CACHE_SECONDS` and `Vary: Cookie,
Accept-Language`, so browsers and shared caches may keep it; and this process keeps it too
(`PageCache`, a WSGI middleware in front of Flask): the next anonymous visitor within
`PAGE_CACHE_SECONDS` gets the stored bytes (or a 304 for a matching `If-None-Match`) without a
session, a query or a template.

Freshness: any committed database write bumps a generation (in Redis when `REDIS_URL` is set, so every
app host sees it; else a file in the instance folder, shared by this host's workers), and an entry of an
older generation is not served. Changes outside the database (a clock passing a campaign's deadline)
show within `PAGE_CACHE_SECONDS`. `PAGE_CACHE_SECONDS=0` turns the cache off (tests do, through
`CACHE_DISABLED`). Signed-in visitors never use it: their pages are `no-store`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable

from flask import Flask, g, request, session

log = logging.getLogger("portal.pagecache")
access_log = logging.getLogger("portal.request")  # the access log of portal.observability

HEADER = "X-Portal-Page-Cache"  # after-request -> middleware: "this response may be kept" (never sent out)
GENERATION_KEY = "portal:pagecache:generation"
MAX_ENTRIES = 512
MAX_BODY = 1024 * 1024
MAX_BYTES = 16 * 1024 * 1024  # per process: the worker's memory stays bounded whatever is asked
MAX_KEY_PART = 200
EXCLUDED_ENDPOINTS = {"static", "main.health", "main.ready", "observability.metrics", "images.serve"}
CACHEABLE_TYPES = ("text/html", "application/json")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def seconds_for(app: Flask) -> int:
    if app.config.get("CACHE_DISABLED"):
        return 0
    return max(0, int(app.config.get("PAGE_CACHE_SECONDS") or 0))


# ---- the generation: bumped by every committed write ---------------------------------------------------


class Generation:
    """A number every app host agrees on, which changes whenever the database changed."""

    def __init__(self, app: Flask):
        self.app = app
        self.path = os.path.join(app.instance_path, "page-cache.generation")

    def _redis(self):
        url = self.app.config.get("REDIS_URL")
        if not url:
            return None
        client = self.app.extensions.get("portal.redis", {}).get(url)  # the process's client (portal.jobs)
        if client is None:
            from portal.jobs import get_redis

            with self.app.app_context():  # once per process: every request asks
                client = get_redis()
        return client

    def current(self) -> str | None:
        """None when it cannot be known (then nothing is served from the cache)."""
        client = self._redis()
        if client is not None:
            from redis.exceptions import RedisError

            try:
                value = client.get(GENERATION_KEY)
            except RedisError:
                return None
            return value.decode() if value is not None else "0"
        try:
            return str(os.stat(self.path).st_mtime_ns)
        except FileNotFoundError:
            return "0"
        except OSError:
            return None

    def bump(self) -> None:
        client = self._redis()
        if client is not None:
            from redis.exceptions import RedisError

            try:
                client.incr(GENERATION_KEY)
                return
            except RedisError as error:
                log.warning("page cache: Redis unreachable (%s); pages may be up to %s s old", error,
                            seconds_for(self.app))
                return
        try:
            with open(self.path, "a"):
                pass
            os.utime(self.path, ns=(time.time_ns(), time.time_ns()))
        except OSError as error:
            log.warning("page cache: cannot touch %s (%s)", self.path, error)


_watching = False


def watch_writes() -> None:
    """Bump the generation after any commit whose transaction wrote (an ORM flush or a DML statement).
    Installed once per process on every session; the app of the moment decides where to bump."""
    global _watching
    if _watching:
        return
    _watching = True
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def mark(session) -> None:
        if not session.info.get("page_cache_ignore"):
            session.info["page_cache_dirty"] = True

    @event.listens_for(Session, "after_flush")
    def after_flush(session, _context):
        mark(session)

    @event.listens_for(Session, "do_orm_execute")
    def on_execute(state):
        if state.is_insert or state.is_update or state.is_delete:
            mark(state.session)

    @event.listens_for(Session, "after_commit")
    def after_commit(session):
        if session.info.pop("page_cache_dirty", False):
            bump()

    @event.listens_for(Session, "after_rollback")
    def after_rollback(session):
        session.info.pop("page_cache_dirty", None)


def bump() -> None:
    """Pages kept so far are not served again (called after a committed write)."""
    from flask import current_app, has_app_context, has_request_context

    if not has_app_context():
        return
    cache = current_app.extensions.get("portal.pagecache")
    if cache is None or seconds_for(current_app) <= 0:
        return
    if has_request_context():
        g.page_cache_wrote = True
    cache.generation.bump()


class ignoring_writes:
    """Writes that change nothing anyone reads on a public page (a token's "last used" time)."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        self.session.info["page_cache_ignore"] = True

    def __exit__(self, *_exc):
        self.session.info.pop("page_cache_ignore", None)


# ---- the after-request hook: which responses may be kept -----------------------------------------------


def anonymous_request(environ: dict, app: Flask) -> bool:
    if environ.get("HTTP_AUTHORIZATION"):
        return False
    cookies = environ.get("HTTP_COOKIE") or ""
    for name in (app.config.get("SESSION_COOKIE_NAME") or "session",
                 app.config.get("REMEMBER_COOKIE_NAME") or "remember_token"):
        if name + "=" in cookies:
            return False
    return True


def carries_secret() -> bool:
    """A URL with a secret in it (confirmation, reset, invitation, unsubscribe tokens) is never kept: its
    page is for one person, and a kept page's access log line would show the path unmasked."""
    from portal.observability import _SECRET_ARG

    return any(_SECRET_ARG.search(name) for name in (request.view_args or {}))


def mark_cacheable(response):
    """After request: an anonymous GET whose 200 wrote nothing gets an ETag and public caching headers,
    and the middleware may keep it."""
    from flask import current_app

    app = current_app._get_current_object()
    seconds = seconds_for(app)
    if (seconds <= 0 or request.method != "GET" or response.status_code != 200
            or request.endpoint in EXCLUDED_ENDPOINTS or request.endpoint is None
            or not anonymous_request(request.environ, app)
            or response.mimetype not in CACHEABLE_TYPES or response.is_streamed or response.direct_passthrough
            or "Cache-Control" in response.headers or "Set-Cookie" in response.headers
            or session.modified or g.get("page_cache_wrote") or carries_secret()):
        return response
    response.add_etag()
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    if g.get("page_cache_generation"):  # the middleware is listening (it strips the header)
        response.headers[HEADER] = g.page_cache_generation
    return response.make_conditional(request)


# ---- the middleware -------------------------------------------------------------------------------------


class Entry:
    __slots__ = ("generation", "expires", "status", "headers", "body", "etag", "created")

    def __init__(self, generation, expires, status, headers, body, etag):
        self.generation, self.expires, self.status = generation, expires, status
        self.headers, self.body, self.etag = headers, body, etag
        self.created = time.monotonic()


class PageCache:
    """WSGI middleware serving kept anonymous pages; everything else goes to the app unchanged."""

    def __init__(self, wsgi_app: Callable, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self.generation = Generation(app)
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.lock = threading.Lock()
        self.bytes = 0

    def key(self, environ: dict) -> str | None:
        language = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        query = environ.get("QUERY_STRING", "")
        if len(language) > MAX_KEY_PART or len(query) > 2 * MAX_KEY_PART:
            return None
        return "\n".join((environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""),
                          environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), query, language))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        seconds = seconds_for(self.app)
        if seconds <= 0 or environ.get("REQUEST_METHOD") != "GET" or not anonymous_request(environ, self.app):
            return self.wsgi_app(environ, start_response)
        key = self.key(environ)
        generation = self.generation.current()
        if key is None or generation is None:
            return self.wsgi_app(environ, start_response)
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None and (entry.expires <= now or entry.generation != generation):
                self.bytes -= len(self.entries.pop(key).body)
                entry = None
            elif entry is not None:
                self.entries.move_to_end(key)  # least recently served goes first
        if entry is not None:
            return self.serve(entry, environ, start_response, now)
        environ["portal.page_cache_generation"] = generation
        return self.fill(key, seconds, environ, start_response)

    def serve(self, entry: Entry, environ: dict, start_response: Callable, now: float) -> Iterable[bytes]:
        started = time.perf_counter()
        from portal.observability import REQUEST_ID_HEADER, accepted_request_id

        request_id = accepted_request_id(environ.get("HTTP_X_REQUEST_ID")) or uuid.uuid4().hex
        headers = [*entry.headers, ("Age", str(int(now - entry.created))), (REQUEST_ID_HEADER, request_id)]
        matches = entry.etag and entry.etag in (environ.get("HTTP_IF_NONE_MATCH") or "")
        if matches:
            status, body = "304 NOT MODIFIED", b""
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")]
        else:
            status, body = entry.status, entry.body
        start_response(status, headers)
        from portal.observability import REQUEST_LATENCY

        duration = time.perf_counter() - started
        REQUEST_LATENCY.labels("page_cache", "GET", f"{status[0]}xx").observe(duration)
        path = environ.get("PATH_INFO", "")
        access_log.info("GET %s %s %.1fms (page cache)", path, status[:3], duration * 1000,
                        extra={"method": "GET", "path": path, "endpoint": "page_cache", "status": int(status[:3]),
                               "duration_ms": round(duration * 1000, 1)})
        return [body]

    def fill(self, key: str, seconds: int, environ: dict, start_response: Callable) -> Iterable[bytes]:
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            keep = next((v for k, v in headers if k == HEADER), None)
            headers = [(k, v) for k, v in headers if k != HEADER]
            captured.update(status=status, headers=headers, keep=keep)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.wsgi_app(environ, capture)
        if captured.get("keep") is None or not captured["status"].startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        generation = captured["keep"]
        if generation and len(body) <= MAX_BODY:
            etag = next((v for k, v in captured["headers"] if k.lower() == "etag"), "")
            headers = [(k, v) for k, v in captured["headers"] if k.lower() not in ("x-request-id", "age")]
            entry = Entry(generation, time.monotonic() + seconds, captured["status"], headers, body,
                          etag.strip('W/"'))
            with self.lock:
                old = self.entries.pop(key, None)
                self.bytes += len(body) - (len(old.body) if old is not None else 0)
                self.entries[key] = entry
                while len(self.entries) > MAX_ENTRIES or self.bytes > MAX_BYTES:
                    self.bytes -= len(self.entries.popitem(last=False)[1].body)
        return [body]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = 0


def init_app(app: Flask) -> None:
    """Install the middleware (inside any proxy fix, so it sees the client's scheme and host), the
    after-request hook and the write watcher."""
    cache = PageCache(app.wsgi_app, app)
    app.wsgi_app = cache
    app.extensions["portal.pagecache"] = cache

    @app.before_request
    def note_generation():
        g.page_cache_generation = request.environ.get("portal.page_cache_generation")

    app.after_request(mark_cacheable)
    watch_writes()
