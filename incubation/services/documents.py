"""Project documents: cover image, documents, the NDA, the document view log, former employment."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from incubation.models import (
    Confidentiality,
    DocumentView,
    FormerEmployment,
    NdaAcceptance,
    Project,
    ProjectDocument,
)
from incubation.schemas.documents import NewDocument
from incubation.schemas.projects import FormerEmploymentClaim, NdaAccept, NdaText
from incubation.services.people import authenticated, client_ip
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation, OrganisationKind
from portal.organisations.services import role_in
from portal.uploads import DOCUMENTS, IMAGES, store_upload

# ---- cover image, documents and the NDA ------------------------------------------------------

COVER_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


def set_cover_image(project: Project, file: FileStorage | None, user: User) -> Project:
    stored = store_upload(file, field="cover_image", kinds=IMAGES, max_bytes=COVER_MAX_BYTES,
                          uploaded_by_id=user.id)
    project.cover_image_id = stored.id
    db.session.flush()
    return project


def add_document(project: Project, file: FileStorage | None, user: User, command: NewDocument) -> ProjectDocument:
    """Store an uploaded document of the project; an NDA-gated one needs the project's NDA text first."""
    if command.confidentiality == Confidentiality.NDA and not project.nda_version:
        raise ValidationFailed.field("confidentiality", _("Write the project's NDA text before adding NDA-gated documents."))
    stored = store_upload(file, field="file", kinds=DOCUMENTS, max_bytes=DOCUMENT_MAX_BYTES, uploaded_by_id=user.id)
    document = ProjectDocument(project_id=project.id, stored_file_id=stored.id, title=command.title,
                               confidentiality=command.confidentiality, uploaded_by_id=user.id)
    db.session.add(document)
    db.session.flush()
    audit.record("project_document.added", document, after={"project_id": project.id,
                                                            "confidentiality": command.confidentiality,
                                                            "sha256": stored.sha256}, actor_id=user.id)
    return document


def archive_document(document: ProjectDocument, user: User) -> ProjectDocument:
    """Take a document off the project; nobody can open it any more, but its view log stays for the founders."""
    if document.archived_at is not None:
        raise Conflict(_("This document is already deleted."), {"document": [str(document.id)]})
    document.archived_at = utcnow()
    db.session.flush()
    audit.record("project_document.archived", document, after={"project_id": document.project_id,
                                                               "title": document.title}, actor_id=user.id)
    return document


def set_nda_text(project: Project, command: NdaText, user: User) -> Project:
    """A changed text is a new version: earlier acceptances no longer open NDA-gated documents."""
    text = command.nda_text
    if text != project.nda_text:
        project.nda_text = text
        project.nda_version = (project.nda_version or 0) + 1
        db.session.flush()
        audit.record("project.nda_changed", project, after={"version": project.nda_version,
                                                           "sha256": _sha256(text)}, actor_id=user.id)
    return project


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def has_accepted_nda(project: Project, user: User | None) -> bool:
    if not authenticated(user) or not project.nda_version:
        return False
    return db.session.scalar(select(NdaAcceptance.id).where(
        NdaAcceptance.project_id == project.id, NdaAcceptance.user_id == user.id,
        NdaAcceptance.version == project.nda_version)) is not None


def accept_nda(project: Project, user: User, command: NdaAccept) -> NdaAcceptance:
    """Record that `user` accepts the current NDA. A stale `version` (the text changed meanwhile) is a 409."""
    version = command.version
    if not project.nda_version:
        raise Conflict(_("This project has no NDA to accept."))
    if version is not None and version != project.nda_version:
        raise Conflict(_("The NDA changed since you read it. Read the new version."),
                       {"version": [str(project.nda_version)]})
    existing = db.session.scalar(select(NdaAcceptance).where(
        NdaAcceptance.project_id == project.id, NdaAcceptance.user_id == user.id,
        NdaAcceptance.version == project.nda_version))
    if existing is not None:
        return existing
    acceptance = NdaAcceptance(project_id=project.id, user_id=user.id, version=project.nda_version,
                               text_sha256=_sha256(project.nda_text), ip=client_ip())
    db.session.add(acceptance)
    db.session.flush()
    audit.record("project.nda_accepted", project, after={"version": acceptance.version}, actor_id=user.id)
    return acceptance


class DocumentAccess:
    OK = "ok"
    LOGIN = "login"
    NDA = "nda"


def document_access(document: ProjectDocument, user: User | None) -> str:
    """What stands between `user` and the file (the project itself is already visible to them)."""
    if document.confidentiality == Confidentiality.PUBLIC:
        return DocumentAccess.OK
    if not authenticated(user):
        return DocumentAccess.LOGIN
    if user.is_admin or role_in(user, document.project.organisation_id) is not None:
        return DocumentAccess.OK
    if document.confidentiality == Confidentiality.NDA and not has_accepted_nda(document.project, user):
        return DocumentAccess.NDA
    return DocumentAccess.OK


def log_document_view(document: ProjectDocument, user: User | None) -> DocumentView | None:
    """Every view of a gated (non-public) document is logged for the founders."""
    if document.confidentiality == Confidentiality.PUBLIC:
        return None
    view = DocumentView(document_id=document.id, user_id=user.id if authenticated(user) else None,
                        nda_version=document.project.nda_version if document.confidentiality == Confidentiality.NDA
                        else None, ip=client_ip())
    db.session.add(view)
    db.session.flush()
    return view


def documents_of(project: Project) -> list[ProjectDocument]:
    return list(db.session.scalars(select(ProjectDocument).where(ProjectDocument.project_id == project.id,
                                                                 ProjectDocument.archived_at.is_(None))
                                   .order_by(ProjectDocument.created_at, ProjectDocument.id)))


def document_views(project: Project, limit: int = 200) -> list[DocumentView]:
    return list(db.session.scalars(select(DocumentView).join(ProjectDocument)
                                   .where(ProjectDocument.project_id == project.id)
                                   .order_by(DocumentView.viewed_at.desc(), DocumentView.id.desc()).limit(limit)))


# ---- former employees ------------------------------------------------------------------------

def claim_former_employment(user: User, company: Organisation, command: FormerEmploymentClaim) -> FormerEmployment:
    if company.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("company_id", _("Former employers are anchor companies."))
    if db.session.scalar(select(FormerEmployment.id).where(FormerEmployment.user_id == user.id,
                                                           FormerEmployment.company_id == company.id)):
        raise Conflict(_("You already recorded this employer."), {"company_id": [str(company.id)]})
    record = FormerEmployment(user_id=user.id, company_id=company.id, position=command.position,
                              years=command.years)
    db.session.add(record)
    db.session.flush()
    audit.record("former_employment.claimed", record, after={"company_id": company.id}, actor_id=user.id)
    return record


def verify_former_employment(record: FormerEmployment, verifier: User) -> FormerEmployment:
    """Company staff confirm the record (the caller checked they are staff of `record.company`)."""
    if record.verified_at is not None:
        raise Conflict(_("This record is already verified."))
    record.verified_at = utcnow()
    record.verified_by_id = verifier.id
    db.session.flush()
    audit.record("former_employment.verified", record, after={"company_id": record.company_id,
                                                             "user_id": record.user_id}, actor_id=verifier.id)
    return record


def former_employers(user_ids: Iterable[int], verified_only: bool = False) -> dict[int, set[int]]:
    """user id -> ids of companies they formerly worked for."""
    ids = list(user_ids)
    if not ids:
        return {}
    stmt = select(FormerEmployment.user_id, FormerEmployment.company_id).where(FormerEmployment.user_id.in_(ids))
    if verified_only:
        stmt = stmt.where(FormerEmployment.verified_at.is_not(None))
    out: dict[int, set[int]] = {}
    for user_id, company_id in db.session.execute(stmt):
        out.setdefault(user_id, set()).add(company_id)
    return out
