"""Helpers for files people download and open in spreadsheets."""

from flask import Response


def csv_safe(value: str | None) -> str:
    """Neutralise spreadsheet formulas in exported text (CSV injection): =, +, -, @, tab, CR."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_download(text: str, filename: str) -> Response:
    """A CSV attachment that Excel opens as UTF-8 (byte-order mark), never cached."""
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
