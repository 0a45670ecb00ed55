"""Helpers for files people download and open in spreadsheets."""


def csv_safe(value: str | None) -> str:
    """Neutralise spreadsheet formulas in exported text (CSV injection): =, +, -, @, tab, CR."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
