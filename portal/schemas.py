"""The typed input layer: every API body and query string, and every HTML form, becomes one command.

A *command* is a frozen pydantic model naming exactly what a service needs, already typed and
checked. It is built once, at the edge:
- from a JSON body by `portal.api.body(Command)`: strict types (no list, boolean or number becomes
  text, no text becomes a number), unknown fields ignored;
- from a query string by `portal.api.query(Query)`: the same models, lax so "2" is the number 2;
- from a submitted WTForms form by `from_form(Command, form)`: the HTML pages stay WTForms (labels,
  widgets, CSRF) and hand the service the same command the API builds.
Services take the command and trust its types; what they still check are rules about the world
(states, permissions, capacity), not the shape of the input.

The field types below hold the rules every field shares: text is NFC-normalised and carries no control
character or lone surrogate, integers fit their PostgreSQL `integer` column, currencies are ISO 4217
codes. A refusal is a `ValidationFailed` (400) naming each field (`rewards.0.amount`) with a message in
the caller's language. The same models describe the API in the OpenAPI document (`portal.openapi`),
so documentation and validation cannot drift; response models (`Out`) describe what the API answers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from babel.numbers import is_currency
from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic import ValidationError as PydanticValidationError

from portal.errors import ValidationFailed
from portal.inputs import INT_MAX, text_problem

__all__ = [
    "Command", "Query", "Out", "Page", "ItemList", "Text", "Line", "Id", "Count", "Minor", "Currency",
    "Email", "Flag", "text", "line", "validate", "from_form", "validation_failed", "MoneyOut", "INT_MAX",
]


# ---- shared field types ---------------------------------------------------------------------------

def _clean(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return unicodedata.normalize("NFC", value)


def text(max_length: int = 20_000, *, min_length: int = 0, strip: bool = True) -> Any:
    """A text field: NFC-normalised, no control character except tab and line breaks, at most
    `max_length` characters (after stripping surrounding whitespace)."""
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length),
                     AfterValidator(_clean)]


def line(max_length: int = 200, *, min_length: int = 0) -> Any:
    """One line of text (a title, a name): like `text`, and no line break either."""
    def one_line(value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError(_("Use a single line."))
        return value

    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_clean), AfterValidator(one_line)]


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha() or not is_currency(code):
        raise ValueError(_("Use a three-letter ISO 4217 currency code."))
    return code


Text = text()
Line = line()
Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Count = Annotated[int, Field(ge=0, le=INT_MAX)]
Minor = Annotated[int, Field(ge=0, le=INT_MAX, description="money in minor units (fen, cents)")]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$",
                                description="ISO 4217 code", examples=["CNY"]), AfterValidator(_currency)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                         pattern=r"^[^@\s]+@[^@\s]+$"), AfterValidator(_clean)]


def _flag(value: Any) -> Any:
    """Query strings and HTML checkboxes say yes as "1", "true", "on", "yes" (and no as "0", "false", "")."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "on", "yes"):
            return True
        if lowered in ("", "0", "false", "off", "no"):
            return False
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]  # for query strings; JSON bodies send true/false


# ---- the models -------------------------------------------------------------------------------------

class Command(BaseModel):
    """A request body or a submitted form, typed. Strict: JSON `true`, `12` or `["a"]` is never text."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    def sent(self) -> dict[str, Any]:
        """The fields the caller actually sent (for partial updates: PATCH)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Query(BaseModel):
    """A query string, typed. Lax, because every value in a URL is text ("2" is the number 2)."""

    model_config = ConfigDict(strict=False, extra="ignore", frozen=True)


class Out(BaseModel):
    """What the API answers (documentation and contract tests; serialisers build plain dicts)."""

    model_config = ConfigDict(extra="allow")


class MoneyOut(Out):
    amount: int = Field(description="minor units")
    currency: str = Field(description="ISO 4217 code")


T = TypeVar("T")


class Page(Out, Generic[T]):
    """One page of a list (`?page=1&per_page=20`, at most 100 per page)."""

    items: list[T]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)
    total: int = Field(ge=0)


class ItemList(Out, Generic[T]):
    """A whole (short, bounded) list."""

    items: list[T]


# ---- validation and its errors ---------------------------------------------------------------------

def _message(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_type", "string_sub_type"):
        return _("Send text.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("Send a whole number.")
    if kind in ("float_type", "float_parsing", "decimal_type", "decimal_parsing"):
        return _("Send a number.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Send true or false.")
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Send a list.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Send an object.")
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return _("Send a date and time (ISO 8601, e.g. 2026-12-01T09:30:00Z).")
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"):
        return _("Send a date (YYYY-MM-DD).")
    if kind in ("literal_error", "enum"):
        return _("Not a valid choice.")
    if kind in ("string_too_short",):
        return _("This field is required.") if ctx.get("min_length") == 1 else \
            ngettext("At least %(num)d character.", "At least %(num)d characters.", ctx.get("min_length", 0))
    if kind == "string_too_long":
        return ngettext("At most %(num)d character.", "At most %(num)d characters.", ctx.get("max_length", 0))
    if kind == "string_pattern_mismatch":
        return _("Not in the expected format.")
    if kind in ("less_than_equal", "less_than"):
        return _("At most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("greater_than_equal", "greater_than"):
        return _("At least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind == "too_long":
        return ngettext("At most %(num)d item.", "At most %(num)d items.", ctx.get("max_length", 0))
    if kind == "too_short":
        return _("Choose at least one.") if ctx.get("min_length") == 1 else \
            ngettext("At least %(num)d item.", "At least %(num)d items.", ctx.get("min_length", 0))
    if kind == "value_error":  # our own validators raise ValueError with a translated message
        return str(ctx.get("error") or error.get("msg", ""))
    if kind == "assertion_error":
        return str(ctx.get("error") or error.get("msg", ""))
    return _("Not a valid value.")


def _field_name(loc: tuple) -> str:
    parts = [str(part) for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))]
    return ".".join(parts) or "_body"


def validation_failed(exc: PydanticValidationError) -> ValidationFailed:
    """A pydantic error as the portal's 400: each field named, each message translated."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        message = _message(error)
        name = _field_name(error["loc"])
        if message not in fields.get(name, []):
            fields.setdefault(name, []).append(message)
    return ValidationFailed(_("Some fields are not valid."), fields)


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, *, strict: bool | None = None) -> M:
    """`model` from `data`, or a 400 naming each bad field."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.field("_body", _("The request body must be a JSON object."))
    try:
        return model.model_validate(data, strict=strict)
    except PydanticValidationError as exc:
        raise validation_failed(exc) from None


def from_form(model: type[M], form, **extra: Any) -> M:
    """The command of a submitted (and validated) WTForms form: its data, typed by the form's fields
    (lax: a DecimalField gives a Decimal, a DateTimeField a datetime), plus `extra` values the view adds
    (e.g. an amount converted to minor units). Fields the form does not have keep their defaults."""
    names = set(model.model_fields)
    data = {name: value for name, value in form.data.items() if name in names and value is not None}
    data.update(extra)
    return validate(model, data, strict=False)

