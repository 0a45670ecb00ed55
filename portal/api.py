"""The base of the public JSON API v1: blueprints, bearer auth, input parsing, pagination.

Every domain package creates its API blueprint with `api_blueprint(name)` and documents each route
with `@doc(...)`; portal.openapi generates `/api/v1/openapi.json` from the URL map, and a test fails
when a route has no documentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict

from portal.errors import Unauthorized, ValidationFailed
from portal.extensions import csrf, db, login_manager

API_PREFIX = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_API_BLUEPRINTS: list[Blueprint] = []


def api_blueprint(name: str, import_name: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # cookie-authenticated writes are checked in `authenticate_api_request`
    _API_BLUEPRINTS.append(bp)
    return bp


bp = api_blueprint("api", __name__)


def doc(summary: str, *, form: type | None = None, auth: bool = True, responses: dict[int, str] | None = None,
        query: dict[str, str] | None = None) -> Callable:
    """Describe an API view for the OpenAPI document."""

    def decorate(view: Callable) -> Callable:
        view.api_doc = {"summary": summary, "form": form, "auth": auth, "responses": responses or {},
                        "query": query or {}}
        return view

    return decorate


def authenticate_api_request() -> None:
    """Bearer tokens for integrations; the session cookie (with CSRF on writes) for the browser."""
    if not request.path.startswith("/api/"):
        return
    header = request.headers.get("Authorization", "")
    if header:
        from portal.auth.services import user_for_token

        scheme, _, raw = header.partition(" ")
        user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("Invalid or revoked API token")
        login_manager._update_request_context_with_user(user)
        g.api_token_auth = True
        return
    if (request.method in WRITE_METHODS and current_user.is_authenticated
            and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()


def require_login() -> None:
    if not current_user.is_authenticated:
        raise Unauthorized("Authentication required: log in or send Authorization: Bearer <token>")


# ---- input -----------------------------------------------------------------------------------

def _flatten(prefix: str, value: Any, out: MultiDict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}-{key}" if prefix else str(key), item, out)
    elif isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            for item in value:
                out.add(prefix, _scalar(item))
        else:
            for index, item in enumerate(value):
                _flatten(f"{prefix}-{index}", item, out)
    elif value is not None:
        out.add(prefix, _scalar(value))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_body() -> dict:
    data = request.get_json(silent=True)
    if request.content_length and not request.is_json:
        raise ValidationFailed("Send JSON with Content-Type: application/json", {"_body": ["expected JSON"]})
    if data is None:
        data = {} if not request.get_data(cache=True) else None
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object", {"_body": ["expected a JSON object"]})
    return data


def json_bool(body: dict, name: str, default: bool | None = None) -> bool:
    """A strict JSON boolean from a parsed body (400 naming the field for anything else, or when missing
    without a default)."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValidationFailed.field(name, gettext("Send true or false."))
    return value


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


def parse(form_class: type, data: dict | None = None, **kwargs):
    """Validate a JSON body with the same WTForms form the HTML view uses, or raise 400."""
    if data is None:
        data = json_body()
    formdata = MultiDict()
    _flatten("", data, formdata)
    form = form_class(formdata=formdata, meta={"csrf": False}, **kwargs)
    if not form.validate():
        raise ValidationFailed("Some fields are not valid", _form_errors(form.errors))
    return form


def raise_form_errors(form) -> None:
    raise ValidationFailed("Some fields are not valid", _form_errors(form.errors))


# ---- output ----------------------------------------------------------------------------------

def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
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
    return _int_arg("page", 1, 1, None), _int_arg("per_page", 20, 1, 100)


def paginate(stmt: Select, serialize: Callable[[Any], dict]) -> dict:
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialize(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def paginate_list(items: Iterable[Any], serialize: Callable[[Any], dict]) -> dict:
    page, per_page = page_args()
    items = list(items)
    window = items[(page - 1) * per_page : page * per_page]
    return {"items": [serialize(i) for i in window], "page": page, "per_page": per_page, "total": len(items)}


def iso(moment) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}
