"""The OpenAPI 3.1 document of the JSON API and its browsable page (Swagger UI at /api/docs).

The document is generated from facts the code already holds, so it cannot drift from the routes:
- the URL map gives the paths, the methods and the path parameters (typed by their converter: an
  `<int:…>` id is a PostgreSQL integer, 1 to 2**31 - 1);
- the `@doc(...)` of each view (portal.api.doc) gives the summary, the request form, whether a login
  is needed, the query parameters and the responses it documents by hand;
- the view's own source (read once with `ast`) gives the success codes it returns (`return …, 201`),
  whether it answers JSON, a paginated list, a plain `{"items": …}` list, a file or nothing, and
  whether it loads an object under a permission (`load(…)`: 401/403/404).
Every error response points at one `Error` schema, the format of portal.errors.error_response.
The route `/api/v1/openapi.json` stays on the `api` blueprint (endpoint `api.openapi`); `/api/docs` is
public and outside `/api/v1`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask_babel import gettext as _
from wtforms import fields as wtf
from wtforms import validators as wtf_validators

from portal.api import API_PREFIX, WRITE_METHODS, doc
from portal.api import bp as api_bp

INT32_MAX = 2_147_483_647
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

docs_bp = Blueprint("api_docs", __name__)


# ---- the Error schema and its examples ---------------------------------------------------------

def _error(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


# status -> (default description, examples: name -> error body)
ERROR_RESPONSES: dict[int, tuple[str, dict[str, dict]]] = {
    400: ("Invalid input: `validation_error`, with `fields` naming each bad field (a cookie-authenticated "
          "write without its CSRF token names `csrf_token`)",
          {"validation_error": _error("validation_error", "Some fields are not valid",
                                      {"title": ["This field is required."]})}),
    401: ("Not logged in: no session cookie, or a missing, invalid or revoked bearer token (`unauthorized`)",
          {"unauthorized": _error("unauthorized", "Authentication required: log in or send Authorization: "
                                                  "Bearer <token>")}),
    403: ("The caller may not do this (`forbidden`, or a more specific code such as `own_campaign`)",
          {"forbidden": _error("forbidden", "You do not have permission to do that."),
           "own_campaign": _error("own_campaign", "You cannot back your own campaign.",
                                  {"campaign_id": ["your own campaign"]})}),
    404: ("No such object, or one the caller may not see (`not_found`)",
          {"not_found": _error("not_found", "We could not find what you were looking for.")}),
    409: ("Conflicts with the current state (`conflict`, or a more specific code such as "
          "`conflict_of_interest`, `organisation_unverified`, `crowdfunding_mode_required`)",
          {"conflict": _error("conflict", "That conflicts with the current state. Reload and try again."),
           "organisation_unverified": _error("organisation_unverified",
                                             "A platform admin has to verify the organisation first.")}),
    413: ("The request body is larger than the size limit (`payload_too_large`)",
          {"payload_too_large": _error("payload_too_large", "The request is larger than the size limit.")}),
    429: ("Too many attempts from this address; wait and try again (`rate_limited`)",
          {"rate_limited": _error("rate_limited", "Too many requests. Wait a moment and try again.")}),
    503: ("A backing service is unavailable (e.g. `search_unavailable`)",
          {"search_unavailable": _error("search_unavailable", "Search is unavailable right now.")}),
}

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API. `code` is stable and machine-readable; `message` is for people "
                   "(in the caller's language); `fields` names each refused input field.",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                     "description": "validation_error (400), unauthorized (401), forbidden (403), not_found "
                                    "(404), method_not_allowed (405), conflict (409), payload_too_large (413), "
                                    "unsupported_media_type (415), rate_limited (429), or a more specific code "
                                    "of the same status (own_campaign, conflict_of_interest, "
                                    "organisation_unverified, crowdfunding_mode_required, search_unavailable)",
                     "examples": ["validation_error", "unauthorized", "forbidden", "not_found", "conflict",
                                  "payload_too_large", "rate_limited", "conflict_of_interest"]},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "input field name (nested fields joined with `.`) -> its problems"},
        },
    }},
    "examples": [body for _status, (_text, examples) in sorted(ERROR_RESPONSES.items())
                 for body in examples.values()],
}

PAGE_SCHEMA = {
    "type": "object",
    "description": "One page of a list (`?page=1&per_page=20`, at most 100 per page)",
    "required": ["items", "page", "per_page", "total"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
        "total": {"type": "integer", "minimum": 0},
    },
}

ITEMS_SCHEMA = {
    "type": "object",
    "description": "A whole (unpaginated) list",
    "required": ["items"],
    "properties": {"items": {"type": "array"}},
}

PAGE_PARAMETERS = {
    "page": {"type": "integer", "minimum": 1, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
}

SUCCESS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


# ---- what a view's source says -------------------------------------------------------------------

@dataclass
class ViewFacts:
    """What the generator learns from a view's source; `known` is False when the source is unavailable."""

    known: bool = False
    returns: dict[int, str] = field(default_factory=dict)  # status -> page | items | json | empty | file
    paginates: bool = False
    loads: bool = False  # portal.permissions.load: 404, then 401/403 by permission
    forbids: bool = False  # raises 403 itself
    not_found: bool = False  # raises 404 itself
    conflicts: bool = False  # raises 409 itself
    reads_args: bool = False
    reads_body: bool = False


_LIST_HELPERS = {"paginate", "paginate_list", "paged"}


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _own_nodes(tree: ast.AST):
    """The nodes of a function body, not those of functions defined inside it."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _body_kind(value: ast.AST | None, paged_names: set[str]) -> str:
    if value is None or (isinstance(value, ast.Constant) and value.value in ("", None, b"")):
        return "empty"
    if _call_name(value) == "jsonify" and value.args:
        arg = value.args[0]
        if _call_name(arg) in _LIST_HELPERS or (isinstance(arg, ast.Name) and arg.id in paged_names):
            return "page"
        keys = {getattr(k, "value", None) for k in arg.keys} if isinstance(arg, ast.Dict) else set()
        if "items" in keys:
            return "items"  # {"items": [...], …}: a whole list (the response model describes an item)
        return "json"
    if isinstance(value, ast.Dict):
        return "json"
    return "file"


@functools.cache
def view_facts(view: Callable) -> ViewFacts:
    target = inspect.unwrap(view)
    try:
        source = textwrap.dedent(inspect.getsource(target))
        tree = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return ViewFacts()
    facts = ViewFacts(known=True)
    paged_names: set[str] = set()
    nodes = list(_own_nodes(tree))
    for node in nodes:
        name = _call_name(node)
        if name in _LIST_HELPERS:
            facts.paginates = True
        elif name == "load":
            facts.loads = True
        elif name in ("json_body", "parse", "raise_form_errors", "read_body"):
            facts.reads_body = True
        elif name == "read_query":
            facts.reads_args = True
        elif name in ("abort", "error_response") and node.args and isinstance(node.args[0], ast.Constant):
            status = node.args[0].value
            facts.forbids |= status == 403
            facts.not_found |= status == 404
            facts.conflicts |= status == 409
        elif name in ("Forbidden", "require_role"):
            facts.forbids = True
        elif name in ("Conflict", "ConflictOfInterest", "OrganisationUnverified"):
            facts.conflicts = True
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "request":
            facts.reads_args |= node.attr in ("args", "values")
            facts.reads_body |= node.attr in ("form", "files", "data", "json", "get_json", "get_data")
        if (isinstance(node, ast.Assign) and _call_name(node.value) in _LIST_HELPERS):
            paged_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in nodes:
        if not isinstance(node, ast.Return):
            continue
        value, status = node.value, 200
        if isinstance(value, ast.Tuple) and len(value.elts) >= 2:
            code = value.elts[1]
            if isinstance(code, ast.Constant) and isinstance(code.value, int):
                status = code.value
            value = value.elts[0]
        kind = _body_kind(value, paged_names)
        previous = facts.returns.get(status)
        facts.returns[status] = kind if previous in (None, kind) else "json"
    return facts


def _rate_limited(view: Callable) -> bool:
    """Decorated with a flask-limiter limit (the shared login and registration budgets)."""
    from flask_limiter.util import get_qualified_name

    from portal.extensions import limiter

    return get_qualified_name(view) in getattr(limiter, "_marked_for_limiting", ())


# ---- request bodies from the WTForms forms ----------------------------------------------------

_FIELD_TYPES: list[tuple[type, dict]] = [
    (wtf.IntegerField, {"type": "integer"}),
    (wtf.BooleanField, {"type": "boolean"}),
    (wtf.DecimalField, {"type": "number"}),
    (wtf.FloatField, {"type": "number"}),
    (wtf.EmailField, {"type": "string", "format": "email"}),
    (wtf.DateTimeField, {"type": "string", "format": "date-time"}),
    (wtf.DateField, {"type": "string", "format": "date"}),
    (wtf.SelectMultipleField, {"type": "array", "items": {"type": "string"}}),
    (wtf.FileField, {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}),
]


def _field_class_schema(field_class: type) -> dict:
    for field_type, mapped in _FIELD_TYPES:
        if issubclass(field_class, field_type):
            return dict(mapped)
    return {"type": "string"}


def _choice_values(choices) -> list:
    if isinstance(choices, dict):  # optgroups
        choices = [c for group in choices.values() for c in group]
    values = []
    for choice in choices:
        value = choice[0] if isinstance(choice, tuple | list) else choice
        values.append(value if isinstance(value, int | float | bool) or value is None else str(value))
    return values


def _field_schema(form_field) -> dict:
    if isinstance(form_field, wtf.FormField):
        return form_schema(form_field.form_class) if hasattr(form_field, "form_class") else {"type": "object"}
    if isinstance(form_field, wtf.FieldList):
        unbound = form_field.unbound_field
        if issubclass(unbound.field_class, wtf.FormField) and unbound.args:
            item = form_schema(unbound.args[0])
        else:
            item = _field_class_schema(unbound.field_class)
        schema: dict[str, Any] = {"type": "array", "items": item}
        if form_field.max_entries:
            schema["maxItems"] = form_field.max_entries
        return schema
    schema = _field_class_schema(type(form_field))
    choices = getattr(form_field, "choices", None)
    if choices and not callable(choices):
        values = _choice_values(choices)
        if isinstance(form_field, wtf.SelectMultipleField):
            schema["items"] = {"enum": values}
        else:
            schema = {"enum": values}
    if getattr(form_field, "accepts_list", False):
        schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    for validator in form_field.validators:
        if isinstance(validator, wtf_validators.Length) and schema.get("type") == "string" and validator.max not in (None, -1):
            schema["maxLength"] = validator.max
        elif isinstance(validator, wtf_validators.NumberRange) and schema.get("type") in ("integer", "number"):
            if validator.min is not None:
                schema["minimum"] = validator.min
            if validator.max is not None:
                schema["maximum"] = validator.max
    if form_field.description:
        schema["description"] = str(form_field.description)
    return schema


def form_schema(form_class: type) -> dict:
    """The JSON Schema of a request body, from the WTForms form the API parses it with."""
    if hasattr(form_class, "model_json_schema"):  # a pydantic model, should the input layer move there
        return form_class.model_json_schema()
    form = form_class(formdata=None, meta={"csrf": False})
    properties, required = {}, []
    for form_field in form:
        properties[form_field.name] = _field_schema(form_field)
        if form_field.flags.required:
            required.append(form_field.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _has_file_field(form_class: type) -> bool:
    if hasattr(form_class, "model_json_schema"):
        return False
    return any(isinstance(f, wtf.FileField) for f in form_class(formdata=None, meta={"csrf": False}))


# ---- operations -----------------------------------------------------------------------------------

_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """`/projects/<int:project_id>` -> (`/projects/{project_id}`, its path parameters typed by converter)."""
    parameters = []

    def replace(match: re.Match) -> str:
        converter, name = match["converter"] or "default", match["name"]
        if converter == "int":
            schema = dict(ID_SCHEMA)
        elif converter == "float":
            schema = {"type": "number"}
        elif converter == "uuid":
            schema = {"type": "string", "format": "uuid"}
        else:  # default, string, path, any
            schema = {"type": "string", "minLength": 1}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return f"{{{name}}}"

    return _ARGUMENT.sub(replace, rule), parameters


def _error_response(status: int, description: str | None = None) -> dict:
    default_text, examples = ERROR_RESPONSES.get(status, ("Error", {}))
    content: dict[str, Any] = {"schema": ERROR_REF}
    if examples:
        content["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {"description": description or default_text, "content": {"application/json": content}}


# ---- schemas from the pydantic models (portal.schemas) ------------------------------------------------

class ModelRefs:
    """The components of every model the views name, and the `$ref` of each (validation for bodies and
    query strings, serialization for responses)."""

    def __init__(self, views: list[Callable]) -> None:
        from pydantic.json_schema import models_json_schema

        wanted: set[tuple[type, str]] = set()
        for view in views:
            meta = getattr(view, "api_doc", None) or {}
            if meta.get("body") is not None:
                wanted.add((meta["body"], "validation"))
            if meta.get("query_model") is not None:
                wanted.add((meta["query_model"], "validation"))
            response = meta.get("response")
            for model in (response.values() if isinstance(response, dict) else [response]):
                if model is not None:
                    wanted.add((model, "serialization"))
        pairs = sorted(wanted, key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))
        self.refs: dict[tuple[type, str], dict] = {}
        self.components: dict[str, dict] = {}
        if pairs:
            refs, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
            self.refs = dict(refs)
            self.components = top.get("$defs", {})

    def ref(self, model: type, mode: str) -> dict:
        return dict(self.refs[(model, mode)])

    def properties(self, model: type) -> tuple[dict[str, dict], set[str]]:
        """The fields of a query model as (name -> schema, required names)."""
        schema = self.components.get(self.ref(model, "validation")["$ref"].rsplit("/", 1)[-1], {})
        return schema.get("properties", {}), set(schema.get("required", []))


def _success_content(kind: str, path: str, item: dict | None = None) -> dict | None:
    if kind == "empty":
        return None
    if kind == "file":
        if path.endswith(".ics"):
            return {"text/calendar": {"schema": {"type": "string"}}}
        if path.endswith(".csv"):
            return {"text/csv": {"schema": {"type": "string"}}}
        return {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}
    if item is not None and kind in ("page", "items"):
        base = {"page": "#/components/schemas/Page", "items": "#/components/schemas/ItemList"}[kind]
        schema = {"allOf": [{"$ref": base}], "properties": {"items": {"type": "array", "items": item}}}
    elif item is not None:
        schema = item
    else:
        schema = {"page": {"$ref": "#/components/schemas/Page"},
                  "items": {"$ref": "#/components/schemas/ItemList"}}.get(kind, {"type": "object"})
    return {"application/json": {"schema": schema}}


def _success_responses(method: str, path: str, facts: ViewFacts, documented: dict[int, str],
                       response_models: dict[int, dict] | None = None) -> dict[str, dict]:
    returns = dict(facts.returns)
    for status in documented:
        if 200 <= status < 300 and status not in returns:
            returns[status] = "empty" if status == 204 else ("page" if facts.paginates else
                                                             next(iter(facts.returns.values()), "json"))
    if not returns:  # source unavailable: the conventions of ../shared/API.md
        returns = {201: "json"} if method == "POST" else ({204: "empty"} if method == "DELETE" else {200: "json"})
    responses = {}
    for status, kind in sorted(returns.items()):
        response: dict[str, Any] = {"description": documented.get(status) or SUCCESS_TEXT.get(status, "Success")}
        item = (response_models or {}).get(status)
        content = _success_content("empty" if status == 204 else kind, path, item)
        if content:
            response["content"] = content
        responses[str(status)] = response
    return responses


def _error_statuses(method: str, meta: dict, facts: ViewFacts, path_parameters: list[dict], has_body: bool,
                    rate_limited: bool) -> dict[int, str | None]:
    """Which error statuses an operation can answer, with a description when one is more precise."""
    ids = any(p["schema"].get("type") == "integer" for p in path_parameters)
    statuses: dict[int, str | None] = {}
    if method in WRITE_METHODS or meta["query"] or facts.paginates or facts.reads_args or has_body:
        statuses[400] = None
    if meta["auth"]:
        statuses[401] = None
    elif facts.loads:
        statuses[401] = "The object is not public and nobody is logged in, or the bearer token is invalid or revoked"
    else:
        statuses[401] = "A bearer token was sent but is invalid or revoked (`unauthorized`)"
    if facts.forbids or (facts.loads and (meta["auth"] or ids)) or (meta["auth"] and ids):
        statuses[403] = None
    if ids or facts.loads or facts.not_found:
        statuses[404] = None
    if facts.conflicts:
        statuses[409] = None
    if has_body:
        statuses[413] = None
    if rate_limited:
        statuses[429] = None
    for status, text in meta["responses"].items():
        if status >= 400:
            statuses[status] = text
    return statuses


def _operation(rule, method: str, path: str, path_parameters: list[dict], view: Callable, models: ModelRefs) -> dict:
    meta = getattr(view, "api_doc", None)
    operation: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}",
                                 "tags": [path.strip("/").split("/")[0] or "api"]}
    if meta is None:
        operation["x-undocumented"] = True
        meta = {"summary": "", "form": None, "auth": True, "responses": {}, "query": {}}
    meta = {"body": None, "query_model": None, "response": None, **meta}
    operation["summary"] = meta["summary"]
    facts = view_facts(view)

    parameters = [dict(p) for p in path_parameters]
    query = dict(meta["query"])
    if facts.paginates:
        query.setdefault("page", "page number")
        query.setdefault("per_page", "items per page (max 100)")
    model_fields: dict[str, dict] = {}
    required: set[str] = set()
    if meta["query_model"] is not None:
        model_fields, required = models.properties(meta["query_model"])
    for name, schema in model_fields.items():
        schema = dict(schema)
        text = schema.pop("description", None) or query.pop(name, None) or schema.get("title", name)
        schema.pop("title", None)
        parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema,
                           "description": text})
    for name, text in query.items():
        if name in model_fields:
            continue
        schema = dict(PAGE_PARAMETERS.get(name, {"type": "string"}))
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema, "description": text})
    operation["parameters"] = parameters

    form = meta["form"]
    has_body = method in WRITE_METHODS and (form is not None or meta["body"] is not None or facts.reads_body)
    if meta["body"] is not None and method in WRITE_METHODS:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": models.ref(meta["body"], "validation")}}}
    elif form is not None and method in WRITE_METHODS:
        media = "multipart/form-data" if _has_file_field(form) else "application/json"
        operation["requestBody"] = {"required": True, "content": {media: {"schema": form_schema(form)}}}
    elif has_body:  # the view reads a JSON body without a form: its fields are not described yet
        operation["requestBody"] = {"required": False, "description": "A JSON object (fields: see the summary)",
                                    "content": {"application/json": {"schema": {"type": "object"}}}}
    if not meta["auth"]:
        operation["security"] = []  # public (a login or a token may still show more)

    response = meta["response"]
    if response is not None and not isinstance(response, dict):
        response = {status: response for status in (facts.returns or {200: "json"})
                    if 200 <= status < 300 and status != 204}
    response_models = {status: models.ref(model, "serialization") for status, model in (response or {}).items()}
    responses = _success_responses(method, path, facts, {s: t for s, t in meta["responses"].items() if s < 300},
                                   response_models)
    statuses = _error_statuses(method, meta, facts, path_parameters, has_body, _rate_limited(view))
    for status, text in sorted(statuses.items()):
        responses[str(status)] = _error_response(status, text)
    operation["responses"] = responses
    return operation


def openapi_document() -> dict:
    paths: dict[str, dict] = {}
    rules = [rule for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule)
             if rule.rule.startswith(API_PREFIX + "/")]
    models = ModelRefs([current_app.view_functions[rule.endpoint] for rule in rules])
    for rule in rules:
        view = current_app.view_functions[rule.endpoint]
        path, path_parameters = openapi_path(rule.rule[len(API_PREFIX):])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, path, path_parameters, view,
                                                                    models)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Haichuang Portal API", "version": "1.0.0",
                 "description": "The public JSON API v1. Errors share one format (`Error`); lists are paginated "
                                "with `?page=&per_page=` (max 100). Browse it at /api/docs."},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": {**models.components, "Error": ERROR_SCHEMA, "Page": PAGE_SCHEMA,
                        "ItemList": ITEMS_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A personal API token from POST /auth/tokens"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "The browser session; writes also need the X-CSRFToken header"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


@api_bp.get("/openapi.json")
@doc("This document: every route of the API", auth=False)
def openapi():
    return jsonify(openapi_document())


# ---- the browsable page --------------------------------------------------------------------------

@docs_bp.get("/api/docs")
def docs():
    """Swagger UI over /api/v1/openapi.json, served from portal/static/vendor/swagger-ui (no CDN)."""
    return render_template("api/docs.html", title=_("API documentation"))
