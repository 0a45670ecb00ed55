"""The edge every request crosses before a view runs: input that cannot be stored is refused here.

One place for the rules that hold for every field of every request (JSON API and HTML forms alike):
- text carries no NUL, no other control character (tab, newline and carriage return excepted) and no
  lone surrogate: such text would break the database driver, a header or a log line;
- JSON is nested at most `MAX_JSON_DEPTH` deep and no larger than `MAX_JSON_BYTES`;
- integers fit the database's integer columns (`INT_MAX`): a path id past it is 404 (the `int` URL
  converter), a number in a body or a query string is 400 naming the field.

A refusal is a 400 (413 for size) in the portal's error format with the offending field named, and
nothing reaches a service. Per-field rules (required, choices, lengths) stay with the forms.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from portal.errors import ValidationFailed

INT_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of every id and amount column
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024

# C0 controls except tab, newline, carriage return; DEL; C1 controls; lone UTF-16 surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# Query parameters that name an id or a page: whole numbers within INT_MAX.
_NUMERIC_ARG = re.compile(r"(^|_)(id|page|per_page)$")


def digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..`limit` (leading zeros allowed)."""
    text = str(limit)
    if len(text) == 1:
        return f"0*[0-{text}]"
    options = [rf"\d{{1,{len(text) - 1}}}"]
    for position, digit in enumerate(text):
        if digit != "0":  # same prefix, a smaller digit here, any digits after
            low = "1" if position == 0 else "0"
            if int(digit) - 1 >= int(low):
                rest = len(text) - position - 1
                options.append(f"{text[:position]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "0*(?:" + "|".join(options) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:x>` in every route: ids past the column's range are simply not found (404), never a
    database error.

    The bound is in the pattern, not only in `to_python`: werkzeug checks a rule's method before its
    converters, so a value refused only by `to_python` on the GET rule of a path that also has a
    POST rule would be answered 405 instead of 404."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)
        if not self.signed and self.fixed_digits == 0 and self.max is not None:
            self.regex = digits_at_most(self.max)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    match = _FORBIDDEN.search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return _("Contains an invalid character (a lone surrogate).")
    return _("Contains a control character (U+%(code)04X).", code=ord(char))


def clean_text(value: str) -> str:
    """Text as it is stored and compared: NFC-normalised (call after `text_problem` said nothing)."""
    return unicodedata.normalize("NFC", value)


def json_depth(raw: str) -> int:
    """How deeply the JSON text nests arrays and objects (strings are skipped), without parsing it:
    Python's parser would exhaust the stack on a document nested 100,000 deep."""
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_JSON_STRING.sub("", raw)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, problem) for every value in a parsed JSON document that cannot be stored."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path or "_body", problem
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not -INT_MAX - 1 <= value <= INT_MAX:
            yield path or "_body", _("Out of range: at most %(max)d.", max=INT_MAX)
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(key)
            name = f"{path}.{key}" if path else key
            if key_problem:
                yield (path or "_body"), key_problem
            else:
                yield from _walk(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))


def _refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationFailed(_("Some fields are not valid."), problems)


def check_json_body() -> None:
    if not request.is_json:
        return
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.field("_body", _("The body is not valid UTF-8.")) from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValidationFailed.field("_body", _("The JSON is nested too deeply (at most %(n)d levels).",
                                                n=MAX_JSON_DEPTH))
    try:
        document = json.loads(text) if text.strip() else None
    except ValueError:
        return  # not JSON at all: json_body() answers that with its own message
    problems: dict[str, list[str]] = {}
    for name, problem in _walk(document, ""):
        problems.setdefault(name, []).append(problem)
    _refuse(problems)


def check_query_and_form() -> None:
    problems: dict[str, list[str]] = {}
    sources = [request.args] if request.is_json else [request.args, request.form]
    for source in sources:
        for name, value in source.items(multi=True):
            problem = text_problem(name) or text_problem(value)
            if problem:
                problems.setdefault(name if not text_problem(name) else "_query", []).append(problem)
            elif _NUMERIC_ARG.search(name) and value.strip().lstrip("-").isdigit() and abs(int(value)) > INT_MAX:
                problems.setdefault(name, []).append(_("Out of range: at most %(max)d.", max=INT_MAX))
    for name, storage in request.files.items(multi=True):
        problem = text_problem(storage.filename or "")
        if problem:
            problems.setdefault(name, []).append(problem)
    _refuse(problems)


def guard_request() -> None:
    """before_request: refuse input no field of the portal can store."""
    check_query_and_form()
    check_json_body()


def init_app(app: Flask) -> None:
    """Before any route is added: bounded ids in every `<int:…>`; the guard runs before every other hook."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)
