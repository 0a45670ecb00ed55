"""The notification centre, per-kind preferences and the one-click unsubscribe page (no login needed)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from portal.auth.forms import EmptyForm
from portal.db import attempt
from portal.errors import PortalError
from portal.extensions import csrf
from portal.notifications import services
from portal.notifications.kinds import KINDS, grouped, kind_label
from portal.notifications.models import Notification
from portal.permissions import Permission, load

bp = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")


def unread_count_helper() -> dict:
    """`notification_unread_count()` for the navbar's bell: one counting query per page, when it is shown."""

    def notification_unread_count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "notification_unread_count" not in g:
            try:
                g.notification_unread_count = services.unread_count(current_user)
            except SQLAlchemyError:  # the error pages (e.g. the database is down) still render their layout
                g.notification_unread_count = 0
        return g.notification_unread_count

    return {"notification_unread_count": notification_unread_count, "notification_kind_label": kind_label}


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.get("/")
@login_required
def index():
    unread_only = request.args.get("show") == "unread"
    page = services.page_of(current_user, _page_arg(), unread_only=unread_only)
    return render_template("notifications/index.html", page=page, unread_only=unread_only, form=EmptyForm(),
                           unread=services.unread_count(current_user))


@bp.get("/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    """Mark read and go to the object the notification is about."""
    notification = load(Notification, notification_id, Permission.EDIT)
    services.mark_read(notification)
    link = notification.link
    if not link.startswith("/") or link.startswith("//"):
        return redirect(url_for("notifications.index"))
    return redirect(link)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = load(Notification, notification_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        services.mark_read(notification)
    return redirect(_back())


@bp.post("/read-all")
@login_required
def mark_all_read():
    if EmptyForm().validate_on_submit():
        count = services.mark_all_read(current_user)
        if count:
            flash(_("All notifications are marked as read."), "success")
    return redirect(_back())


def _back() -> str:
    target = request.form.get("next") or ""
    if target.startswith("/notifications") and not target.startswith("//"):
        return target
    return url_for("notifications.index")


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = EmptyForm()
    if form.validate_on_submit():
        shown = set(request.form.getlist("kind")) & set(KINDS)
        choices = {key: services.Choice(mail=f"mail:{key}" in request.form, in_app=f"in_app:{key}" in request.form)
                   for key in shown}
        try:
            with attempt():
                services.save_preferences(current_user, choices)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, groups=grouped(),
                           choices=services.all_preferences(current_user))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail programs post here without a session (RFC 8058)
def unsubscribe(token: str):
    """GET: a page that asks to confirm (link scanners must not unsubscribe anyone). POST: unsubscribe,
    from the page's button or from the mail program's one-click (`List-Unsubscribe=One-Click`)."""
    try:
        if request.method == "POST":
            with attempt():
                user, kind = services.unsubscribe(token)
        else:
            user, kind = services.unsubscribe_target(token)
    except PortalError as error:
        return render_template("notifications/unsubscribe.html", error=error.message), 400
    return render_template("notifications/unsubscribe.html", kind=kind, user=user, token=token,
                           done=request.method == "POST")
