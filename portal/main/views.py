"""Landing page, per-role dashboard, language switch and health check."""

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from portal.auth.forms import LocaleForm
from portal.auth.redirects import referrer_path, safe_redirect_target
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
            from portal.auth.schemas import LocaleChoice
            from portal.auth.services import set_locale
            from portal.schemas import from_form

            set_locale(current_user, from_form(LocaleChoice, form))
    fallback = None if current_user.is_authenticated else url_for("main.index")
    return redirect(safe_redirect_target(request.form.get("next") or referrer_path(), fallback))


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


