"""Landing page, per-role dashboard, language switch and health check."""

import logging

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from portal.auth.forms import LocaleForm
from portal.auth.redirects import referrer_path, safe_redirect_target
from portal.extensions import db
from portal.i18n import SESSION_KEY
from portal.main import dashboard as dashboards

log = logging.getLogger("portal.health")
bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
def index():
    from portal.main.home import home

    return render_template("main/index.html", stats=dashboards.public_stats(), home=home())


@bp.get("/dashboard")
@login_required
def dashboard():
    return render_template("main/dashboard.html", panels=dashboards.panels_for(current_user))


@bp.post("/language")
def set_language():
    form = LocaleForm()
    if form.validate_on_submit():
        session[SESSION_KEY] = form.locale.data
        if current_user.is_authenticated:
            from portal.auth.schemas import LocaleChoice
            from portal.auth.services import set_locale
            from portal.schemas import from_form

            set_locale(current_user, from_form(LocaleChoice, form))
    return back_to(request.form.get("next"))


@bp.get("/language")
def set_browser_language():
    """An anonymous visitor's choice: this browser's language only (a cookie), so a GET without a CSRF token
    (the worst a forged link can do is switch someone's display language). Signed-in people change the
    language of their account with the POST above; here nothing of theirs changes."""
    locale = request.args.get("locale")
    if not current_user.is_authenticated and locale in current_app.config["LANGUAGES"]:
        session[SESSION_KEY] = locale
    return back_to(request.args.get("next"))


def back_to(target: str | None):
    """After a language switch: the page it was made on (same site only), else the referrer or home."""
    fallback = None if current_user.is_authenticated else url_for("main.index")
    return redirect(safe_redirect_target(target or referrer_path(), fallback))


@bp.get("/healthz")
def health():
    """Liveness: the process answers. Cheap on purpose (a balancer calls it every few seconds); whether the
    services behind it answer is /readyz."""
    return jsonify({"status": "ok"})


def _check(probe) -> str:
    try:
        return probe() or "ok"
    except Exception:  # noqa: BLE001 (any failure of a probe is "down"; the reason goes to the log)
        log.warning("readiness probe failed", exc_info=True)
        return "down"


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _redis() -> str | None:
    if not current_app.config.get("REDIS_URL"):
        return "not configured"
    from portal.jobs import get_redis

    get_redis().ping()
    return None


def _search() -> str | None:
    if not current_app.config.get("ELASTICSEARCH_URL"):
        return "built-in"
    from portal.search.backend import get_backend

    backend = get_backend()
    backend.client.info()
    return None


def _storage() -> str | None:
    from portal.storage import get_storage

    get_storage().check()  # local: the folder is writable; s3: HEAD bucket
    return None


@bp.get("/readyz")
def ready():
    """Readiness: `{status, checks: {database, redis, search, storage}}`; 503 when the database is down
    (nothing works without it), 200 "degraded" when only an optional service is."""
    checks = {"database": _check(_database), "redis": _check(_redis), "search": _check(_search),
              "storage": _check(_storage)}
    if checks["database"] == "down":
        status, code = "unavailable", 503
    elif "down" in checks.values():
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return jsonify({"status": status, "checks": checks}), code


