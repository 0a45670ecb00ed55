"""The base of the public JSON API v1: blueprints, bearer auth, input parsing, pagination, OpenAPI.

Every domain package creates its API blueprint with `api_blueprint(name)` and documents each route
with `@doc(...)`; `/api/v1/openapi.json` is generated from the URL map, and a test fails when a
route has no documentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict
from wtforms import fields as wtf

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


# ---- OpenAPI ---------------------------------------------------------------------------------

_FIELD_TYPES = {
    wtf.IntegerField: {"type": "integer"},
    wtf.BooleanField: {"type": "boolean"},
    wtf.DecimalField: {"type": "number"},
    wtf.FloatField: {"type": "number"},
    wtf.EmailField: {"type": "string", "format": "email"},
    wtf.DateTimeField: {"type": "string", "format": "date-time"},
    wtf.DateField: {"type": "string", "format": "date"},
    wtf.SelectMultipleField: {"type": "array", "items": {"type": "string"}},
    wtf.FieldList: {"type": "array"},
}


def form_schema(form_class: type) -> dict:
    form = form_class(formdata=None, meta={"csrf": False})
    properties, required = {}, []
    for field in form:
        schema = {"type": "string"}
        for field_type, mapped in _FIELD_TYPES.items():
            if isinstance(field, field_type):
                schema = dict(mapped)
                break
        choices = getattr(field, "choices", None)
        if choices and not isinstance(field, wtf.SelectMultipleField):
            schema["enum"] = [c[0] if isinstance(c, tuple) else c for c in choices]
        if field.description:
            schema["description"] = str(field.description)
        properties[field.name] = schema
        if field.flags.required:
            required.append(field.name)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def openapi_document() -> dict:
    paths: dict[str, dict] = {}
    error_ref = {"$ref": "#/components/responses/Error"}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = current_app.view_functions[rule.endpoint]
        meta = getattr(view, "api_doc", None)
        path = rule.rule[len(API_PREFIX):]
        for converter_arg in rule.arguments:
            path = path.replace(f"<int:{converter_arg}>", f"{{{converter_arg}}}").replace(
                f"<{converter_arg}>", f"{{{converter_arg}}}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}"}
            if meta is None:
                operation["summary"] = ""
                operation["x-undocumented"] = True
            else:
                operation["summary"] = meta["summary"]
                if meta["form"] is not None and method in WRITE_METHODS:
                    operation["requestBody"] = {"required": True, "content": {
                        "application/json": {"schema": form_schema(meta["form"])}}}
                if not meta["auth"]:
                    operation["security"] = []
                responses = {str(code): {"description": text} for code, text in meta["responses"].items()}
                responses.setdefault("200" if method != "POST" else "201", {"description": "Success"})
                responses["default"] = error_ref
                operation["responses"] = responses
                operation["parameters"] = [
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                     "description": text} for name, text in meta["query"].items()]
            operation["parameters"] = [
                {"name": arg, "in": "path", "required": True, "schema": {"type": "string"}}
                for arg in sorted(rule.arguments)] + operation.get("parameters", [])
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Haichuang Portal API", "version": "1.0.0"},
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object"}}}}}}}}},
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


@bp.get("/openapi.json")
@doc("This document: every route of the API", auth=False)
def openapi():
    return jsonify(openapi_document())
