"""HTML pages of incubation: programs."""


from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from incubation import services
from incubation.forms import (
    ApplicationPageForm,
    AutoAssignForm,
    ConflictForm,
    DecisionForm,
    ProgramEditPageForm,
    ProgramPageForm,
    ReviewerPageForm,
    ReviewForm,
)
from incubation.models import Application, Program, Project
from incubation.schemas.programs import (
    AutoAssignment,
    ConflictDeclaration,
    Decision,
    NewApplication,
    NewProgram,
    NewReview,
    ProgramTerms,
    Publication,
)
from incubation.services.programs import application_refusal, existing_application
from incubation.views.common import bp, form_failed, run_action
from portal.auth.forms import EmptyForm
from portal.auth.models import Role, User, UserRole
from portal.db import rollback
from portal.errors import PortalError
from portal.extensions import db
from portal.organisations.models import OrganisationKind
from portal.organisations.services import organisations_of
from portal.permissions import Permission, can, load
from portal.schemas import from_form

# ---- programs --------------------------------------------------------------------------------

@bp.get("/programs/")
def program_index():
    programs = db.session.scalars(services.visible_programs_stmt(current_user)).all()
    can_create = current_user.is_authenticated and bool(organisations_of(current_user, OrganisationKind.COMPANY))
    return render_template("incubation/program_index.html", programs=programs, can_create=can_create)


def apply_options(program: Program) -> tuple[list[Project], list[tuple[Project, str, Application | None]]]:
    """The current user's projects this program accepts, and the others with the service's reason (and
    the application, when the reason is that the project already applied)."""
    eligible, refused = [], []
    if not current_user.is_authenticated:
        return eligible, refused
    for project in services.projects_of(current_user):
        refusal = application_refusal(program, project)
        if refusal is None:
            eligible.append(project)
        else:
            refused.append((project, refusal.message, existing_application(program, project)))
    return eligible, refused


def render_program(program: Program, apply_form: ApplicationPageForm | None = None,
                   answers: dict[str, str] | None = None, answer_errors: dict[str, list[str]] | None = None,
                   status: int = 200):
    """The program page; after a refused application, with the form as posted and its errors."""
    total_weight = sum(c.weight for c in program.criteria) or 1
    candidates, refused = apply_options(program)
    if apply_form is None:
        apply_form = ApplicationPageForm()
    apply_form.project_id.choices = [(p.id, p.title) for p in candidates]
    return render_template("incubation/program_detail.html", program=program, total_weight=total_weight,
                           apply_form=apply_form, candidates=candidates, refused=refused,
                           answers=answers or {}, answer_errors=answer_errors or {},
                           answer_fields=services.answer_fields(program),
                           manager=can(current_user, Permission.MANAGE, program),
                           editor=can(current_user, Permission.EDIT, program), action_form=EmptyForm(),
                           accepted=services.accepted_count(program)), status


@bp.get("/programs/<int:program_id>")
def program_detail(program_id: int):
    return render_program(load(Program, program_id, Permission.VIEW))


@bp.post("/programs/<int:program_id>/publication")
@login_required
def program_publication(program_id: int):
    program = load(Program, program_id, Permission.EDIT)
    if not EmptyForm().validate_on_submit():
        abort(400)
    published = request.form.get("published") == "true"
    run_action(lambda: services.set_program_published(program, Publication(published=published), current_user),
         _("Published: founders can now apply.") if published else _("Withdrawn: only your company sees it now."))
    return redirect(url_for("incubation.program_detail", program_id=program.id))


# ---- programs: creation, applications, review ------------------------------------------------

@bp.route("/programs/new", methods=["GET", "POST"])
@login_required
def program_create():
    companies = organisations_of(current_user, OrganisationKind.COMPANY)
    if not companies:
        flash(_("Programs are run by anchor companies: join or create one first."), "info")
        return redirect(url_for("incubation.program_index"))
    form = ProgramPageForm()
    form.organisation_id.choices = [(o.id, o.name) for o in companies]
    if form.validate_on_submit():
        organisation = next(o for o in companies if o.id == form.organisation_id.data)
        result = {}

        def create():
            # An unverified company prepares a draft; it is published once an admin verifies the company.
            command = from_form(NewProgram, form, criteria=form.criteria_items(), questions=form.question_items(),
                                credit_currency=form.credit_currency.data or "CNY",
                                published=organisation.is_verified)
            result["program"] = services.create_program(organisation, command)

        message = (_("Program created.") if organisation.is_verified else
                   _("Program saved as a draft: it is published once a platform admin has verified your company."))
        if run_action(create, message, form):
            return redirect(url_for("incubation.program_detail", program_id=result["program"].id))
    return render_template("incubation/program_form.html", form=form)


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@login_required
def program_edit(program_id: int):
    program = load(Program, program_id, Permission.EDIT)
    blocker = services.program_edit_blocker(program)
    form = ProgramEditPageForm()
    if request.method == "GET":
        form.fill(program)
    elif blocker:
        flash(blocker, "danger")
    elif form.validate_on_submit():
        def save():
            command = from_form(ProgramTerms, form, criteria=form.criteria_items(), questions=form.question_items())
            services.update_program(program, current_user, command)

        if run_action(save, _("Program saved."), form):
            return redirect(url_for("incubation.program_detail", program_id=program.id))
    else:
        form_failed(form)
    status = 409 if blocker and request.method == "POST" else 200
    return render_template("incubation/program_edit.html", form=form, program=program, blocker=blocker), status


@bp.post("/programs/<int:program_id>/apply")
@login_required
def program_apply(program_id: int):
    """Apply with one of the user's projects. Success leads to the new application (post/redirect/get); a
    refusal shows the program page again with the answers as typed and the reasons next to the fields."""
    program = load(Program, program_id, Permission.VIEW)
    form = ApplicationPageForm()
    form.project_id.choices = [(p.id, p.title) for p in services.projects_of(current_user)]
    fields = services.answer_fields(program)
    answers = {f.key: request.form.get(f"answer-{f.key}", "") for f in fields}
    if not form.validate_on_submit():
        if request.form.get("project_id", "").isdigit() and int(request.form["project_id"]) not in {
                choice for choice, _label in form.project_id.choices}:
            load(Project, int(request.form["project_id"]), Permission.EDIT)  # 404/403 for another's project
        flash(_("Choose one of your projects to apply with."), "danger")
        return render_program(program, form, answers, status=400)
    project = load(Project, form.project_id.data, Permission.EDIT)
    try:
        application = services.apply_to_program(program, project, current_user,
                                                from_form(NewApplication, form, answers=answers))
    except PortalError as error:
        rollback()
        answer_errors = {name.removeprefix("answers."): messages for name, messages in error.fields.items()
                         if name.startswith("answers")}
        if "project_id" in error.fields:
            form.project_id.errors = list(form.project_id.errors) + error.fields["project_id"]
        flash(error.message, "danger")
        return render_program(program, form, answers, answer_errors, status=error.status)
    flash(_("Application sent."), "success")
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.get("/programs/<int:program_id>/applications")
@login_required
def program_applications(program_id: int):
    program = load(Program, program_id, Permission.MANAGE)
    rows = services.ranking(program)
    reviewer = services.blind_program_context(current_user, program)
    blind_ids = {r.application.id for r in rows if services.is_blind_for(current_user, r.application, reviewer)}
    reviewed = [r for r in rows if r.average is not None]
    chart = {
        "type": "bar",
        "data": {
            "labels": [services.application_title(r.application, blind=r.application.id in blind_ids)[:40]
                       for r in reviewed],
            "datasets": [
                {"label": str(_("Weighted average (0-5)")), "data": [r.average for r in reviewed]},
                {"label": str(_("Normalised (z-score)")), "data": [r.normalised for r in reviewed]},
            ],
        },
        "options": {"responsive": True, "maintainAspectRatio": False},
    }
    return render_template("incubation/program_applications.html", program=program, rows=rows, chart=chart,
                           blind_ids=blind_ids,
                           uses_charts=bool(reviewed), auto_form=AutoAssignForm(),
                           auto_status=services.auto_assign_status(program),
                           accepted=services.accepted_count(program))


@bp.post("/programs/<int:program_id>/auto-assign")
@login_required
def program_auto_assign(program_id: int):
    program = load(Program, program_id, Permission.MANAGE)
    form = AutoAssignForm()
    if form.validate_on_submit():
        result = {}

        def assign():
            result["created"] = services.request_auto_assign(program, from_form(AutoAssignment, form), current_user)

        if run_action(assign, _("Automatic assignment requested.")):
            if result["created"] is None:
                flash(_("Large programs are assigned in the background: the result appears on this page when "
                        "it is done, and you get a mail."), "info")
            else:
                flash(ngettext("%(num)s new assignment.", "%(num)s new assignments.", len(result["created"])),
                      "info")
    else:
        form_failed(form)
    return redirect(url_for("incubation.program_applications", program_id=program.id))


def criterion_scores(program: Program) -> dict[str, str]:
    """The page's score selects (`score-<criterion id>`) by criterion name."""
    return {c.name: request.form.get(f"score-{c.id}", "") for c in program.criteria}


@bp.get("/applications/<int:application_id>")
@login_required
def application_detail(application_id: int):
    application = load(Application, application_id, Permission.VIEW)
    program, project = application.program, application.project
    manager = can(current_user, Permission.MANAGE, application)
    founder = can(current_user, Permission.EDIT, project)
    assignment = services.assignment_of(application, current_user)
    blind = services.is_blind_for(current_user, application)
    reviewer_form = ReviewerPageForm()
    if manager:
        assigned = {a.reviewer_id for a in application.assignments}
        candidates = [u for u in services.reviewer_pool(program) if u.id not in assigned]
        # the company's staff, then the platform's mentors (anyone may be assigned through the API)
        mentors = db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                     .where(UserRole.role == Role.MENTOR).order_by(User.name)).all()
        candidates += [u for u in mentors if u.id not in assigned and u not in candidates]
        reviewer_form.user_id.choices = [(u.id, u.name) for u in candidates]
    return render_template("incubation/application_detail.html", application=application, program=program,
                           project=project, manager=manager, founder=founder, assignment=assignment, blind=blind,
                           reviewer_form=reviewer_form, review_form=ReviewForm(), conflict_form=ConflictForm(),
                           decision_form=DecisionForm(), score_range=range(0, 6),
                           answers=services.answered(application))


@bp.post("/applications/<int:application_id>/reviewers")
@login_required
def application_reviewer_add(application_id: int):
    application = load(Application, application_id, Permission.MANAGE)
    form = ReviewerPageForm()
    form.user_id.choices = [(int(request.form.get("user_id", 0) or 0), "")]
    if form.validate_on_submit():
        reviewer = db.session.get(User, form.user_id.data)
        if reviewer is None:
            abort(404)
        run_action(lambda: services.assign_reviewer(application, reviewer, current_user),
             _("%(name)s assigned.", name=reviewer.name))
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/review")
@login_required
def application_review(application_id: int):
    application = load(Application, application_id, Permission.VIEW)
    assignment = services.assignment_of(application, current_user)
    if assignment is None:
        abort(403)
    form = ReviewForm()
    if form.validate_on_submit():
        run_action(lambda: services.submit_review(
            assignment, from_form(NewReview, form, scores=criterion_scores(application.program))), _("Review saved."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/conflict")
@login_required
def application_conflict(application_id: int):
    application = load(Application, application_id, Permission.VIEW)
    assignment = services.assignment_of(application, current_user)
    if assignment is None:
        abort(403)
    form = ConflictForm()
    if form.validate_on_submit():
        run_action(lambda: services.declare_conflict(assignment, from_form(ConflictDeclaration, form)),
                   _("Conflict declared."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/decision")
@login_required
def application_decision(application_id: int):
    application = load(Application, application_id, Permission.MANAGE)
    form = DecisionForm()
    if form.validate_on_submit():
        run_action(lambda: services.decide(application, from_form(Decision, form), current_user),
                   _("Decision saved and sent to the founders."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.get("/reviews/")
@login_required
def review_index():
    assignments = services.reviews_assigned_to(current_user)
    return render_template("incubation/review_index.html", assignments=assignments,
                           blind_ids={a.application_id for a in assignments
                                      if services.is_blind_for(current_user, a.application, True)})
