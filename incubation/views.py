"""HTML pages: projects, programs, mentors and ideas. Thin: services hold the rules."""

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from incubation import receipts as document_receipts
from incubation import services
from incubation.forms import (
    APPLICATION_STATUS_LABELS,
    CHAIN_CHOICES,
    CONFIDENTIALITY_CHOICES,
    LANGUAGE_CHOICES,
    MODE_CHOICES,
    RECOMMENDATION_CHOICES,
    STAGE_CHOICES,
    STATUS_LABELS,
    SUPPORT_STATUS_CHOICES,
    AdoptPageForm,
    ApplicationPageForm,
    AutoAssignForm,
    BookingPageForm,
    CommentForm,
    ConflictForm,
    CoverForm,
    DecisionForm,
    DocumentForm,
    FormerEmploymentPageForm,
    IdeaForm,
    KpiForm,
    MentorFilterForm,
    MentorProfileForm,
    MilestoneForm,
    NdaAcceptForm,
    NdaForm,
    ProgramEditPageForm,
    ProgramPageForm,
    ProgressForm,
    ProjectFilterForm,
    ProjectPageForm,
    ReviewerPageForm,
    ReviewForm,
    SessionFeedbackForm,
    SessionNotesForm,
    SlotCancelForm,
    SlotForm,
    SupportRequestForm,
    SupportUpdateForm,
    TransitionForm,
)
from incubation.models import (
    OPEN_STATUSES,
    Application,
    FormerEmployment,
    Idea,
    Kpi,
    MentorProfile,
    MentorSlot,
    Milestone,
    Program,
    Project,
    ProjectDocument,
    ProjectStatus,
    SupportRequest,
)
from incubation.policies import transition_permission
from incubation.schemas import NewComment, NewIdea
from portal.auth.forms import EmptyForm
from portal.auth.models import Role, User, UserRole
from portal.db import rollback, utcnow
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_errors
from portal.organisations.models import Organisation, OrganisationKind
from portal.organisations.services import organisations_of
from portal.permissions import Permission, can, load, require_role
from portal.schemas import from_form
from portal.uploads import send_stored

bp = Blueprint("incubation", __name__, template_folder="templates")

PER_PAGE = 24


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"incubation_labels": {
    "mode": dict(MODE_CHOICES), "stage": dict(STAGE_CHOICES), "status": STATUS_LABELS,
    "language": dict(LANGUAGE_CHOICES), "chain": dict(CHAIN_CHOICES), "support": dict(SUPPORT_STATUS_CHOICES),
    "confidentiality": dict(CONFIDENTIALITY_CHOICES), "recommendation": dict(RECOMMENDATION_CHOICES),
    "application": APPLICATION_STATUS_LABELS}}


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
    can_manage = can(current_user, Permission.MANAGE, project)
    targets = services.allowed_targets(project)
    founder_targets = [t for t in targets if t in services.FOUNDER_TARGETS and t != ProjectStatus.SUBMITTED]
    manager_targets = [t for t in targets if t not in services.FOUNDER_TARGETS]
    transition_form = TransitionForm()
    transition_form.status.choices = [(t, STATUS_LABELS[t]) for t in manager_targets]
    documents = [(d, services.document_access(d, current_user)) for d in services.documents_of(project)]
    applications = services.applications_of_project(project) if (can_edit or can_manage) else []
    if applications and not can_edit:
        # A manager who also reviews in a blind program must not learn which application is this project's.
        reviewing = services.reviewer_program_ids(current_user)
        applications = [a for a in applications
                        if not services.is_blind_for(current_user, a, a.program_id in reviewing)]
    supported = project.status in services.SUPPORTED_STATUSES
    credit_balances = []
    if can_edit:  # the startup's own members see its open-source credits
        from resources.bookings import credit_balances as balances_of

        credit_balances = balances_of(project.organisation_id)
    progress_form = ProgressForm()
    milestones = services.milestones_of(project)
    kpis = services.kpis_of(project)
    ideas_to_adopt = []
    return render_template(
        "incubation/project_detail.html", project=project, can_edit=can_edit, can_manage=can_manage,
        can_submit=can_edit and project.status in ProjectStatus.SUBMITTABLE, action_form=EmptyForm(),
        founder_targets=founder_targets if can_edit else [], transition_form=transition_form,
        manager_targets=manager_targets if can_manage else [], timeline=services.timeline(project),
        documents=documents, nda_accepted=services.has_accepted_nda(project, current_user),
        receipt_states=document_receipts.receipt_states([d for d, _access in documents], current_user),
        document_form=DocumentForm(), nda_form=NdaForm(nda_text=project.nda_text), cover_form=CoverForm(),
        applications=applications, supported=supported, milestones=milestones, kpis=kpis,
        credit_balances=credit_balances,
        updates=services.progress_updates_of(project) if supported else [],
        support_requests=services.support_requests_of(project) if can_edit or can_manage else [],
        milestone_form=MilestoneForm(), kpi_form=KpiForm(), progress_form=progress_form,
        milestone_due={m.id: MilestoneForm(formdata=None, obj=m).due_at._value() for m in milestones}
        if can_edit else {},
        support_form=SupportRequestForm(), ideas_to_adopt=ideas_to_adopt,
        open_programs=db.session.scalars(services.open_programs_stmt().where(Program.mode == project.mode)).all()
        if can_edit and project.status in services.APPLICABLE_STATUSES else [])


@bp.post("/projects/<int:project_id>/submit")
@login_required
def project_submit(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        try:
            services.submit_project(project, current_user)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Project submitted for screening."), "success")
    return redirect(url_for("incubation.project_detail", project_id=project.id))


# ---- programs --------------------------------------------------------------------------------

@bp.get("/programs/")
def program_index():
    programs = db.session.scalars(services.visible_programs_stmt(current_user)).all()
    can_create = current_user.is_authenticated and bool(organisations_of(current_user, OrganisationKind.COMPANY))
    return render_template("incubation/program_index.html", programs=programs, can_create=can_create)


@bp.get("/programs/<int:program_id>")
def program_detail(program_id: int):
    program = load(Program, program_id, Permission.VIEW)
    total_weight = sum(c.weight for c in program.criteria) or 1
    apply_form = ApplicationPageForm()
    candidates = []
    if current_user.is_authenticated:
        candidates = [p for p in services.projects_of(current_user) if p.status in services.APPLICABLE_STATUSES]
    apply_form.project_id.choices = [(p.id, p.title) for p in candidates]
    return render_template("incubation/program_detail.html", program=program, total_weight=total_weight,
                           apply_form=apply_form, candidates=candidates,
                           answer_fields=services.answer_fields(program),
                           manager=can(current_user, Permission.MANAGE, program),
                           editor=can(current_user, Permission.EDIT, program), action_form=EmptyForm(),
                           accepted=services.accepted_count(program))


@bp.post("/programs/<int:program_id>/publication")
@login_required
def program_publication(program_id: int):
    program = load(Program, program_id, Permission.EDIT)
    if not EmptyForm().validate_on_submit():
        abort(400)
    published = request.form.get("published") == "true"
    _run(lambda: services.set_program_published(program, published, current_user),
         _("Published: founders can now apply.") if published else _("Withdrawn: only your company sees it now."))
    return redirect(url_for("incubation.program_detail", program_id=program.id))


# ---- mentors ---------------------------------------------------------------------------------

@bp.get("/mentors/")
def mentor_index():
    form = MentorFilterForm(request.args)
    mentors = services.search_mentors(form.expertise.data or "", form.language.data or "") if form.validate() else []
    return render_template("incubation/mentor_index.html", form=form, mentors=mentors)


@bp.get("/mentors/<int:profile_id>")
def mentor_detail(profile_id: int):
    profile = load(MentorProfile, profile_id, Permission.VIEW)
    own_projects = services.projects_of(current_user) if current_user.is_authenticated else []
    return render_template("incubation/mentor_detail.html", profile=profile, slots=services.free_slots(profile),
                           booking_form=EmptyForm(), own_projects=own_projects)


# ---- ideas -----------------------------------------------------------------------------------

@bp.route("/ideas/", methods=["GET", "POST"])
def idea_index():
    form = IdeaForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            abort(401)
        if form.validate_on_submit():
            try:
                services.create_idea(current_user, from_form(NewIdea, form))
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


# ---- helpers ---------------------------------------------------------------------------------

def _run(action, success: str, form=None) -> bool:
    """Run a service call; flash its success or its refusal. Returns whether it worked."""
    try:
        action()
    except PortalError as error:
        if form is not None:
            attach_errors(form, error)
        flash(error.message if not error.fields else "; ".join(
            [error.message] + [f"{m}" for msgs in error.fields.values() for m in msgs if m != error.message]),
            "danger")
        rollback()  # nothing of a refused action is kept, and its queued mail is dropped
        return False
    flash(success, "success")
    return True


def _form_failed(form) -> None:
    messages = [f"{getattr(form, name).label.text}: {m}" if hasattr(form, name) else str(m)
                for name, msgs in form.errors.items() for m in (msgs if isinstance(msgs, list) else [msgs])]
    flash("; ".join(str(m) for m in messages) or _("The form was not valid."), "danger")


def _back_to_project(project: Project, anchor: str = ""):
    return redirect(url_for("incubation.project_detail", project_id=project.id) + (f"#{anchor}" if anchor else ""))


# ---- project lifecycle, documents, NDA -------------------------------------------------------

@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def project_edit(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    # Only GET prefills from the project: WTForms falls back to `obj` for an empty POST, which would read the
    # stored minor units as yuan and save them a hundredfold.
    form = ProjectPageForm(obj=project if request.method == "GET" else None)
    form.organisation_id.choices = [(project.organisation_id, project.organisation.name)]
    if request.method == "GET":
        form.organisation_id.data = project.organisation_id
        if project.funding_sought_amount is not None:
            scale = Decimal(10) ** get_currency_precision(project.currency)
            form.funding_sought_amount.data = Decimal(project.funding_sought_amount) / scale
    if form.validate_on_submit():
        amount = None
        if form.funding_sought_amount.data is not None:
            scale = Decimal(10) ** get_currency_precision(form.currency.data)
            amount = int((form.funding_sought_amount.data * scale).to_integral_value())
        if _run(lambda: services.update_project(
                project, title=form.title.data, summary=form.summary.data, industry=form.industry.data,
                stage=form.stage.data, mode=form.mode.data, funding_sought_amount=amount,
                currency=form.currency.data, **form.text_fields()), _("Project saved."), form):
            return _back_to_project(project)
    return render_template("incubation/project_form.html", form=form, project=project)


@bp.post("/projects/<int:project_id>/transition")
@login_required
def project_transition(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    form = TransitionForm()
    if form.validate_on_submit():
        target = form.status.data
        if not can(current_user, transition_permission(target), project):
            abort(403)
        _run(lambda: services.transition_project(project, target, actor=current_user, note=form.note.data or ""),
             _("The project is now %(status)s.", status=STATUS_LABELS.get(target, target)))
    else:
        _form_failed(form)
    return _back_to_project(project, "timeline")


@bp.post("/projects/<int:project_id>/cover")
@login_required
def project_cover_upload(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = CoverForm()
    if form.validate_on_submit():
        _run(lambda: services.set_cover_image(project, request.files.get("cover_image"), current_user),
             _("Cover image saved."))
    return _back_to_project(project)


@bp.get("/projects/<int:project_id>/cover")
def project_cover(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    if project.cover_image is None:
        abort(404)
    return send_stored(project.cover_image, as_attachment=False)


@bp.post("/projects/<int:project_id>/nda")
@login_required
def project_nda(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = NdaForm()
    if form.validate_on_submit():
        _run(lambda: services.set_nda_text(project, form.nda_text.data, current_user), _("NDA saved."))
    else:
        _form_failed(form)
    return _back_to_project(project, "documents")


@bp.route("/projects/<int:project_id>/nda/accept", methods=["GET", "POST"])
@login_required
def project_nda_accept(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    if not project.nda_version:
        abort(404)
    form = NdaAcceptForm()
    if form.validate_on_submit():
        if _run(lambda: services.accept_nda(project, current_user, form.version.data), _("NDA accepted.")):
            target = request.args.get("document")
            if target and target.isdigit():
                return redirect(url_for("incubation.document_open", document_id=int(target)))
            return _back_to_project(project, "documents")
    return render_template("incubation/nda.html", project=project, form=form,
                           accepted=services.has_accepted_nda(project, current_user))


@bp.post("/projects/<int:project_id>/documents")
@login_required
def project_document_upload(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = DocumentForm()
    if form.validate_on_submit():
        _run(lambda: services.add_document(project, request.files.get("file"), current_user, title=form.title.data,
                                           confidentiality=form.confidentiality.data), _("Document stored."))
    else:
        _form_failed(form)
    return _back_to_project(project, "documents")


@bp.get("/documents/<int:document_id>")
def document_open(document_id: int):
    document = load(ProjectDocument, document_id, Permission.VIEW)
    if document.archived_at is not None:
        abort(404)
    access = services.document_access(document, current_user)
    if access == services.DocumentAccess.LOGIN:
        return redirect(url_for("auth.login", next=request.path))
    if access == services.DocumentAccess.NDA:
        return redirect(url_for("incubation.project_nda_accept", project_id=document.project_id,
                                document=document.id))
    services.log_document_view(document, current_user)
    return send_stored(document.stored_file)


@bp.get("/documents/<int:document_id>/receipt")
@login_required
def document_receipt(document_id: int):
    """The document's receipt as a JSON download (check it with `python -m portal.receipts verify`)."""
    document = load(ProjectDocument, document_id, Permission.VIEW)
    if document.archived_at is not None:
        abort(404)
    try:
        receipt = document_receipts.document_receipt(document, current_user)
    except PortalError as error:
        flash(error.message, "danger")
        return _back_to_project(document.project, "documents")
    response = jsonify(receipt)
    response.headers["Content-Disposition"] = f"attachment; filename=receipt-document-{document.id}.json"
    return response


@bp.post("/documents/<int:document_id>/delete")
@login_required
def document_delete(document_id: int):
    document = load(ProjectDocument, document_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        _run(lambda: services.archive_document(document, current_user),
             _("Document deleted. Its view log stays."))
    return _back_to_project(document.project, "documents")


@bp.get("/projects/<int:project_id>/document-views")
@login_required
def project_document_views(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    return render_template("incubation/document_views.html", project=project, views=services.document_views(project))


# ---- incubation support ----------------------------------------------------------------------

@bp.post("/projects/<int:project_id>/milestones")
@login_required
def milestone_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = MilestoneForm()
    if form.validate_on_submit():
        _run(lambda: services.add_milestone(project, form.title.data, form.due_at.data), _("Milestone added."))
    else:
        _form_failed(form)
    return _back_to_project(project, "progress-section")


@bp.post("/projects/<int:project_id>/kpis")
@login_required
def kpi_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = KpiForm()
    if form.validate_on_submit():
        _run(lambda: services.add_kpi(project, form.name.data, form.target.data, form.unit.data), _("KPI added."))
    else:
        _form_failed(form)
    return _back_to_project(project, "progress-section")


@bp.post("/milestones/<int:milestone_id>/edit")
@login_required
def milestone_edit(milestone_id: int):
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    form = MilestoneForm()
    if form.validate_on_submit():
        _run(lambda: services.update_milestone(milestone, current_user, title=form.title.data,
                                               due_at=form.due_at.data), _("Milestone saved."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.project_detail", project_id=milestone.project_id) + "#progress-section")


@bp.post("/milestones/<int:milestone_id>/delete")
@login_required
def milestone_delete(milestone_id: int):
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    project_id = milestone.project_id
    if EmptyForm().validate_on_submit():
        _run(lambda: services.delete_milestone(milestone, current_user), _("Milestone deleted."))
    return redirect(url_for("incubation.project_detail", project_id=project_id) + "#progress-section")


@bp.post("/kpis/<int:kpi_id>/edit")
@login_required
def kpi_edit(kpi_id: int):
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    form = KpiForm()
    if form.validate_on_submit():
        _run(lambda: services.update_kpi(kpi, current_user, name=form.name.data, target=form.target.data,
                                         unit=form.unit.data), _("KPI saved."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.project_detail", project_id=kpi.project_id) + "#progress-section")


@bp.post("/kpis/<int:kpi_id>/delete")
@login_required
def kpi_delete(kpi_id: int):
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    project_id = kpi.project_id
    if EmptyForm().validate_on_submit():
        _run(lambda: services.delete_kpi(kpi, current_user), _("KPI deleted."))
    return redirect(url_for("incubation.project_detail", project_id=project_id) + "#progress-section")


@bp.post("/projects/<int:project_id>/progress")
@login_required
def progress_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = ProgressForm()
    if form.validate_on_submit():
        milestone = load(Milestone, form.milestone_id.data, Permission.EDIT) if form.milestone_id.data else None
        kpi = load(Kpi, form.kpi_id.data, Permission.EDIT) if form.kpi_id.data else None
        _run(lambda: services.post_progress(project, current_user, form.body.data, milestone=milestone,
                                            progress=form.progress.data, kpi=kpi, kpi_value=form.kpi_value.data),
             _("Progress posted."))
    else:
        _form_failed(form)
    return _back_to_project(project, "progress-section")


@bp.post("/projects/<int:project_id>/support-requests")
@login_required
def support_create(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = SupportRequestForm()
    if form.validate_on_submit():
        _run(lambda: services.open_support_request(project, current_user, stage=form.stage.data,
                                                   title=form.title.data, body=form.body.data),
             _("Support request sent to the anchor company."))
    else:
        _form_failed(form)
    return _back_to_project(project, "support-section")


@bp.get("/support/")
@login_required
def support_index():
    own = services.member_organisation_ids(current_user)
    return render_template("incubation/support_index.html",
                           requests=services.support_requests_for_company(own, open_only=False),
                           form=SupportUpdateForm())


@bp.post("/support-requests/<int:support_id>/status")
@login_required
def support_update(support_id: int):
    support = load(SupportRequest, support_id, Permission.MANAGE)
    form = SupportUpdateForm()
    if form.validate_on_submit():
        _run(lambda: services.update_support_request(support, current_user, form.status.data, form.resolution.data),
             _("Support request updated."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.support_index"))


# ---- former employees ------------------------------------------------------------------------

@bp.route("/former-employments/", methods=["GET", "POST"])
@login_required
def former_employment_index():
    form = FormerEmploymentPageForm()
    companies = db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.COMPANY)
                                   .order_by(Organisation.name)).all()
    form.company_id.choices = [(c.id, c.name) for c in companies]
    if form.validate_on_submit():
        company = load(Organisation, form.company_id.data, Permission.VIEW)
        if _run(lambda: services.claim_former_employment(current_user, company, position=form.position.data,
                                                        years=form.years.data),
                _("Recorded. The company's staff will verify it."), form):
            return redirect(url_for("incubation.former_employment_index"))
    mine = db.session.scalars(select(FormerEmployment).where(FormerEmployment.user_id == current_user.id)).all()
    own = services.member_organisation_ids(current_user)
    to_verify = db.session.scalars(select(FormerEmployment).where(
        FormerEmployment.company_id.in_(own), FormerEmployment.verified_at.is_(None))).all() if own else []
    return render_template("incubation/former_employment.html", form=form, mine=mine, to_verify=to_verify,
                           action_form=EmptyForm())


@bp.post("/former-employments/<int:record_id>/verify")
@login_required
def former_employment_verify(record_id: int):
    record = load(FormerEmployment, record_id, Permission.MANAGE)
    if EmptyForm().validate_on_submit():
        _run(lambda: services.verify_former_employment(record, current_user), _("Former employee verified."))
    return redirect(url_for("incubation.former_employment_index"))


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
            result["program"] = services.create_program(organisation, **form.program_data(),
                                                        published=organisation.is_verified)

        message = (_("Program created.") if organisation.is_verified else
                   _("Program saved as a draft: it is published once a platform admin has verified your company."))
        if _run(create, message, form):
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
        if _run(lambda: services.update_program(program, current_user, **form.program_data()),
                _("Program saved."), form):
            return redirect(url_for("incubation.program_detail", program_id=program.id))
    else:
        _form_failed(form)
    status = 409 if blocker and request.method == "POST" else 200
    return render_template("incubation/program_edit.html", form=form, program=program, blocker=blocker), status


@bp.post("/programs/<int:program_id>/apply")
@login_required
def program_apply(program_id: int):
    program = load(Program, program_id, Permission.VIEW)
    form = ApplicationPageForm()
    form.project_id.choices = [(p.id, p.title) for p in services.projects_of(current_user)]
    if form.validate_on_submit():
        project = load(Project, form.project_id.data, Permission.EDIT)
        answers = {f.key: request.form.get(f"answer-{f.key}", "") for f in services.answer_fields(program)}
        _run(lambda: services.apply_to_program(program, project, current_user, answers), _("Application sent."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.program_detail", program_id=program.id))


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
            result["created"] = services.request_auto_assign(program, form.reviewers_per_application.data, None,
                                                             current_user)

        if _run(assign, _("Automatic assignment requested.")):
            if result["created"] is None:
                flash(_("Large programs are assigned in the background: the result appears on this page when "
                        "it is done, and you get a mail."), "info")
            else:
                flash(ngettext("%(num)s new assignment.", "%(num)s new assignments.", len(result["created"])),
                      "info")
    else:
        _form_failed(form)
    return redirect(url_for("incubation.program_applications", program_id=program.id))


def _criterion_scores(program: Program) -> dict[str, str]:
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
        _run(lambda: services.assign_reviewer(application, reviewer, current_user),
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
        _run(lambda: services.submit_review(assignment, _criterion_scores(application.program),
                                            form.recommendation.data, form.comment.data), _("Review saved."))
    else:
        _form_failed(form)
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
        _run(lambda: services.declare_conflict(assignment, form.reason.data), _("Conflict declared."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/decision")
@login_required
def application_decision(application_id: int):
    application = load(Application, application_id, Permission.MANAGE)
    form = DecisionForm()
    if form.validate_on_submit():
        _run(lambda: services.decide(application, form.decision.data, form.feedback.data, current_user),
             _("Decision saved and sent to the founders."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.application_detail", application_id=application.id))


@bp.get("/reviews/")
@login_required
def review_index():
    assignments = services.reviews_assigned_to(current_user)
    return render_template("incubation/review_index.html", assignments=assignments,
                           blind_ids={a.application_id for a in assignments
                                      if services.is_blind_for(current_user, a.application, True)})


# ---- mentors: profile, slots, booking, sessions ----------------------------------------------

@bp.route("/mentors/me", methods=["GET", "POST"])
@login_required
def mentor_me():
    require_role(Role.MENTOR)
    profile = services.mentor_profile_of(current_user)
    form = MentorProfileForm(obj=profile) if request.method == "GET" else MentorProfileForm()
    if form.validate_on_submit():
        if _run(lambda: services.save_mentor_profile(
                current_user, bio=form.bio.data, expertise=form.expertise.data, industries=form.industries.data,
                languages=form.languages.data, organisation=form.organisation.data or ""),
                _("Mentor profile saved."), form):
            return redirect(url_for("incubation.mentor_me"))
    slots = services.upcoming_slots(profile, limit=50) if profile else []
    return render_template("incubation/mentor_me.html", form=form, profile=profile, slots=slots,
                           slot_form=SlotForm(), cancel_form=SlotCancelForm(), now=utcnow())


@bp.post("/mentors/me/slots")
@login_required
def mentor_slot_create():
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    form = SlotForm()
    if form.validate_on_submit():
        _run(lambda: services.add_slot(profile, form.start.data, form.end.data), _("Slot added."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.mentor_me"))


@bp.post("/mentor-slots/<int:slot_id>/book")
@login_required
def mentor_slot_book(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.VIEW)
    form = BookingPageForm()
    form.project_id.choices = [(None, "")] + [(p.id, p.title) for p in services.projects_of(current_user)]
    if form.validate_on_submit():
        project = load(Project, form.project_id.data, Permission.EDIT) if form.project_id.data else None
        if _run(lambda: services.book_slot(slot, current_user, topic=form.topic.data, project=project),
                _("Booked. The mentor has been told.")):
            return redirect(url_for("incubation.mentor_session", slot_id=slot.id))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.mentor_detail", profile_id=slot.mentor_profile_id))


@bp.post("/mentor-slots/<int:slot_id>/cancel-booking")
@login_required
def mentor_slot_cancel_booking(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    if EmptyForm().validate_on_submit() and _run(lambda: services.cancel_booking(slot, current_user),
                                                  _("Booking cancelled. The mentor has been told.")):
        return redirect(url_for("incubation.mentor_detail", profile_id=slot.mentor_profile_id))
    return redirect(url_for("incubation.mentor_session", slot_id=slot.id))


@bp.post("/mentor-slots/<int:slot_id>/cancel")
@login_required
def mentor_slot_cancel(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = SlotCancelForm()
    if form.validate_on_submit():
        _run(lambda: services.cancel_slot(slot, current_user, form.reason.data or ""), _("Slot cancelled."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.mentor_me"))


@bp.route("/mentor-slots/<int:slot_id>", methods=["GET", "POST"])
@login_required
def mentor_session(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    is_mentor = slot.mentor_profile.user_id == current_user.id
    notes_form = SessionNotesForm(notes=slot.notes)
    feedback_form = SessionFeedbackForm()
    if request.method == "POST":
        if request.form.get("action") == "notes" and is_mentor and notes_form.validate_on_submit():
            _run(lambda: services.save_session_notes(slot, notes_form.notes.data), _("Notes saved."))
        elif request.form.get("action") == "feedback" and feedback_form.validate_on_submit():
            _run(lambda: services.leave_session_feedback(slot, current_user, feedback_form.rating.data,
                                                         feedback_form.feedback.data), _("Thanks for the feedback."))
        else:
            _form_failed(notes_form if request.form.get("action") == "notes" else feedback_form)
        return redirect(url_for("incubation.mentor_session", slot_id=slot.id))
    return render_template("incubation/mentor_session.html", slot=slot, is_mentor=is_mentor, notes_form=notes_form,
                           feedback_form=feedback_form, over=slot.ends_at <= utcnow(), action_form=EmptyForm(),
                           cancel_form=SlotCancelForm(), can_cancel=services.can_cancel_booking(slot),
                           cutoff_hours=services.cancel_cutoff_hours(), started=slot.starts_at <= utcnow())


# ---- ideas -----------------------------------------------------------------------------------

@bp.get("/ideas/<int:idea_id>")
def idea_detail(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    adopt_form = AdoptPageForm()
    own_projects = [p for p in services.projects_of(current_user) if p.idea_id is None
                    and p.status in OPEN_STATUSES] if current_user.is_authenticated else []
    adopt_form.project_id.choices = [(p.id, p.title) for p in own_projects]
    return render_template("incubation/idea_detail.html", idea=idea, votes=services.vote_count(idea),
                           comments=services.comments_of(idea), projects=services.projects_of_idea(idea),
                           comment_form=CommentForm(), adopt_form=adopt_form, action_form=EmptyForm(),
                           voted=idea.id in services.voted_idea_ids(current_user))


@bp.post("/ideas/<int:idea_id>/comments")
@login_required
def idea_comment(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    form = CommentForm()
    if form.validate_on_submit():
        _run(lambda: services.comment_on_idea(idea, current_user, from_form(NewComment, form)),
             _("Comment posted."))
    else:
        _form_failed(form)
    return redirect(url_for("incubation.idea_detail", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/adopt")
@login_required
def idea_adopt(idea_id: int):
    idea = load(Idea, idea_id, Permission.VIEW)
    form = AdoptPageForm()
    form.project_id.choices = [(p.id, p.title) for p in services.projects_of(current_user)]
    if form.validate_on_submit():
        project = load(Project, form.project_id.data, Permission.EDIT)
        if _run(lambda: services.adopt_idea(idea, project, current_user), _("Idea adopted. Its voters are told.")):
            return _back_to_project(project)
    else:
        _form_failed(form)
    return redirect(url_for("incubation.idea_detail", idea_id=idea.id))
