"""HTML pages of incubation: projects."""

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incubation import receipts as document_receipts
from incubation import services
from incubation.forms import (
    STATUS_LABELS,
    CoverForm,
    DocumentForm,
    FormerEmploymentPageForm,
    KpiForm,
    MilestoneForm,
    NdaAcceptForm,
    NdaForm,
    ProgressForm,
    ProjectFilterForm,
    ProjectPageForm,
    SupportRequestForm,
    TransitionForm,
)
from incubation.models import (
    SUBMITTABLE_PROJECT_STATUSES,
    FormerEmployment,
    Program,
    Project,
    ProjectDocument,
    ProjectStatus,
)
from incubation.policies import transition_permission
from incubation.schemas.documents import NewDocument
from incubation.schemas.projects import (
    FormerEmploymentClaim,
    NdaAccept,
    NdaText,
    NewProject,
    ProjectPatch,
    Transition,
)
from incubation.views.common import PER_PAGE, back_to_project, bp, form_failed, run_action
from portal import images
from portal.auth.forms import EmptyForm
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_errors
from portal.organisations.models import Organisation, OrganisationKind
from portal.organisations.services import organisations_of
from portal.permissions import Permission, can, load
from portal.schemas import from_form
from portal.uploads import send_stored

# ---- projects --------------------------------------------------------------------------------

def funding_sought(form: ProjectPageForm) -> dict | None:
    """The page's amount (major units, e.g. yuan) as `{amount, currency}` in minor units, or None."""
    if form.funding_sought_amount.data is None:
        return None
    scale = Decimal(10) ** get_currency_precision(form.currency.data)
    return {"amount": int((form.funding_sought_amount.data * scale).to_integral_value()),
            "currency": form.currency.data}


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
    # Organisations, covers and logos come with the page (selectin): the same queries for 3 cards or 24.
    page = db.paginate(stmt.options(selectinload(Project.organisation))
                       .order_by(Project.updated_at.desc(), Project.id.desc()), per_page=PER_PAGE, error_out=False)
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
        try:
            project = services.create_project(organisation, current_user,
                                              from_form(NewProject, form, funding_sought=funding_sought(form)))
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
        can_submit=can_edit and project.status in SUBMITTABLE_PROJECT_STATUSES, action_form=EmptyForm(),
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
        if run_action(lambda: services.update_project(
                project, from_form(ProjectPatch, form, funding_sought=funding_sought(form))),
                _("Project saved."), form):
            return back_to_project(project)
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
        command = from_form(Transition, form)
        run_action(lambda: services.transition_project(project, target, actor=current_user, note=command.note),
             _("The project is now %(status)s.", status=STATUS_LABELS.get(target, target)))
    else:
        form_failed(form)
    return back_to_project(project, "timeline")


@bp.post("/projects/<int:project_id>/cover")
@login_required
def project_cover_upload(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = CoverForm()
    if form.validate_on_submit():
        run_action(lambda: services.set_cover_image(project, request.files.get("cover_image"), current_user),
             _("Cover image saved."))
    return back_to_project(project)


@bp.post("/projects/<int:project_id>/logo")
@login_required
def project_logo_upload(project_id: int):
    """Upload (or remove) the project's logo, shown on the project cards and its page."""
    project = load(Project, project_id, Permission.EDIT)
    if not CoverForm().validate_on_submit():
        abort(400)
    images.replace_from_form(project, "logo_id", field="logo", label=_("Logo"), action="project.logo_set",
                             saved=_("Logo saved."), removed=_("Logo removed."))
    return back_to_project(project, "project-logo")


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
        run_action(lambda: services.set_nda_text(project, from_form(NdaText, form), current_user), _("NDA saved."))
    else:
        form_failed(form)
    return back_to_project(project, "documents")


@bp.route("/projects/<int:project_id>/nda/accept", methods=["GET", "POST"])
@login_required
def project_nda_accept(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    if not project.nda_version:
        abort(404)
    form = NdaAcceptForm()
    if form.validate_on_submit():
        if run_action(lambda: services.accept_nda(project, current_user, from_form(NdaAccept, form)),
                      _("NDA accepted.")):
            target = request.args.get("document")
            if target and target.isdigit():
                return redirect(url_for("incubation.document_open", document_id=int(target)))
            return back_to_project(project, "documents")
    return render_template("incubation/nda.html", project=project, form=form,
                           accepted=services.has_accepted_nda(project, current_user))


@bp.post("/projects/<int:project_id>/documents")
@login_required
def project_document_upload(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    form = DocumentForm()
    if form.validate_on_submit():
        run_action(lambda: services.add_document(project, request.files.get("file"), current_user,
                                                 from_form(NewDocument, form)), _("Document stored."))
    else:
        form_failed(form)
    return back_to_project(project, "documents")


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
        return back_to_project(document.project, "documents")
    response = jsonify(receipt)
    response.headers["Content-Disposition"] = f"attachment; filename=receipt-document-{document.id}.json"
    return response


@bp.post("/documents/<int:document_id>/delete")
@login_required
def document_delete(document_id: int):
    document = load(ProjectDocument, document_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        run_action(lambda: services.archive_document(document, current_user),
             _("Document deleted. Its view log stays."))
    return back_to_project(document.project, "documents")


@bp.get("/projects/<int:project_id>/document-views")
@login_required
def project_document_views(project_id: int):
    project = load(Project, project_id, Permission.EDIT)
    return render_template("incubation/document_views.html", project=project, views=services.document_views(project))


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
        if run_action(lambda: services.claim_former_employment(current_user, company,
                                                               from_form(FormerEmploymentClaim, form)),
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
        run_action(lambda: services.verify_former_employment(record, current_user), _("Former employee verified."))
    return redirect(url_for("incubation.former_employment_index"))
