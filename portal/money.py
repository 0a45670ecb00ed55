"""Money amounts, stored as integers in the currency's minor unit (fen, cents), shown in the reader's locale.

People write major units ("500", "1,299.00", "￥1299.5"); `parse_major` turns such text into minor units
with the currency's number of decimals (Babel's `get_currency_precision`: 2 for CNY, 0 for JPY), without
floats, and `major_text` shows stored minor units back the way an input field wants them ("1299.00").
The JSON API keeps integer minor units (API.md); only the HTML forms speak major units.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    parse_decimal,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from portal.inputs import INT_MAX

DEFAULT_CURRENCY = "CNY"


class MoneyInputError(ValueError):
    """Text that is no amount of this currency; the message is for the person who typed it."""


def _locale(locale: str | None = None) -> str:
    if locale:
        return locale
    try:
        return str(get_locale() or "en")
    except (RuntimeError, AttributeError):  # outside a request
        return "en"


def currency_code(currency: str | None) -> str:
    code = (currency or "").strip().upper()
    return code if len(code) == 3 and code.isalpha() else DEFAULT_CURRENCY


def precision(currency: str | None) -> int:
    """Decimals of the currency's minor unit (CNY 2, JPY 0, KWD 3)."""
    return get_currency_precision(currency_code(currency))


def format_money(amount: int | None, currency: str = DEFAULT_CURRENCY) -> str:
    if amount is None:
        return ""
    value = Decimal(amount) / (Decimal(10) ** get_currency_precision(currency))
    return format_currency(value, currency, locale=_locale())


def major_text(amount: int | None, currency: str | None = DEFAULT_CURRENCY, locale: str | None = None) -> str:
    """Minor units as an input field shows them: 129900 CNY -> "1299.00", 500 JPY -> "500" (no grouping,
    the locale's decimal sign), so that sending the form back unchanged gives the same amount."""
    if amount is None:
        return ""
    places = precision(currency)
    value = (Decimal(amount) / (Decimal(10) ** places)).quantize(Decimal(1).scaleb(-places))
    text = f"{value:f}"
    return text.replace(".", get_decimal_symbol(_locale(locale))) if places else text


def example(currency: str | None, locale: str | None = None) -> str:
    """How an amount is written in this locale and currency: "1,299.00" (CNY), "1,299" (JPY)."""
    places = precision(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(1299), format=pattern, locale=_locale(locale))


_ALLOWED = re.compile(r"^[0-9.,'’]+$")


def parse_major(text: str | None, currency: str | None = DEFAULT_CURRENCY, *, locale: str | None = None,
                minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """'1,299.50' CNY -> 129950; '' -> None. Accepts the locale's grouping and decimal signs, full-width
    digits and a leading currency sign or code; refuses more decimals than the currency has, a sign,
    exponents, NaN and amounts outside [minimum, maximum] (minor units), each with its own message."""
    if text is None:
        return None
    code, loc = currency_code(currency), _locale(locale)
    cleaned = unicodedata.normalize("NFKC", str(text))  # ＄１２９９．００ -> $1299.00, "，" -> ","
    cleaned = "".join(ch for ch in cleaned if not ch.isspace())
    if not cleaned:
        return None
    marks = {code, get_currency_symbol(code, locale=loc), get_currency_symbol(code, locale="en")}
    if code == "CNY":
        marks |= {"¥", "元"}
    for mark in sorted(marks, key=len, reverse=True):  # "CN¥" before "¥"
        if cleaned.upper().startswith(mark.upper()):
            cleaned = cleaned[len(mark):]
        elif cleaned.upper().endswith(mark.upper()):
            cleaned = cleaned[:-len(mark)]
    if cleaned.startswith("-") and _ALLOWED.match(cleaned[1:] or "x"):
        raise MoneyInputError(_("The amount cannot be negative."))
    cleaned = cleaned.lstrip("+")
    if not _ALLOWED.match(cleaned):
        raise MoneyInputError(_("Enter an amount like %(example)s.", example=example(code, loc)))
    try:
        number = parse_decimal(cleaned, locale=loc, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise MoneyInputError(_("Enter an amount like %(example)s.", example=example(code, loc))) from None
    places = get_currency_precision(code)
    scaled = number.scaleb(places)
    if not number.is_finite() or scaled != scaled.to_integral_value():
        if places == 0:
            raise MoneyInputError(_("%(currency)s has no decimals: write a whole amount.", currency=code))
        raise MoneyInputError(ngettext("%(currency)s takes at most %(num)d decimal.",
                                       "%(currency)s takes at most %(num)d decimals.", places, currency=code))
    minor = int(scaled)
    if minor > maximum:
        raise MoneyInputError(_("At most %(amount)s.", amount=_format_bound(maximum, code, loc)))
    if minor < minimum:
        raise MoneyInputError(_("At least %(amount)s.", amount=_format_bound(minimum, code, loc)))
    return minor


def _format_bound(minor: int, currency: str, locale: str) -> str:
    value = Decimal(minor).scaleb(-get_currency_precision(currency))
    return format_currency(value, currency, locale=locale)
