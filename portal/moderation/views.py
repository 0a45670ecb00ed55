"""Moderation pages: signed-in people report content; admins work through the flag queue and decide.

Also the request guard that keeps hidden campaigns and ideas away from the public: every URL naming a
`campaign_id` or an `idea_id` (pages, their sub-pages and the API) answers 404 for a hidden one, unless
the viewer owns it or is an admin (`services.check_visible`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.db import attempt
from portal.errors import PortalError
from portal.extensions import db
from portal.moderation import services
from portal.moderation.models import FlagReason, FlagTarget
from portal.permissions import Permission, require, require_role

bp = Blueprint("moderation", __name__, template_folder="templates")

FLAGS_PER_PAGE = 20


class FlagForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=[], validators=[DataRequired()])
    note = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=services.NOTE_MAX)])
    next = StringField(validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = reason_choices()


def reason_choices() -> list[tuple[str, str]]:
    return [(member.value, member.label) for member in FlagReason]


class DecisionForm(FlaskForm):
    next = StringField(validators=[Optional()])


def _safe_next(default: str) -> str:
    """A same-site path from the form's `next`, else `default` (never an open redirect)."""
    target = (request.form.get("next") or "").strip()
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


def _target():
    """The object the form names (`kind`, `object_id`): 400 for a malformed form, 404 if there is none or the
    current user may not see it."""
    kind, object_id = request.form.get("kind", ""), request.form.get("object_id", type=int)
    if not FlagTarget.has(kind) or object_id is None:
        abort(400)
    obj = services.get_target(kind, object_id)
    if obj is None:
        abort(404)
    services.check_visible(obj)
    services.check_visible(services.parent_of(obj))
    return obj


# ---- reporting -------------------------------------------------------------------------------------

@bp.post("/report")
@login_required
def flag_create():
    """Report the object named by the form (`kind`, `object_id`) with a reason and optional details."""
    obj = _target()
    require(services.FLAG, obj)
    form = FlagForm()
    back = _safe_next(services.url_of(obj))
    if not form.validate_on_submit():
        flash(_("Choose a reason for your report."), "warning")
        return redirect(back)
    try:
        with attempt():
            services.flag(current_user, obj, form.reason.data, form.note.data or "")
    except PortalError as error:
        flash(error.message, "warning")
    else:
        flash(_("Thank you. The moderators will look at your report."), "success")
    return redirect(back)


# ---- the admins' queue and decisions ------------------------------------------------------------------

@bp.get("/admin/queues/flags")
@login_required
def queue_flags():
    require_role("admin")
    from portal.admin import queues

    page = db.paginate(services.queue_stmt(), page=request.args.get("page", 1, type=int), per_page=FLAGS_PER_PAGE,
                       error_out=False)
    return render_template("moderation/queue.html", key=queues.FLAGS, page=page, queues=queues.QUEUES,
                           current=next(q for q in queues.QUEUES if q.key == queues.FLAGS),
                           groups=services.flagged_objects(list(page.items)), hidden=services.hidden_objects(),
                           decision_form=DecisionForm(), services=services)


DECISIONS = {"hide": (services.hide, _l("Hidden from the public. The author is told.")),
             "restore": (services.restore, _l("Visible again. The author is told.")),
             "dismiss": (services.dismiss, _l("Reports dismissed; nothing changed."))}


@bp.post("/admin/moderation")
@login_required
def decide():
    """An admin's decision (`decision`: hide, restore or dismiss) on the object the form names."""
    require_role("admin")  # 403 for everyone else, before the form is read
    decision = request.form.get("decision", "")
    if decision not in DECISIONS:
        abort(400)
    obj = _target()
    require(Permission.ADMIN, obj)
    back = _safe_next(url_for("moderation.queue_flags"))
    if not DecisionForm().validate_on_submit():
        abort(400)
    action, done = DECISIONS[decision]
    try:
        with attempt():
            if decision == "hide":
                action(obj, current_user, (request.form.get("note") or "")[:500])
            else:
                action(obj, current_user)
    except PortalError as error:
        flash(error.message, "warning")
    else:
        flash(str(done), "success")
    return redirect(back)


# ---- the guard and the template helpers --------------------------------------------------------------

GUARDED_ARGS = {"campaign_id": FlagTarget.CAMPAIGN, "idea_id": FlagTarget.IDEA}


@bp.before_app_request
def hidden_content_guard():
    """A hidden campaign or idea is not found by the public, on any page or API route naming it."""
    for arg, kind in GUARDED_ARGS.items():
        object_id = (request.view_args or {}).get(arg)
        if isinstance(object_id, int) and services.hidden_state(kind, object_id) is not None:
            services.check_visible(services.get_target(kind, object_id))


@bp.app_context_processor
def moderation_helpers():
    def can_flag(obj) -> bool:
        from portal.permissions import can

        return current_user.is_authenticated and not services.is_hidden(obj) and can(current_user, services.FLAG, obj)

    return {"flag_reasons": reason_choices, "can_flag": can_flag, "flag_kind": services.target_of,
            "visible_to_viewer": lambda obj: services.visible_to(current_user, obj)}
