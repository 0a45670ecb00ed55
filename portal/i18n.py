"""Language and time zone selection for Flask-Babel."""

from __future__ import annotations

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

SESSION_KEY = "locale"


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in languages:
        return chosen
    # Accept-Language uses "zh-CN"/"zh"; our catalogue is zh_CN.
    match = request.accept_languages.best_match(["en", "zh-CN", "zh", "zh-Hans", "zh-SG"], default="en")
    return "zh_CN" if match and match.startswith("zh") else "en"


def select_timezone() -> str | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.timezone
    return None


def current_locale_code() -> str:
    """The configured code ("en", "zh_CN") of the active locale.

    Babel expands "zh_CN" to zh_Hans_CN (hence the catalogue folder name), so map it back.
    """
    locale = get_locale()
    if locale is None:
        return "en"
    for code in current_app.config["LANGUAGES"]:
        if Locale.parse(code) == locale:
            return code
    return str(locale)


def html_lang() -> str:
    return current_locale_code().replace("_", "-")
