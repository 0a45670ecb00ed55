"""JSON API of incubation: projects (list, read, create, submit), programs and mentors."""

from flask import abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from incubation import receipts as document_receipts
from incubation import services
from incubation.forms import (
    AdoptForm,
    ApplicationForm,
    AutoAssignForm,
    BookingForm,
    ConflictForm,
    DecisionForm,
    DocumentForm,
    FormerEmploymentForm,
    KpiForm,
    MentorProfileForm,
    MilestoneForm,
    NdaAcceptForm,
    NdaForm,
    ProgramEditForm,
    ProgramForm,
    ProgressForm,
    ProjectForm,
    ProjectPatchForm,
    ReviewerForm,
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
    Application,
    FormerEmployment,
    Idea,
    IncubationMode,
    Kpi,
    MentorProfile,
    MentorSlot,
    Milestone,
    Program,
    Project,
    ProjectDocument,
    ProjectStatus,
    ReviewAssignment,
    SupportRequest,
)
from incubation.policies import transition_permission
from incubation.schemas import CommentOut, IdeaOut, NewComment, NewIdea, VoteOut
from portal.api import (
    api_blueprint,
    doc,
    iso,
    json_body,
    json_bool,
    money,
    paginate,
    paginate_list,
    parse,
    read_body,
    require_login,
)
from portal.auth.models import Role, User
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.organisations.services import role_in
from portal.permissions import Permission, can, load, require_role
from portal.uploads import send_stored

bp = api_blueprint("incubation_api", __name__)


def project_json(project: Project) -> dict:
    return {
        "id": project.id,
        "organisation_id": project.organisation_id,
        "organisation": {"id": project.organisation.id, "name": project.organisation.name},
        "title": project.title,
        "summary": project.summary,
        "description": project.description,
        "problem": project.problem,
        "solution": project.solution,
        "market": project.market,
        "business_model": project.business_model,
        "team": project.team,
        "industry": project.industry,
        "stage": project.stage,
        "mode": project.mode,
        "status": project.status,
        "funding_sought": (money(project.funding_sought_amount, project.currency)
                           if project.funding_sought_amount is not None else None),
        "video_url": project.video_url or None,
        "cover_image_url": (f"/projects/{project.id}/cover" if project.cover_image_id else None),
        "nda_version": project.nda_version or None,
        "idea_id": project.idea_id,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
    }


def program_json(program: Program) -> dict:
    return {
        "id": program.id,
        "organisation_id": program.organisation_id,
        "organisation": {"id": program.organisation.id, "name": program.organisation.name},
        "title": program.title,
        "description": program.description,
        "mode": program.mode,
        "opens_at": iso(program.opens_at),
        "closes_at": iso(program.closes_at),
        "capacity": program.capacity,
        "is_open": program.is_open(),
        "criteria": [{"name": c.name, "weight": c.weight} for c in program.criteria],
        "questions": [{"id": q.id, "text": q.text, "required": q.required} for q in program.questions],
        "blind_review": program.blind_review,
        "published": program.published,
        "credits": (money(program.credit_amount, program.credit_currency) if program.credit_amount else None),
    }


def mentor_json(profile: MentorProfile) -> dict:
    return {
        "id": profile.id,
        "user_id": profile.user_id,
        "name": profile.user.name,
        "bio": profile.bio,
        "expertise": list(profile.expertise or []),
        "industries": list(profile.industries or []),
        "languages": list(profile.languages or []),
        "organisation": profile.organisation or None,
        "rating": profile.rating,
        "ratings": profile.rating_count,
        "free_slots": [{"id": s.id, "start": iso(s.starts_at), "end": iso(s.ends_at)}
                       for s in services.free_slots(profile)],
    }


def _choice_arg(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed.field(name, _("Choose one of: %(choices)s", choices=", ".join(allowed)))
    return value


# ---- projects --------------------------------------------------------------------------------

@bp.get("/projects")
@doc("List projects: every submitted project, plus drafts of your own organisations", auth=False,
     query={"status": "project status", "industry": "exact industry", "mode": "incubation mode",
            "organisation_id": "only this organisation's projects"})
def project_list():
    stmt = services.visible_projects(current_user)
    status = _choice_arg("status", ProjectStatus.ALL)
    mode = _choice_arg("mode", IncubationMode.ALL)
    if status:
        stmt = stmt.where(Project.status == status)
    if mode:
        stmt = stmt.where(Project.mode == mode)
    if request.args.get("industry"):
        stmt = stmt.where(Project.industry == request.args["industry"])
    if request.args.get("organisation_id", "").isdigit():
        stmt = stmt.where(Project.organisation_id == int(request.args["organisation_id"]))
    return jsonify(paginate(stmt.order_by(Project.updated_at.desc(), Project.id.desc()), project_json))


@bp.post("/projects")
@doc("Create a draft project for a startup you are a member of", form=ProjectForm,
     responses={201: "Created with status draft", 403: "Not a member of the organisation"})
def project_create():
    require_login()
    form = parse(ProjectForm)
    organisation = load(Organisation, form.organisation_id.data, Permission.VIEW)
    if not services.can_create_project(current_user, organisation):
        abort(403)
    sought = form.funding_sought.form
    project = services.create_project(
        organisation, current_user, title=form.title.data, summary=form.summary.data, industry=form.industry.data,
        stage=form.stage.data, mode=form.mode.data, funding_sought_amount=sought.amount.data,
        currency=sought.currency.data or "CNY", **form.text_fields())
    return jsonify(project_json(project)), 201


@bp.get("/projects/<int:project_id>")
@doc("One project (drafts only for their organisation's members); its members also get the startup's "
     "open-source resource credits (`resource_credits`: granted, used, available per granting company)", auth=False)
def project_get(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    body = project_json(project)
    if can(current_user, Permission.EDIT, project):
        from resources.api import credit_balance_json
        from resources.bookings import credit_balances

        body["resource_credits"] = [credit_balance_json(b) for b in credit_balances(project.organisation_id)]
    return jsonify(body)


@bp.post("/projects/<int:project_id>/submit")
@doc("Submit a draft (or a project sent back for information) for screening",
     responses={200: "Submitted", 409: "The project cannot be submitted in its current status"})
def project_submit(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    services.submit_project(project, current_user)
    return jsonify(project_json(project))


# ---- programs and mentors --------------------------------------------------------------------

@bp.get("/programs")
@doc("List incubation programs", auth=False, query={"open": "1: only programs open for applications now",
                                                      "organisation_id": "only this company's programs"})
def program_list():
    stmt = services.open_programs_stmt() if request.args.get("open") in ("1", "true") else (
        services.visible_programs_stmt(current_user))
    if request.args.get("organisation_id", "").isdigit():
        stmt = stmt.where(Program.organisation_id == int(request.args["organisation_id"]))
    return jsonify(paginate(stmt, program_json))


@bp.get("/programs/<int:program_id>")
@doc("One incubation program with its review criteria", auth=False)
def program_get(program_id: int):
    return jsonify(program_json(load(Program, program_id, Permission.VIEW)))


@bp.get("/mentors")
@doc("List mentors", auth=False, query={"expertise": "text contained in an expertise",
                                        "language": "language code, e.g. zh or en"})
def mentor_list():
    mentors = services.search_mentors(request.args.get("expertise", ""), request.args.get("language", ""))
    return jsonify(paginate_list(mentors, mentor_json))


@bp.get("/mentors/<int:profile_id>")
@doc("One mentor with their free office-hour slots", auth=False)
def mentor_get(profile_id: int):
    return jsonify(mentor_json(load(MentorProfile, profile_id, Permission.VIEW)))


@bp.patch("/projects/<int:project_id>")
@doc("Change a project's pitch (its startup's members; not after a final decision)", form=ProjectPatchForm,
     responses={200: "Updated", 409: "The project is closed"})
def project_patch(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    data = json_body()
    form = parse(ProjectPatchForm, data)
    services.update_project(project, **form.changes(data))
    return jsonify(project_json(project))


@bp.post("/projects/<int:project_id>/transitions")
@doc("Move a project along its lifecycle: founders submit and withdraw; program managers screen, ask for "
     "information, accept, reject, start incubation and graduate", form=TransitionForm,
     responses={200: "Moved", 409: "Not allowed from the current status"})
def project_transition(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.VIEW)
    form = parse(TransitionForm)
    if not can(current_user, transition_permission(form.status.data), project):
        abort(403)
    services.transition_project(project, form.status.data, actor=current_user, note=form.note.data or "")
    return jsonify(project_json(project))


def event_json(event) -> dict:
    return {"id": event.id, "kind": event.kind, "from": event.from_status, "to": event.to_status,
            "note": event.note, "actor": event.actor.name if event.actor else None, "at": iso(event.created_at)}


@bp.get("/projects/<int:project_id>/timeline")
@doc("The project's timeline: every status change and event, oldest first", auth=False)
def project_timeline(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    return jsonify({"items": [event_json(e) for e in services.timeline(project)]})


# ---- documents and the NDA -------------------------------------------------------------------

def document_json(document: ProjectDocument) -> dict:
    return {"id": document.id, "title": document.title, "confidentiality": document.confidentiality,
            "size": document.stored_file.size, "content_type": document.stored_file.content_type,
            "access": services.document_access(document, current_user),
            "download_url": f"/api/v1/documents/{document.id}/file", "created_at": iso(document.created_at)}


@bp.put("/projects/<int:project_id>/nda")
@doc("Set the project's NDA text; a changed text becomes a new version", form=NdaForm)
def project_nda_set(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = parse(NdaForm)
    services.set_nda_text(project, form.nda_text.data, current_user)
    return jsonify({"version": project.nda_version, "text": project.nda_text})


@bp.get("/projects/<int:project_id>/nda")
@doc("The project's current NDA text and whether you accepted this version", auth=False)
def project_nda_get(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    return jsonify({"version": project.nda_version or None, "text": project.nda_text or None,
                    "accepted": services.has_accepted_nda(project, current_user)})


@bp.post("/projects/<int:project_id>/nda/acceptances")
@doc("Accept the project's current NDA (send the version you read)", form=NdaAcceptForm,
     responses={201: "Accepted", 409: "No NDA, or the text changed since that version"})
def project_nda_accept(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.VIEW)
    form = parse(NdaAcceptForm)
    acceptance = services.accept_nda(project, current_user, form.version.data)
    return jsonify({"version": acceptance.version, "accepted_at": iso(acceptance.accepted_at)}), 201


@bp.get("/projects/<int:project_id>/documents")
@doc("The project's documents with what you need to open each (ok, login or nda)", auth=False)
def project_documents(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    return jsonify({"items": [document_json(d) for d in services.documents_of(project)]})


@bp.post("/projects/<int:project_id>/documents")
@doc("Upload a document (multipart/form-data: title, confidentiality public|registered|nda, file)",
     form=DocumentForm, responses={201: "Stored", 413: "Too large"})
def project_document_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = DocumentForm(formdata=MultiDict(request.form), meta={"csrf": False})
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid"), {k: [str(m) for m in v] for k, v in form.errors.items()})
    document = services.add_document(project, request.files.get("file"), current_user, title=form.title.data,
                                     confidentiality=form.confidentiality.data)
    return jsonify(document_json(document)), 201


def open_document(document: ProjectDocument):
    """Shared by the page and the API: the gate, then the view log, then the file."""
    if document.archived_at is not None:
        abort(404)
    access = services.document_access(document, current_user)
    if access == services.DocumentAccess.LOGIN:
        abort(401)
    if access == services.DocumentAccess.NDA:
        abort(403)
    services.log_document_view(document, current_user)
    return send_stored(document.stored_file)


@bp.get("/documents/<int:document_id>/file")
@doc("Download a document: registered documents need a login, NDA-gated ones the accepted NDA; views are logged",
     auth=False, responses={200: "The file", 403: "Accept the project's NDA first"})
def document_file(document_id: int):
    return open_document(load(ProjectDocument, document_id, Permission.VIEW))


@bp.get("/documents/<int:document_id>/receipt")
@doc("A receipt proving the file existed: its SHA-256, the upload's audit row, the first signed checkpoint "
     "covering it with a Merkle inclusion path (null with status pending until one does) and any RFC 3161 "
     "timestamp; verify offline with `python -m portal.receipts verify` (the project's team)")
def document_receipt(document_id: int):
    document = load(ProjectDocument, document_id, Permission.VIEW)
    if document.archived_at is not None:
        abort(404)
    return jsonify(document_receipts.document_receipt(document, current_user))


@bp.delete("/documents/<int:document_id>")
@doc("Delete (archive) a document: nobody can open it any more; its view log stays (its founders)",
     responses={204: "Archived", 409: "Archived already"})
def document_delete(document_id: int):
    require_login()
    document = load(ProjectDocument, document_id, Permission.EDIT)
    services.archive_document(document, current_user)
    return "", 204


@bp.get("/projects/<int:project_id>/document-views")
@doc("Who viewed the project's confidential documents, newest first (its founders)")
def project_document_views(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    return jsonify({"items": [{"document_id": v.document_id, "document": v.document.title,
                               "user": ({"id": v.user.id, "name": v.user.name, "email": v.user.email}
                                        if v.user else None),
                               "nda_version": v.nda_version, "at": iso(v.viewed_at)}
                              for v in services.document_views(project)]})


# ---- former employees ------------------------------------------------------------------------

def former_employment_json(record: FormerEmployment) -> dict:
    return {"id": record.id, "user_id": record.user_id, "company_id": record.company_id,
            "company": record.company.name, "position": record.position, "years": record.years,
            "verified": record.is_verified, "verified_at": iso(record.verified_at)}


@bp.post("/former-employments")
@doc("Record that you formerly worked for a company; its staff verify it", form=FormerEmploymentForm,
     responses={201: "Recorded, unverified", 409: "Already recorded"})
def former_employment_create():
    require_login()
    form = parse(FormerEmploymentForm)
    company = load(Organisation, form.company_id.data, Permission.VIEW)
    record = services.claim_former_employment(current_user, company, position=form.position.data,
                                              years=form.years.data)
    return jsonify(former_employment_json(record)), 201


@bp.post("/former-employments/<int:record_id>/verify")
@doc("Verify a former-employee record (staff of that company)",
     responses={200: "Verified", 409: "Verified already"})
def former_employment_verify(record_id: int):
    require_login()
    record = load(FormerEmployment, record_id, Permission.MANAGE)
    services.verify_former_employment(record, current_user)
    return jsonify(former_employment_json(record))


# ---- programs, applications, review ----------------------------------------------------------

@bp.post("/programs")
@doc("Create a program (a cohort) of your company; `published: false` saves a draft",
     form=ProgramForm, responses={201: "Created", 403: "Not staff of the organisation",
                                  409: "organisation_unverified: publishing waits until the company is verified"})
def program_create():
    require_login()
    body = json_body()
    published = json_bool(body, "published", default=True)
    body.pop("published", None)
    form = parse(ProgramForm, body)
    organisation = load(Organisation, form.organisation_id.data, Permission.VIEW)
    if not current_user.is_admin and role_in(current_user, organisation.id) is None:
        abort(403)
    program = services.create_program(organisation, **form.program_data(), published=published)
    return jsonify(program_json(program)), 201


@bp.post("/programs/<int:program_id>/publication")
@doc("Publish or withdraw a program (the company's staff); publishing needs a verified company",
     responses={200: "Saved", 409: "organisation_unverified: the company is not verified yet"})
def program_publication(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.EDIT)
    published = json_bool(json_body(), "published")
    return jsonify(program_json(services.set_program_published(program, published, current_user)))


@bp.put("/programs/<int:program_id>")
@doc("Change a program's title, description, window, capacity, criteria and questions (its managers) while "
     "no review has been submitted; omit `criteria` / `questions` to keep them", form=ProgramEditForm,
     responses={200: "Updated", 409: "Reviews were already submitted"})
def program_update(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.EDIT)
    data = json_body()
    form = parse(ProgramEditForm, data)
    services.update_program(program, current_user, **form.program_data(data))
    return jsonify(program_json(program))


def application_json(application: Application, viewer=None, reviews_in_program: bool | None = None) -> dict:
    """Blind (see services.is_blind_for): the id, status and the answers, nothing that names the applicant."""
    viewer = viewer if viewer is not None else current_user
    program = application.program
    manager = can(viewer, Permission.MANAGE, application)
    founder = role_in(viewer, application.project.organisation_id) is not None
    blind = services.is_blind_for(viewer, application, reviews_in_program)
    body = {"id": application.id, "program_id": program.id, "status": application.status, "blind": blind,
            "answers": [{"question": question.text, "answer": answer}
                        for question, answer in services.answered(application)],
            "created_at": iso(application.created_at),
            "feedback": application.feedback or None if (manager or founder) else None,
            "decided_at": iso(application.decided_at)}
    if blind:
        body["title"] = services.application_title(application, blind=True)
    else:
        body["title"] = application.project.title
        body["project_id"] = application.project.id
        body["project"] = project_json(application.project)
    if manager:
        body["reviewers"] = [{"user_id": a.reviewer_id, "name": a.reviewer.name,
                              "conflict": a.conflict_reason or None,
                              "withdrawn": a.withdrawn_at is not None,
                              "review": ({"scores": a.review.scores, "weighted_score": a.review.weighted_score,
                                          "recommendation": a.review.recommendation, "comment": a.review.comment}
                                         if a.review else None)} for a in application.assignments]
    return body


@bp.post("/programs/<int:program_id>/applications")
@doc("Apply with a submitted project of your startup; `answers` maps question ids to text", form=ApplicationForm,
     responses={201: "Applied", 400: "A gate of the program or a required answer", 409: "Closed, or applied already"})
def application_create(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.VIEW)
    data = json_body()
    form = parse(ApplicationForm, data)
    project = load(Project, form.project_id.data, Permission.EDIT)
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        raise ValidationFailed.field("answers", _("Map question ids to answers."))
    application = services.apply_to_program(program, project, current_user, {k: str(v) for k, v in answers.items()})
    return jsonify(application_json(application)), 201


@bp.get("/programs/<int:program_id>/applications")
@doc("The applications to a program (its managers)")
def application_list(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    reviewer = services.blind_program_context(current_user, program)
    return jsonify(paginate_list(services.applications_of_program(program),
                                 lambda a: application_json(a, reviews_in_program=reviewer)))


@bp.get("/applications/<int:application_id>")
@doc("One application (founders, program managers and assigned reviewers; blind review hides the applicant)")
def application_get(application_id: int):
    require_login()
    return jsonify(application_json(load(Application, application_id, Permission.VIEW)))


@bp.get("/programs/<int:program_id>/ranking")
@doc("Applications ranked by per-reviewer z-score normalised weighted scores (program managers)")
def program_ranking(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    reviewer = services.blind_program_context(current_user, program)
    items = []
    for r in services.ranking(program):
        blind = services.is_blind_for(current_user, r.application, reviewer)
        items.append({"application_id": r.application.id,
                      "project_id": None if blind else r.application.project_id,
                      "title": services.application_title(r.application, blind=blind), "blind": blind,
                      "status": r.application.status, "reviews": r.reviews, "average": r.average,
                      "normalised": r.normalised, "recommendations": r.recommendations, "rank": r.rank})
    return jsonify({"items": items})


@bp.post("/programs/<int:program_id>/auto-assign")
@doc("Assign reviewers to every pending application, least-loaded first, skipping conflicts of interest "
     "(`user_ids` is the pool; the company's staff by default). Programs with more than AUTO_ASSIGN_INLINE_MAX "
     "(50) pending applications are assigned in the background: 202, then GET this path for the result",
     form=AutoAssignForm, responses={201: "The new assignments", 202: "Queued: the status",
                                     409: "A background assignment is already running"})
def program_auto_assign(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    data = json_body()
    form = parse(AutoAssignForm, data)
    pool = None
    user_ids = data.get("user_ids")
    if user_ids is not None:
        if not isinstance(user_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                       for i in user_ids):
            raise ValidationFailed.field("user_ids", _("A list of user ids."))
        pool = list(db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)))
        if len(pool) != len(set(user_ids)):
            raise ValidationFailed.field("user_ids", _("No such user."))
    created = services.request_auto_assign(program, form.reviewers_per_application.data, pool, current_user)
    if created is None:
        return jsonify(auto_assign_status_json(services.auto_assign_status(program))), 202
    return jsonify({"items": [{"application_id": a.application_id, "user_id": a.reviewer_id} for a in created]}), 201


def auto_assign_status_json(status: services.AutoAssignStatus) -> dict:
    return {"status": status.state, "at": iso(status.at), "created": status.created, "short": status.short,
            "reviewers_per_application": status.reviewers_per_application, "error": status.error}


@bp.get("/programs/<int:program_id>/auto-assign")
@doc("The latest automatic assignment of the program: none, running (in the background), done (with the number "
     "of new assignments and of applications still short of reviewers) or failed (program managers)")
def program_auto_assign_status(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    return jsonify(auto_assign_status_json(services.auto_assign_status(program)))


@bp.post("/applications/<int:application_id>/reviewers")
@doc("Assign a reviewer (program managers); a conflict of interest is refused", form=ReviewerForm,
     responses={201: "Assigned", 409: "Conflict of interest, or assigned already"})
def application_reviewer_add(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.MANAGE)
    form = parse(ReviewerForm)
    reviewer = db.session.get(User, form.user_id.data)
    if reviewer is None:
        raise ValidationFailed.field("user_id", _("No such user."))
    assignment = services.assign_reviewer(application, reviewer, current_user)
    return jsonify({"application_id": application.id, "user_id": reviewer.id,
                    "assigned_at": iso(assignment.created_at)}), 201


@bp.get("/reviews")
@doc("Your review assignments; in a blind program a pending application shows only as \"Application #id\"")
def review_list():
    require_login()
    assignments = services.reviews_assigned_to(current_user)

    def assignment_json(a: ReviewAssignment) -> dict:
        blind = services.is_blind_for(current_user, a.application, True)
        return {"application_id": a.application_id, "program_id": a.application.program_id,
                "program": a.application.program.title, "blind": blind,
                "title": services.application_title(a.application, blind=blind),
                "project_id": None if blind else a.application.project_id,
                "application_status": a.application.status, "reviewed": a.review is not None,
                "conflict": a.conflict_reason or None, "withdrawn": a.withdrawn_at is not None,
                "assigned_at": iso(a.created_at)}

    return jsonify(paginate_list(assignments, assignment_json))


def _my_assignment(application: Application) -> ReviewAssignment:
    assignment = services.assignment_of(application, current_user)
    if assignment is None:
        abort(403)
    return assignment


@bp.post("/applications/<int:application_id>/reviews")
@doc("Review an application: scores {criterion: 0-5}, recommendation yes|maybe|no (assigned reviewers)",
     form=ReviewForm, responses={201: "Stored", 403: "Not assigned",
                                          409: "Reviewed already, or `conflict_of_interest` (declared, withdrawn, or "
                                               "a conflict found at submit time; nothing is stored)"})
def application_review(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.VIEW)
    assignment = _my_assignment(application)
    data = json_body()
    form = parse(ReviewForm, data)
    review = services.submit_review(assignment, data.get("scores"), form.recommendation.data, form.comment.data)
    return jsonify({"id": review.id, "scores": review.scores, "weighted_score": review.weighted_score,
                    "recommendation": review.recommendation}), 201


@bp.post("/applications/<int:application_id>/conflict")
@doc("Declare a conflict of interest on an application assigned to you", form=ConflictForm,
     responses={409: "Reviewed already, or a conflict declared already"})
def application_conflict(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.VIEW)
    assignment = _my_assignment(application)  # refused before the body is read
    form = parse(ConflictForm)
    services.declare_conflict(assignment, form.reason.data)
    return jsonify({"application_id": application.id, "conflict": True})


@bp.post("/applications/<int:application_id>/decision")
@doc("Accept or reject with feedback shown to the founders (program managers)", form=DecisionForm,
     responses={200: "Decided", 409: "Decided already, or the program is full"})
def application_decision(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.MANAGE)
    form = parse(DecisionForm)
    services.decide(application, form.decision.data, form.feedback.data, current_user)
    return jsonify(application_json(application))


# ---- incubation support ----------------------------------------------------------------------

def support_json(support: SupportRequest) -> dict:
    return {"id": support.id, "project_id": support.project_id, "company_id": support.company_id,
            "stage": support.stage, "title": support.title, "body": support.body, "status": support.status,
            "assignee": support.assignee.name if support.assignee else None, "resolution": support.resolution or None,
            "created_at": iso(support.created_at), "closed_at": iso(support.closed_at)}


@bp.get("/projects/<int:project_id>/progress")
@doc("Milestones, KPIs, progress updates and support requests of an incubating project", auth=False)
def project_progress(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    insider = can(current_user, Permission.EDIT, project)
    body = {
        "milestones": [{"id": m.id, "title": m.title, "due_at": iso(m.due_at), "progress": m.progress,
                        "completed_at": iso(m.completed_at)} for m in services.milestones_of(project)],
        "kpis": [{"id": k.id, "name": k.name, "unit": k.unit, "target": k.target, "current": k.current}
                 for k in services.kpis_of(project)],
        "updates": [{"id": u.id, "body": u.body, "milestone_id": u.milestone_id, "progress": u.progress,
                     "kpi_id": u.kpi_id, "kpi_value": u.kpi_value, "at": iso(u.created_at)}
                    for u in services.progress_updates_of(project)],
    }
    if insider:
        body["support_requests"] = [support_json(s) for s in services.support_requests_of(project)]
    return jsonify(body)


@bp.post("/projects/<int:project_id>/milestones")
@doc("Add a milestone (founders of an accepted or incubating project)", form=MilestoneForm)
def milestone_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = parse(MilestoneForm)
    milestone = services.add_milestone(project, form.title.data, form.due_at.data)
    return jsonify({"id": milestone.id, "title": milestone.title, "due_at": iso(milestone.due_at),
                    "progress": milestone.progress}), 201


@bp.post("/projects/<int:project_id>/kpis")
@doc("Add a KPI with its target (founders of an accepted or incubating project)", form=KpiForm)
def kpi_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = parse(KpiForm)
    kpi = services.add_kpi(project, form.name.data, form.target.data, form.unit.data)
    return jsonify({"id": kpi.id, "name": kpi.name, "unit": kpi.unit, "target": kpi.target,
                    "current": kpi.current}), 201


def milestone_json(milestone: Milestone) -> dict:
    return {"id": milestone.id, "title": milestone.title, "due_at": iso(milestone.due_at),
            "progress": milestone.progress, "completed_at": iso(milestone.completed_at)}


def kpi_json(kpi: Kpi) -> dict:
    return {"id": kpi.id, "name": kpi.name, "unit": kpi.unit, "target": kpi.target, "current": kpi.current}


@bp.put("/milestones/<int:milestone_id>")
@doc("Change a milestone's title and due date (founders of an accepted or incubating project)", form=MilestoneForm)
def milestone_update(milestone_id: int):
    require_login()
    milestone = load(Milestone, milestone_id, Permission.EDIT)
    form = parse(MilestoneForm)
    services.update_milestone(milestone, current_user, title=form.title.data, due_at=form.due_at.data)
    return jsonify(milestone_json(milestone))


@bp.delete("/milestones/<int:milestone_id>")
@doc("Delete a milestone; progress updates that moved it stay (founders)", responses={204: "Deleted"})
def milestone_delete(milestone_id: int):
    require_login()
    services.delete_milestone(load(Milestone, milestone_id, Permission.EDIT), current_user)
    return "", 204


@bp.put("/kpis/<int:kpi_id>")
@doc("Change a KPI's name, unit and target (founders of an accepted or incubating project)", form=KpiForm,
     responses={200: "Updated", 409: "Another KPI has this name"})
def kpi_update(kpi_id: int):
    require_login()
    kpi = load(Kpi, kpi_id, Permission.EDIT)
    form = parse(KpiForm)
    services.update_kpi(kpi, current_user, name=form.name.data, target=form.target.data, unit=form.unit.data)
    return jsonify(kpi_json(kpi))


@bp.delete("/kpis/<int:kpi_id>")
@doc("Delete a KPI; progress updates that moved it stay (founders)", responses={204: "Deleted"})
def kpi_delete(kpi_id: int):
    require_login()
    services.delete_kpi(load(Kpi, kpi_id, Permission.EDIT), current_user)
    return "", 204


@bp.post("/projects/<int:project_id>/progress")
@doc("Post a progress update, optionally moving a milestone (progress %) or a KPI (value)", form=ProgressForm)
def progress_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = parse(ProgressForm)
    milestone = load(Milestone, form.milestone_id.data, Permission.EDIT) if form.milestone_id.data else None
    kpi = load(Kpi, form.kpi_id.data, Permission.EDIT) if form.kpi_id.data else None
    update_row = services.post_progress(project, current_user, form.body.data, milestone=milestone,
                                        progress=form.progress.data, kpi=kpi, kpi_value=form.kpi_value.data)
    return jsonify({"id": update_row.id, "at": iso(update_row.created_at)}), 201


@bp.post("/projects/<int:project_id>/support-requests")
@doc("Ask the anchor company for help at a stage of the chain (rnd, design, manufacturing, sales, logistics, "
     "after_sales)", form=SupportRequestForm, responses={201: "Routed to the company's staff",
                                                          409: "No anchor company yet"})
def support_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = parse(SupportRequestForm)
    support = services.open_support_request(project, current_user, stage=form.stage.data, title=form.title.data,
                                            body=form.body.data)
    return jsonify(support_json(support)), 201


@bp.get("/support-requests")
@doc("Open support requests routed to your companies", query={"all": "1: closed ones too"})
def support_list():
    require_login()
    own = services.member_organisation_ids(current_user)
    items = services.support_requests_for_company(own, open_only=request.args.get("all") not in ("1", "true"))
    return jsonify(paginate_list(items, support_json))


@bp.post("/support-requests/<int:support_id>/status")
@doc("Take a support request (in_progress) or close it with a resolution (the company's staff)",
     form=SupportUpdateForm, responses={200: "Updated", 409: "Not from the current status"})
def support_update(support_id: int):
    require_login()
    support = load(SupportRequest, support_id, Permission.MANAGE)
    form = parse(SupportUpdateForm)
    services.update_support_request(support, current_user, form.status.data, form.resolution.data)
    return jsonify(support_json(support))


# ---- mentors ---------------------------------------------------------------------------------

def slot_json(slot: MentorSlot, private: bool = False) -> dict:
    body = {"id": slot.id, "mentor_id": slot.mentor_profile_id, "start": iso(slot.starts_at), "end": iso(slot.ends_at),
            "booked": slot.booked_by_id is not None}
    if private:
        body.update({"booked_by": slot.booked_by.name if slot.booked_by else None, "topic": slot.topic,
                     "project_id": slot.project_id, "notes": slot.notes or None,
                     "feedback": slot.feedback or None, "rating": slot.rating})
    return body


@bp.put("/mentors/me")
@doc("Create or update your mentor profile (mentor role)", form=MentorProfileForm)
def mentor_me():
    require_login()
    require_role(Role.MENTOR)
    form = parse(MentorProfileForm)
    profile = services.save_mentor_profile(current_user, bio=form.bio.data, expertise=form.expertise.data,
                                           industries=form.industries.data, languages=form.languages.data,
                                           organisation=form.organisation.data or "")
    return jsonify(mentor_json(profile))


@bp.post("/mentors/me/slots")
@doc("Offer an office-hour slot", form=SlotForm, responses={201: "Created", 409: "Overlaps another slot",
                                                            404: "Create your mentor profile first"})
def mentor_slot_create():
    require_login()
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    form = parse(SlotForm)
    slot = services.add_slot(profile, form.start.data, form.end.data)
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/book")
@doc("Book a free slot; a slot is never taken twice, also under concurrent requests", form=BookingForm,
     responses={201: "Booked", 409: "Taken already or in the past"})
def mentor_slot_book(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.VIEW)
    form = parse(BookingForm)
    project = load(Project, form.project_id.data, Permission.EDIT) if form.project_id.data else None
    services.book_slot(slot, current_user, topic=form.topic.data, project=project)
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/cancel-booking")
@doc("Cancel your booking up to the cut-off (MENTOR_CANCEL_CUTOFF_HOURS, 12 h) before the session; the slot "
     "frees and the mentor is mailed (the founder who booked)",
     responses={200: "Cancelled; the free slot", 409: "Too late, or not your booking"})
def mentor_slot_cancel_booking(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    services.cancel_booking(slot, current_user)
    return jsonify(slot_json(slot))


@bp.delete("/mentor-slots/<int:slot_id>")
@doc("Cancel an office-hour slot that has not started (the mentor); a founder who booked it is mailed, with "
     "the optional `reason`", form=SlotCancelForm, responses={204: "Cancelled", 409: "Already started"})
def mentor_slot_cancel(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = parse(SlotCancelForm)
    services.cancel_slot(slot, current_user, form.reason.data or "")
    return "", 204


@bp.post("/mentor-slots/<int:slot_id>/notes")
@doc("The mentor's notes on a booked session", form=SessionNotesForm)
def mentor_slot_notes(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = parse(SessionNotesForm)
    services.save_session_notes(slot, form.notes.data)
    return jsonify(slot_json(slot, private=True))


@bp.post("/mentor-slots/<int:slot_id>/feedback")
@doc("Rate a session (1-5) after it took place (the founder who booked it)", form=SessionFeedbackForm,
     responses={201: "Rated", 409: "Not yet over, or rated already"})
def mentor_slot_feedback(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    form = parse(SessionFeedbackForm)
    services.leave_session_feedback(slot, current_user, form.rating.data, form.feedback.data)
    return jsonify(slot_json(slot, private=True)), 201


# ---- ideas -----------------------------------------------------------------------------------

def idea_json(idea: Idea, votes: int | None = None, with_comments: bool = False) -> dict:
    body = {"id": idea.id, "title": idea.title, "description": idea.description,
            "author": idea.author.name if idea.author else None,
            "votes": services.vote_count(idea) if votes is None else votes,
            "projects": [{"id": p.id, "title": p.title} for p in services.projects_of_idea(idea)],
            "created_at": iso(idea.created_at)}
    if with_comments:
        body["comments"] = [{"id": c.id, "author": c.author.name if c.author else None, "body": c.body,
                             "at": iso(c.created_at)} for c in services.comments_of(idea)]
    return body


@bp.get("/ideas")
@doc("Ideas, most voted first", auth=False, response=IdeaOut)
def idea_list():
    return jsonify(paginate_list(services.ideas_with_votes(), lambda row: idea_json(row[0], row[1])))


@bp.get("/ideas/<int:idea_id>")
@doc("One idea with its comments and the projects that build it", auth=False, response=IdeaOut)
def idea_get(idea_id: int):
    return jsonify(idea_json(load(Idea, idea_id, Permission.VIEW), with_comments=True))


@bp.post("/ideas")
@doc("Post a product idea or need", body=NewIdea, response=IdeaOut)
def idea_create():
    require_login()
    idea = services.create_idea(current_user, read_body(NewIdea))
    return jsonify(idea_json(idea)), 201


@bp.post("/ideas/<int:idea_id>/votes")
@doc("Vote for an idea, once per user", responses={201: "Counted", 409: "Voted already"}, response=VoteOut)
def idea_vote(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    services.vote_for_idea(idea, current_user)
    return jsonify({"idea_id": idea.id, "votes": services.vote_count(idea)}), 201


@bp.post("/ideas/<int:idea_id>/comments")
@doc("Comment on an idea", body=NewComment, response=CommentOut)
def idea_comment(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    comment = services.comment_on_idea(idea, current_user, read_body(NewComment))
    return jsonify({"id": comment.id, "body": comment.body, "at": iso(comment.created_at)}), 201


@bp.post("/ideas/<int:idea_id>/adoptions")
@doc("Adopt the idea into a project of your startup; the voters are notified", form=AdoptForm,
     responses={201: "Adopted", 409: "The project already builds an idea"})
def idea_adopt(idea_id: int):
    require_login()
    idea = load(Idea, idea_id, Permission.VIEW)
    form = parse(AdoptForm)
    project = load(Project, form.project_id.data, Permission.EDIT)
    services.adopt_idea(idea, project, current_user)
    return jsonify(project_json(project)), 201
