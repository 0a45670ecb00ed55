"""Platform administration: people and roles, organisation verification, the audit log."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from portal import audit
from portal.admin.forms import RoleForm, UserSearchForm, VerificationForm
from portal.admin.schemas import RoleChange, Verification
from portal.auth import services as accounts
from portal.auth.forms import EmptyForm
from portal.auth.models import User, UserRole
from portal.db import attempt
from portal.errors import PortalError
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.organisations.services import set_verification
from portal.permissions import Permission, load, require_role
from portal.schemas import from_form

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.before_request
@login_required
def admins_only():
    require_role("admin")


@bp.get("/")
def index():
    by_role = dict(db.session.execute(select(UserRole.role, func.count()).group_by(UserRole.role)).all())
    signups = db.session.execute(
        select(func.date(User.created_at), func.count()).group_by(func.date(User.created_at))
        .order_by(func.date(User.created_at).desc()).limit(30)).all()
    signups = list(reversed(signups))
    chart = {"type": "bar", "data": {"labels": [str(day) for day, _n in signups],
                                     "datasets": [{"label": _("New accounts"), "data": [n for _d, n in signups],
                                                   "backgroundColor": "#0b5cad"}]},
             "options": {"plugins": {"legend": {"display": False}}, "scales": {"y": {"beginAtZero": True,
                                                                                     "ticks": {"precision": 0}}}}}
    unverified = db.session.scalars(select(Organisation).where(Organisation.kind == "company",
                                                               Organisation.verified_at.is_(None))
                                    .order_by(Organisation.created_at).limit(10)).all()
    return render_template("admin/index.html", by_role=by_role, users=db.session.scalar(select(func.count(User.id))),
                           organisations=db.session.scalar(select(func.count(Organisation.id))),
                           unverified=unverified, chart=chart, uses_charts=True, action_form=EmptyForm(),
                           verification_form=VerificationForm())


@bp.get("/users")
def users():
    form = UserSearchForm(request.args)
    stmt = select(User).order_by(User.created_at.desc())
    if form.q.data:
        pattern = f"%{form.q.data.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(pattern), func.lower(User.name).like(pattern)))
    return render_template("admin/users.html", users=db.session.scalars(stmt.limit(200)).all(), form=form,
                           role_form=RoleForm(), action_form=EmptyForm())


@bp.post("/users/<int:user_id>/roles")
def user_roles(user_id: int):
    user = load(User, user_id, Permission.ADMIN)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            accounts.change_role(user, from_form(RoleChange, form), current_user)
    except PortalError as error:
        flash(error.message, "danger")
    else:
        flash(_("Roles of %(name)s updated.", name=user.name), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):
    user = load(User, user_id, Permission.ADMIN)
    if EmptyForm().validate_on_submit():
        try:
            with attempt():
                accounts.set_active(user, not user.is_active_account, current_user)
        except PortalError as error:
            flash(error.message, "danger")
    return redirect(url_for("admin.users"))


@bp.post("/organisations/<int:organisation_id>/verification")
def organisation_verification(organisation_id: int):
    organisation = load(Organisation, organisation_id, Permission.ADMIN)
    form = VerificationForm()
    if not form.validate_on_submit():
        abort(400)
    set_verification(organisation, from_form(Verification, form), current_user)
    if organisation.is_verified:
        flash(_("%(name)s is verified.", name=organisation.name), "success")
    else:
        flash(_("%(name)s is no longer verified: its company powers are suspended.", name=organisation.name),
              "warning")
    if request.form.get("back") == "organisation":
        return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return redirect(url_for("admin.index"))


# ---- work queues -------------------------------------------------------------------------------

QUEUE_PER_PAGE = 25


def _queue(key: str):
    from portal.admin import queues

    page = db.paginate(queues.STATEMENTS[key](), page=request.args.get("page", 1, type=int), per_page=QUEUE_PER_PAGE,
                       error_out=False)
    return render_template("admin/queue.html", key=key, page=page, queues=queues.QUEUES,
                           current=next(q for q in queues.QUEUES if q.key == key))


@bp.get("/queues/campaigns")
def queue_campaigns():
    return _queue("campaigns")


@bp.get("/queues/projects")
def queue_projects():
    return _queue("projects")


@bp.get("/queues/companies")
def queue_companies():
    return _queue("companies")


@bp.app_context_processor
def queue_count_helper():
    """`admin_queue_counts()` for the navbar: one counting query, run only when an admin's page calls it."""

    def admin_queue_counts() -> dict[str, int]:
        if not (current_user.is_authenticated and current_user.is_admin):
            return {}
        if "admin_queue_counts" not in g:
            from portal.admin import queues

            g.admin_queue_counts = queues.queue_counts()
        return g.admin_queue_counts

    return {"admin_queue_counts": admin_queue_counts}


@bp.get("/audit")
def audit_log():
    events = db.session.scalars(select(audit.AuditEvent).order_by(audit.AuditEvent.id.desc()).limit(200)).all()
    result = audit.verify() if request.args.get("verify") else None
    return render_template("admin/audit.html", events=events, result=result)
