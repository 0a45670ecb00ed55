"""HTML pages: projects, programs, mentors and ideas. Thin: services hold the rules."""

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from incubation import services
from incubation.forms import (
    LANGUAGE_CHOICES,
    MODE_CHOICES,
    STAGE_CHOICES,
    STATUS_LABELS,
    IdeaForm,
    MentorFilterForm,
    ProjectFilterForm,
    ProjectPageForm,
)
from incubation.models import Idea, MentorProfile, Program, Project, ProjectStatus
from portal.auth.forms import EmptyForm
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_errors
from portal.organisations.models import OrganisationKind
from portal.organisations.services import organisations_of
from portal.permissions import Permission, can, load

bp = Blueprint("incubation", __name__, template_folder="templates")

PER_PAGE = 24


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"incubation_labels": {
    "mode": dict(MODE_CHOICES), "stage": dict(STAGE_CHOICES), "status": STATUS_LABELS,
    "language": dict(LANGUAGE_CHOICES)}}


# ---- projects --------------------------------------------------------------------------------

@bp.get("/projects/")
def project_index():
    form = ProjectFilterForm(request.args)
    form.industry.choices = [("", _("Any industry"))] + [(i, i) for i in services.industries_in_use()]
    stmt = services.visible_projects(current_user)
    if form.industry.data:
        stmt = stmt.where(Project.industry == form.industry.data)
    if form.mode.data:
        stmt = stmt.where(Project.mode == form.mode.data)
    if form.stage.data:
        stmt = stmt.where(Project.stage == form.stage.data)
    page = db.paginate(stmt.order_by(Project.updated_at.desc(), Project.id.desc()), per_page=PER_PAGE,
                       error_out=False)
    can_create = current_user.is_authenticated and bool(organisations_of(current_user, OrganisationKind.STARTUP))
    return render_template("incubation/project_index.html", form=form, page=page, can_create=can_create)


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def project_create():
    startups = organisations_of(current_user, OrganisationKind.STARTUP)
    if not startups:
        flash(_("Create or join a startup first: projects belong to startups."), "info")
        return redirect(url_for("organisations.create"))
    form = ProjectPageForm()
    form.organisation_id.choices = [(o.id, o.name) for o in startups]
    if form.validate_on_submit():
        organisation = next(o for o in startups if o.id == form.organisation_id.data)
        amount = None
        if form.funding_sought_amount.data is not None:
            scale = Decimal(10) ** get_currency_precision(form.currency.data)
            amount = int((form.funding_sought_amount.data * scale).to_integral_value())
        try:
            project = services.create_project(
                organisation, current_user, title=form.title.data, summary=form.summary.data,
                industry=form.industry.data, stage=form.stage.data, mode=form.mode.data,
                funding_sought_amount=amount, currency=form.currency.data, **form.text_fields())
        except PortalError as error:
            attach_errors(form, error)
        else:
            flash(_("Draft saved. Submit it when it is ready for screening."), "success")
            return redirect(url_for("incubation.project_detail", project_id=project.id))
    return render_template("incubation/project_form.html", form=form)


@bp.get("/projects/<int:project_id>")
def project_detail(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    can_edit = can(current_user, Permission.EDIT, project)
    return render_template("incubation/project_detail.html", project=project, can_edit=can_edit,
                           can_submit=can_edit and project.status in ProjectStatus.SUBMITTABLE,
                           action_form=EmptyForm())


@bp.post("/projects/<int:project_id>/submit")
@login_required
def project_submit(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        try:
            services.submit_project(project)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Project submitted for screening."), "success")
    return redirect(url_for("incubation.project_detail", project_id=project.id))


# ---- programs --------------------------------------------------------------------------------

@bp.get("/programs/")
def program_index():
    programs = db.session.scalars(select(Program).order_by(Program.closes_at.desc())).all()
    return render_template("incubation/program_index.html", programs=programs)


@bp.get("/programs/<int:program_id>")
def program_detail(program_id: int):
    program = load(Program, program_id, Permission.VIEW)
    total_weight = sum(c.weight for c in program.criteria) or 1
    return render_template("incubation/program_detail.html", program=program, total_weight=total_weight)


# ---- mentors ---------------------------------------------------------------------------------

@bp.get("/mentors/")
def mentor_index():
    form = MentorFilterForm(request.args)
    mentors = services.search_mentors(form.expertise.data or "", form.language.data or "") if form.validate() else []
    return render_template("incubation/mentor_index.html", form=form, mentors=mentors)


@bp.get("/mentors/<int:profile_id>")
def mentor_detail(profile_id: int):
    profile = load(MentorProfile, profile_id, Permission.VIEW)
    return render_template("incubation/mentor_detail.html", profile=profile, slots=services.free_slots(profile))


# ---- ideas -----------------------------------------------------------------------------------

@bp.route("/ideas/", methods=["GET", "POST"])
def idea_index():
    form = IdeaForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            abort(401)
        if form.validate_on_submit():
            try:
                services.create_idea(current_user, form.title.data, form.description.data)
            except PortalError as error:
                attach_errors(form, error)
            else:
                flash(_("Thanks! Your idea is posted."), "success")
                return redirect(url_for("incubation.idea_index"))
    return render_template("incubation/idea_index.html", form=form, ideas=services.ideas_with_votes(),
                           voted=services.voted_idea_ids(current_user), action_form=EmptyForm())


@bp.post("/ideas/<int:idea_id>/vote")
@login_required
def idea_vote(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    if EmptyForm().validate_on_submit():
        try:
            services.vote_for_idea(idea, current_user)
        except PortalError as error:
            flash(error.message, "warning")
        else:
            flash(_("Vote counted."), "success")
    return redirect(url_for("incubation.idea_index"))
