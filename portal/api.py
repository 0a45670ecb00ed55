"""The base of the public JSON API v1: blueprints, bearer auth, input parsing, pagination.

Every domain package creates its API blueprint with `api_blueprint(name)` and documents each route
with `@doc(...)`; portal.openapi generates `/api/v1/openapi.json` from the URL map, and a test fails
when a route has no documentation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Select

from portal.errors import Unauthorized, ValidationFailed
from portal.extensions import csrf

API_PREFIX = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_API_BLUEPRINTS: list[Blueprint] = []
C = TypeVar("C", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)


def api_blueprint(name: str, import_name: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # cookie-authenticated writes are checked in `authenticate_api_request`
    _API_BLUEPRINTS.append(bp)
    return bp


bp = api_blueprint("api", __name__)


def doc(summary: str, *, body: type | None = None, query: type | dict[str, str] | None = None,
        response: type | dict[int, type] | None = None, form: type | None = None, auth: bool = True,
        responses: dict[int, str] | None = None) -> Callable:
    """Describe an API view for the OpenAPI document.

    `body` is the command (portal.schemas.Command) the view parses its JSON body into, `query` the
    model of its query string (or, for a few free-form filters, a dict name -> description), `response`
    the model of what it answers on success (per status when a dict; wrapped in a page for paginated
    views). `form` stays for multipart uploads, described by their WTForms form."""

    def decorate(view: Callable) -> Callable:
        query_model = query if isinstance(query, type) else None
        view.api_doc = {"summary": summary, "body": body, "form": form, "auth": auth,
                        "responses": responses or {}, "query": {} if query_model or query is None else query,
                        "query_model": query_model, "response": response}
        return view

    return decorate


def bearer_header(req) -> str:
    """The Authorization header of an API request ("" elsewhere): when present it, not a cookie,
    says who is calling."""
    return req.headers.get("Authorization", "") if req.path.startswith("/api/") else ""


def load_user_from_bearer_token(req) -> object | None:
    """flask-login's request loader: `Authorization: Bearer <token>` on the API. A header that names no
    live token is a 401, never an anonymous request."""
    header = bearer_header(req)
    if not header or g.get("bearer_refused"):
        return None  # (refused once: the error response itself is rendered for an anonymous caller)
    from portal.auth.services import user_for_token

    scheme, _, raw = header.partition(" ")
    user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        g.bearer_refused = True
        raise Unauthorized("Invalid or revoked API token")
    g.api_token_auth = True
    return user


def authenticate_api_request() -> None:
    """Bearer tokens for integrations; the session cookie (with CSRF on writes) for the browser.

    flask-login resolves who is calling (the session first, then `load_user_from_bearer_token`); a write
    that rests on the session cookie needs the CSRF token, one that rests on a bearer token does not."""
    if not request.path.startswith("/api/"):
        return
    authenticated = current_user.is_authenticated  # runs the loaders once, here
    if (authenticated and not g.get("api_token_auth") and request.method in WRITE_METHODS
            and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()


def require_login() -> None:
    if not current_user.is_authenticated:
        raise Unauthorized("Authentication required: log in or send Authorization: Bearer <token>")


# ---- input -----------------------------------------------------------------------------------

def json_body() -> dict:
    data = request.get_json(silent=True)
    if request.content_length and not request.is_json:
        raise ValidationFailed("Send JSON with Content-Type: application/json", {"_body": ["expected JSON"]})
    if data is None:
        data = {} if not request.get_data(cache=True) else None
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object", {"_body": ["expected a JSON object"]})
    return data


def read_body(model: type[C]) -> C:
    """The JSON body of this request as `model` (a portal.schemas.Command), or a 400 naming each bad
    field. Parsed once, strictly, in pydantic's JSON mode: a list, a boolean or a number never becomes
    text; dates and times are ISO 8601 text. A top-level `null` is the field left out (its default), as
    API clients have always sent it, unless the field's default is None (a PATCH clearing a value)."""
    from portal.schemas import validation_failed

    data = json_body()  # the media type and "an object" checks, with their own messages
    fields = model.model_fields
    present = {key: value for key, value in data.items()
               if value is not None or key not in fields or fields[key].default is None}
    try:
        return model.model_validate_json(json.dumps(present))
    except PydanticValidationError as exc:
        raise validation_failed(exc) from None


def read_query(model: type[Q]) -> Q:
    """This request's query string as `model` (a portal.schemas.Query), or a 400 naming the parameter.
    An empty parameter (`?industry=`) counts as absent."""
    from portal.schemas import validate

    data: dict[str, Any] = {}
    for name in request.args:
        values = [v for v in request.args.getlist(name) if v != ""]
        if values:
            field = model.model_fields.get(name)
            many = field is not None and getattr(field.annotation, "__origin__", None) in (list, tuple)
            data[name] = values if many else values[-1]
    return validate(model, data)


def _form_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for name, messages in errors.items():
        key = f"{prefix}{name}"
        if isinstance(messages, dict):
            flat.update(_form_errors(messages, key + "."))
        elif isinstance(messages, list) and messages and isinstance(messages[0], dict | list):
            for index, item in enumerate(messages):
                if item:
                    nested = item if isinstance(item, dict) else {"": item}
                    flat.update(_form_errors(nested, f"{key}.{index}."))
        else:
            flat[key.rstrip(".")] = [str(m) for m in messages]
    return flat


def raise_form_errors(form) -> None:
    raise ValidationFailed("Some fields are not valid", _form_errors(form.errors))


# ---- output ----------------------------------------------------------------------------------

def int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.field(name, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationFailed.field(name, f"{name} must be {bound}")
    return value


def page_args() -> tuple[int, int]:
    return int_arg("page", 1, 1, None), int_arg("per_page", 20, 1, 100)


def paginate(stmt: Select, serialize: Callable[[Any], dict]) -> dict:
    from portal.paging import page_of

    found = page_of(stmt, *page_args())
    return paged([serialize(row) for row in found.items], found.total, found.page, found.per_page)


def paged(items: list[dict], total: int, page: int, per_page: int) -> dict:
    """The page envelope for a list paged elsewhere (a cached ranking, a bounded set)."""
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def paginate_list(items: Iterable[Any], serialize: Callable[[Any], dict]) -> dict:
    page, per_page = page_args()
    items = list(items)
    window = items[(page - 1) * per_page : page * per_page]
    return {"items": [serialize(i) for i in window], "page": page, "per_page": per_page, "total": len(items)}


def iso(moment) -> str | None:
    """A stored UTC time as ISO 8601 (`2026-12-01T09:30:00Z`), the year always four digits (strftime's
    `%Y` writes the year 226 as "226")."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}
