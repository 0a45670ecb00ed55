"""Domain exceptions and the error pages: HTML for pages, the JSON error format under /api/."""

from __future__ import annotations

import logging

from flask import g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from portal.extensions import db

log = logging.getLogger(__name__)

ERROR_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Forbidden"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Upload too large"),
    415: _l("Unsupported media type"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}

MESSAGES = {
    400: _l("The request was not valid."),
    401: _l("You need to log in to do that."),
    403: _l("You do not have permission to do that."),
    404: _l("We could not find what you were looking for."),
    405: _l("That method is not allowed here."),
    409: _l("That conflicts with the current state. Reload and try again."),
    413: _l("The request is larger than the size limit."),
    415: _l("Send JSON with Content-Type: application/json."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("An unexpected error happened. It has been logged."),
    503: _l("The portal cannot reach its database right now. Please try again in a minute."),
}

# Seconds a client is asked to wait (Retry-After) while the database is unreachable.
RETRY_AFTER_SECONDS = 30


class PortalError(Exception):
    """A rule said no. Services raise these; views and the API turn them into responses."""

    status = 400
    code = "validation_error"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.fields = {k: [str(m) for m in v] for k, v in (fields or {}).items()}


class ValidationFailed(PortalError):
    status = 400
    code = "validation_error"

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(message, {name: [message]})


class Conflict(PortalError):
    status = 409
    code = "conflict"


class Unauthorized(PortalError):
    status = 401
    code = "unauthorized"


class Forbidden(PortalError):
    """A rule refuses this person, with a specific code (e.g. `own_campaign`)."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message, fields)
        if code:
            self.code = code


class ConflictOfInterest(Conflict):
    """A reviewer who has a conflict of interest with the application may not judge it."""

    code = "conflict_of_interest"


class OrganisationUnverified(Conflict):
    """Company powers need a company organisation that a platform admin has verified."""

    code = "organisation_unverified"


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )


def error_response(status: int, message: str | None = None, fields: dict | None = None, code: str | None = None):
    message = str(message or MESSAGES.get(status, MESSAGES[500]))
    if wants_json():
        body = {"error": {"code": code or ERROR_CODES.get(status, "error"), "message": message}}
        if fields:
            body["error"]["fields"] = fields
        response = jsonify(body)
    else:
        title = TITLES.get(status, TITLES[500])
        response = make_response(render_template("errors/error.html", status=status, title=title, message=message,
                                                 fields=fields))
    response.status_code = status
    return response


# SQLSTATEs of a server that went away or refuses connections (class 08: connection exception;
# 57P01-3: shutting down or starting up; 53300: too many connections).
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
SQLITE_UNAVAILABLE = {"SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOTADB"}
DATABASE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (a lost or refused connection, a server
    shutting down, an exhausted pool), as opposed to a bad statement, a constraint or a deadlock."""
    if isinstance(error, (sa_exc.DisconnectionError, sa_exc.TimeoutError, sa_exc.InterfaceError)):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    errorname = getattr(original, "sqlite_errorname", None)
    if errorname is not None:
        return errorname in SQLITE_UNAVAILABLE or errorname.startswith("SQLITE_IOERR")
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is None:
        # psycopg: no SQLSTATE means the client failed (connection refused, lost, timed out).
        return type(original).__module__.startswith("psycopg")
    return sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


def database_unavailable_response():
    """503 with Retry-After: the friendly page, or the JSON error under /api/. Touches no database:
    the visitor is shown as logged out rather than loaded."""
    from portal.extensions import login_manager

    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    try:
        if wants_json():
            response = error_response(503, code="service_unavailable")
        else:
            response = make_response(render_template("errors/503.html", status=503, title=TITLES[503],
                                                     message=MESSAGES[503]))
    except Exception:  # the page must not fail in turn
        log.exception("could not render the 503 page")
        response = make_response(f"<!doctype html><title>503</title><h1>{TITLES[503]}</h1><p>{MESSAGES[503]}</p>")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database may be the thing that is down
        log.debug("rollback failed", exc_info=True)


def register_error_handlers(app) -> None:
    @app.errorhandler(PortalError)
    def handle_portal_error(error: PortalError):
        _rollback_quietly()
        return error_response(error.status, error.message, error.fields, error.code)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        _rollback_quietly()
        return error_response(400, _l("The form expired or was sent from elsewhere. Reload the page and try again."),
                              {"csrf_token": [str(error.description)]})

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        _rollback_quietly()
        status = error.code or 500
        if status == 401 and not wants_json():
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        message = None
        if status == 400 and error.description and "browser (or proxy)" not in error.description:
            message = error.description
        if status == 429:
            message = None
        response = error_response(status, message)
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        _rollback_quietly()
        if database_unavailable(error):
            return handle_database_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    def handle_database_error(error: Exception):
        if not database_unavailable(error):
            return handle_unexpected(error)
        _rollback_quietly()
        log.error("database unavailable on %s %s: %s", request.method, request.path,
                  str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300])
        return database_unavailable_response()

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, handle_database_error)
