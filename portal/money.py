"""Money amounts, stored as integers in the currency's minor unit (fen, cents), shown in the reader's locale."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask_babel import get_locale


def format_money(amount: int | None, currency: str = "CNY") -> str:
    if amount is None:
        return ""
    value = Decimal(amount) / (Decimal(10) ** get_currency_precision(currency))
    return format_currency(value, currency, locale=str(get_locale() or "en"))
