"""Haichuang Portal: the application factory.

`create_app` is a checklist: configuration, logging, extensions, blueprints, error handlers,
request lifecycle (one commit per request), template helpers, commands.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from flask import Flask, g, request
from sqlalchemy.exc import IntegrityError

from portal.config import ConfigError, load_config, validate_config  # noqa: F401  (re-exported)

DOMAIN_PACKAGES = ("incubation", "resources", "funding")
TRANSLATIONS = str(Path(__file__).parent / "translations")


class PortalFlask(Flask):
    """Commits the unit of work once, after the view returned a success response.

    Committing inside dispatch (not in `after_request`) lets a failing commit, such as a unique
    constraint losing a race, reach the error handlers and become a 409 instead of a 500. A view that
    catches a service's refusal and still answers below 400 (the form again, a flash and a redirect)
    calls the service inside `portal.db.attempt()`, which rolls back what the refused call flushed.
    """

    def dispatch_request(self):
        from portal.db import commit, rollback, write_recorded_uses

        response = self.make_response(super().dispatch_request())
        if response.status_code < 400:
            commit()
        else:
            rollback()
        write_recorded_uses()  # "last used" times, in their own short transaction after the request's
        return response


def create_app(test_config: dict | None = None) -> Flask:
    app = PortalFlask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    config = load_config(app.instance_path)
    if test_config:
        config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            from portal.config import normalise_database_url

            config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(test_config["SQLALCHEMY_DATABASE_URI"])
    validate_config(config)
    config.pop("_ERRORS", None)
    app.config.from_mapping(config)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = TRANSLATIONS

    configure_logging(app)
    register_page_cache(app)
    trust_proxies(app)
    register_input_guard(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_observability(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    from portal.redaction import SecretRedactingFilter

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
    redactor = SecretRedactingFilter.from_config(app.config)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    app.logger.addFilter(redactor)


def register_page_cache(app: Flask) -> None:
    """Anonymous public pages kept a few seconds and revalidated by ETag (portal.pagecache); installed before
    the proxy fix so that it sees the client's scheme and host."""
    from portal import pagecache

    pagecache.init_app(app)


def trust_proxies(app: Flask) -> None:
    """Behind `TRUSTED_PROXIES` reverse proxies, the client's address, scheme, host and port come from
    their X-Forwarded-* headers (werkzeug's ProxyFix), so rate limits, audit rows, login records,
    redirects and secure cookies see the client, not the balancer. With 0 (the default) those headers
    are ignored: a client cannot claim another address."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def register_input_guard(app: Flask) -> None:
    """Bounded `<int:>` ids before any route exists; input no field can store refused before any view."""
    from portal import inputs

    inputs.init_app(app)


def register_extensions(app: Flask) -> None:
    from portal import i18n
    from portal.auth import sessions
    from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    import portal.forms  # noqa: F401  (CSRF tokens made when a form is shown, not when it is built)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    with app.app_context():
        configure_engine(db.engine)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    # Cookies carry the key of a server-side login (portal.auth.sessions), which logout revokes. On the
    # API an `Authorization: Bearer <token>` header decides who is calling, even next to a cookie.
    from portal.api import bearer_header, load_user_from_bearer_token

    @login_manager.user_loader
    def load_session_user(key: str):
        return None if bearer_header(request) else sessions.load_user(key)

    login_manager.request_loader(load_user_from_bearer_token)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import abort

        abort(401)

    # Import models so that metadata (and Alembic) see every table.
    import portal.audit  # noqa: F401
    import portal.notifications.models  # noqa: F401
    import portal.organisations.models  # noqa: F401
    import portal.uploads  # noqa: F401


def configure_engine(engine) -> None:
    """SQLite: real transactions (so SAVEPOINT works), foreign keys, WAL and a busy timeout."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # SQLite has one writer at a time. A request that writes takes the write lock when its
        # transaction starts (waiting up to busy_timeout), so its checks and its writes see the
        # same data and it never fails half-way upgrading a read lock. Reads stay concurrent.
        from flask import has_request_context, request

        writes = has_request_context() and request.method in ("POST", "PUT", "PATCH", "DELETE")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
        connection.info["sqlite_write_locked"] = writes  # see portal.db.holds_sqlite_write_lock


def register_blueprints(app: Flask) -> None:
    from portal import api, images, openapi  # openapi: the /api/v1/openapi.json route (on api.bp), /api/docs
    from portal.admin import api as admin_api
    from portal.admin import views as admin_views
    from portal.auth import api as auth_api
    from portal.auth import policies as _auth_policies  # noqa: F401
    from portal.auth import views as auth_views
    from portal.errors import register_error_handlers
    from portal.main import views as main_views
    from portal.organisations import api as organisations_api
    from portal.organisations import policies as _organisation_policies  # noqa: F401
    from portal.organisations import views as organisations_views

    for blueprint in (main_views.bp, auth_views.bp, organisations_views.bp, admin_views.bp, api.bp, auth_api.bp,
                      organisations_api.bp, admin_api.bp, openapi.docs_bp, images.bp):
        app.register_blueprint(blueprint)
    for name in DOMAIN_PACKAGES:
        importlib.import_module(name).init_app(app)
    importlib.import_module("portal.search").init_app(app)
    importlib.import_module("portal.moderation").init_app(app)
    importlib.import_module("portal.transparency").init_app(app)
    importlib.import_module("portal.notifications").init_app(app)
    register_error_handlers(app)

    @app.errorhandler(IntegrityError)
    def integrity_conflict(error: IntegrityError):
        from portal.errors import error_response
        from portal.extensions import db

        db.session.rollback()
        return error_response(409, "That conflicts with existing data (it may have been changed at the same time).")


def register_request_hooks(app: Flask) -> None:
    from flask_login import current_user

    from portal.api import authenticate_api_request

    app.before_request(authenticate_api_request)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        if app.config.get("HSTS_HEADER"):
            response.headers.setdefault("Strict-Transport-Security", app.config["HSTS_HEADER"])
        static = (request.endpoint or "").rpartition(".")[2] == "static"
        signed_in = g.get("api_token_auth") or current_user.is_authenticated
        if request.endpoint == "images.serve" and "immutable" in response.headers.get("Cache-Control", ""):
            # An image of a public object under a URL naming its content (portal.images): the browser keeps
            # it; for a signed-in user no shared cache does (the response may carry the session cookie).
            static = True
            if signed_in:
                response.headers["Cache-Control"] = response.headers["Cache-Control"].replace("public", "private")
        if not static and signed_in:
            # Nothing shown to a signed-in user (session or bearer token) may sit in a shared or
            # browser cache; public static assets keep their caching.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        if request.path.startswith("/api/"):
            response.vary.add("Authorization")
        return response


def register_observability(app: Flask) -> None:
    """Request id (X-Request-ID, g.request_id), JSON logs (LOG_FORMAT), Prometheus metrics on /metrics."""
    from portal import observability

    observability.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from portal import templating

    templating.init_app(app)


def register_commands(app: Flask) -> None:
    from portal import cli

    cli.init_app(app)
