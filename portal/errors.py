"""Domain exceptions and the error pages: HTML for pages, the JSON error format under /api/."""

from __future__ import annotations

import logging

from flask import jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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
}


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


def register_error_handlers(app) -> None:
    @app.errorhandler(PortalError)
    def handle_portal_error(error: PortalError):
        db.session.rollback()
        return error_response(error.status, error.message, error.fields, error.code)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        db.session.rollback()
        return error_response(400, _l("The form expired or was sent from elsewhere. Reload the page and try again."),
                              {"csrf_token": [str(error.description)]})

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        db.session.rollback()
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
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
