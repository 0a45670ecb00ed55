"""Landing page, per-role dashboard, language switch and health check."""

from flask import Blueprint, jsonify, redirect, render_template, request, session
from flask_login import current_user, login_required
from sqlalchemy import text

from portal.auth.forms import LocaleForm
from portal.auth.views import _safe_next
from portal.extensions import db
from portal.i18n import SESSION_KEY
from portal.main import dashboard as dashboards

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("main/index.html", stats=dashboards.public_stats())


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
            from portal.auth.services import set_locale

            set_locale(current_user, form.locale.data)
    return redirect(_safe_next(request.form.get("next") or request.referrer and _path_of(request.referrer)))


def _path_of(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


