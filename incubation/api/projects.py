"""JSON API of incubation: projects."""

from flask import abort, jsonify, request
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from incubation import receipts as document_receipts
from incubation import services
from incubation.api.common import bp, project_json
from incubation.forms import DocumentForm
from incubation.models import FormerEmployment, Project, ProjectDocument
from incubation.policies import transition_permission
from incubation.schemas.documents import (
    DocumentOut,
    DocumentViewOut,
    NdaAcceptanceOut,
    NdaOut,
    NewDocument,
)
from incubation.schemas.projects import (
    EventOut,
    FormerEmploymentClaim,
    FormerEmploymentOut,
    NdaAccept,
    NdaText,
    NewProject,
    ProjectOut,
    ProjectPatch,
    ProjectQuery,
    Transition,
)
from portal.api import doc, iso, paginate, raise_form_errors, read_body, read_query, require_login
from portal.organisations.models import Organisation
from portal.permissions import Permission, can, load
from portal.schemas import from_form
from portal.transparency import ReceiptOut
from portal.uploads import send_stored

# ---- projects --------------------------------------------------------------------------------

@bp.get("/projects")
@doc("List projects: every submitted project, plus drafts of your own organisations", auth=False,
     query=ProjectQuery, response=ProjectOut)
def project_list():
    args = read_query(ProjectQuery)
    stmt = services.visible_projects(current_user)
    if args.status:
        stmt = stmt.where(Project.status == args.status)
    if args.mode:
        stmt = stmt.where(Project.mode == args.mode)
    if args.industry:
        stmt = stmt.where(Project.industry == args.industry)
    if args.organisation_id is not None:
        stmt = stmt.where(Project.organisation_id == args.organisation_id)
    return jsonify(paginate(stmt.options(selectinload(Project.organisation))
                            .order_by(Project.updated_at.desc(), Project.id.desc()), project_json))


@bp.post("/projects")
@doc("Create a draft project for a startup you are a member of", body=NewProject, response=ProjectOut,
     responses={201: "Created with status draft", 403: "Not a member of the organisation"})
def project_create():
    require_login()
    command = read_body(NewProject)
    organisation = load(Organisation, command.organisation_id, Permission.VIEW)
    if not services.can_create_project(current_user, organisation):
        abort(403)
    project = services.create_project(organisation, current_user, command)
    return jsonify(project_json(project)), 201


@bp.get("/projects/<int:project_id>")
@doc("One project (drafts only for their organisation's members); its members also get the startup's "
     "open-source resource credits (`resource_credits`: granted, used, available per granting company)", auth=False,
     response=ProjectOut)
def project_get(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    body = project_json(project)
    if can(current_user, Permission.EDIT, project):
        from resources.api.reports import credit_balance_json
        from resources.bookings import credit_balances

        body["resource_credits"] = [credit_balance_json(b) for b in credit_balances(project.organisation_id)]
    return jsonify(body)


@bp.post("/projects/<int:project_id>/submit")
@doc("Submit a draft (or a project sent back for information) for screening", response=ProjectOut,
     responses={200: "Submitted", 409: "The project cannot be submitted in its current status"})
def project_submit(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    services.submit_project(project, current_user)
    return jsonify(project_json(project))


@bp.patch("/projects/<int:project_id>")
@doc("Change a project's pitch (its startup's members; not after a final decision): only the fields sent",
     body=ProjectPatch, response=ProjectOut, responses={200: "Updated", 409: "The project is closed"})
def project_patch(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    services.update_project(project, read_body(ProjectPatch))
    return jsonify(project_json(project))


@bp.post("/projects/<int:project_id>/transitions")
@doc("Move a project along its lifecycle: founders submit and withdraw; program managers screen, ask for "
     "information, accept, reject, start incubation and graduate", body=Transition, response=ProjectOut,
     responses={200: "Moved", 409: "Not allowed from the current status"})
def project_transition(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.VIEW)
    command = read_body(Transition)
    if not can(current_user, transition_permission(command.status), project):
        abort(403)
    services.transition_project(project, command.status, actor=current_user, note=command.note)
    return jsonify(project_json(project))


def event_json(event) -> dict:
    return {"id": event.id, "kind": event.kind, "from": event.from_status, "to": event.to_status,
            "note": event.note, "actor": event.actor.name if event.actor else None, "at": iso(event.created_at)}


@bp.get("/projects/<int:project_id>/timeline")
@doc("The project's timeline: every status change and event, oldest first", auth=False, response=EventOut)
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
@doc("Set the project's NDA text; a changed text becomes a new version", body=NdaText, response=NdaOut)
def project_nda_set(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    services.set_nda_text(project, read_body(NdaText), current_user)
    return jsonify({"version": project.nda_version, "text": project.nda_text})


@bp.get("/projects/<int:project_id>/nda")
@doc("The project's current NDA text and whether you accepted this version", auth=False, response=NdaOut)
def project_nda_get(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    return jsonify({"version": project.nda_version or None, "text": project.nda_text or None,
                    "accepted": services.has_accepted_nda(project, current_user)})


@bp.post("/projects/<int:project_id>/nda/acceptances")
@doc("Accept the project's current NDA (send the version you read)", body=NdaAccept, response=NdaAcceptanceOut,
     responses={201: "Accepted", 409: "No NDA, or the text changed since that version"})
def project_nda_accept(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.VIEW)
    acceptance = services.accept_nda(project, current_user, read_body(NdaAccept))
    return jsonify({"version": acceptance.version, "accepted_at": iso(acceptance.accepted_at)}), 201


@bp.get("/projects/<int:project_id>/documents")
@doc("The project's documents with what you need to open each (ok, login or nda)", auth=False,
     response=DocumentOut)
def project_documents(project_id: int):
    project = load(Project, project_id, Permission.VIEW)
    return jsonify({"items": [document_json(d) for d in services.documents_of(project)]})


@bp.post("/projects/<int:project_id>/documents")
@doc("Upload a document (multipart/form-data: title, confidentiality public|registered|nda, file)",
     form=DocumentForm, response=DocumentOut, responses={201: "Stored", 413: "Too large"})
def project_document_create(project_id: int):
    require_login()
    project = load(Project, project_id, Permission.EDIT)
    form = DocumentForm(formdata=MultiDict(request.form), meta={"csrf": False})
    if not form.validate():
        raise_form_errors(form)
    document = services.add_document(project, request.files.get("file"), current_user, from_form(NewDocument, form))
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
     "timestamp; verify offline with `python -m portal.receipts verify` (the project's team)",
     response=ReceiptOut)
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
@doc("Who viewed the project's confidential documents, newest first (its founders)", response=DocumentViewOut)
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
@doc("Record that you formerly worked for a company; its staff verify it", body=FormerEmploymentClaim,
     response=FormerEmploymentOut, responses={201: "Recorded, unverified", 409: "Already recorded"})
def former_employment_create():
    require_login()
    command = read_body(FormerEmploymentClaim)
    company = load(Organisation, command.company_id, Permission.VIEW)
    record = services.claim_former_employment(current_user, company, command)
    return jsonify(former_employment_json(record)), 201


@bp.post("/former-employments/<int:record_id>/verify")
@doc("Verify a former-employee record (staff of that company)", response=FormerEmploymentOut,
     responses={200: "Verified", 409: "Verified already"})
def former_employment_verify(record_id: int):
    require_login()
    record = load(FormerEmployment, record_id, Permission.MANAGE)
    services.verify_former_employment(record, current_user)
    return jsonify(former_employment_json(record))
