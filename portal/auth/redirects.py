"""Where to send the browser after an action: only to a path on this site.

Every redirect whose target comes from the request (`next`, the Referer) goes through
`safe_redirect_target`, so the login page and the language switch can't be turned into a
phishing tool. Browsers forgive a lot (they drop tabs and newlines inside URLs, read `\\` as `/`
and normalise fullwidth characters), so the target is refused unless it is unambiguous.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import request, url_for

DEFAULT_ENDPOINT = "main.dashboard"


def _is_local_path(target: str) -> bool:
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in target):
        return False  # `/\t/evil.example` becomes `//evil.example` in a browser; `\n` breaks the header
    for candidate in (target, unicodedata.normalize("NFKC", target)):
        candidate = candidate.replace("\\", "/")
        if not candidate.startswith("/") or candidate.startswith("//"):
            return False
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return False
    return True


def safe_redirect_target(target: str | None, default: str | None = None) -> str:
    """`target` if it is a path on this site (backslashes read as slashes), else `default`
    (the dashboard unless given)."""
    if target and _is_local_path(target):
        return target.replace("\\", "/")
    return default if default is not None else url_for(DEFAULT_ENDPOINT)


def referrer_path() -> str | None:
    """The path and query of the Referer when it is this site, else None."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
