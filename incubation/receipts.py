"""Receipts for project documents: proof that a file existed when an audit checkpoint was signed.

One rule for the page and the API: the person must be able to open the document
(`services.document_access`) and belong to the project's team (or be an admin). The second
condition is because the receipt carries the upload's audit row word for word (the hash covers
it), and that row names the uploader's account and network address.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from incubation import services
from incubation.models import ProjectDocument
from portal import checkpoints
from portal.audit import AuditEvent
from portal.auth.models import User
from portal.errors import Conflict, Forbidden, Unauthorized
from portal.extensions import db
from portal.permissions import Permission, can
from portal.receipts import UPLOAD_ACTION


def upload_events(documents: list[ProjectDocument]) -> dict[int, AuditEvent]:
    """The audit row that recorded each document's upload, by document id."""
    if not documents:
        return {}
    ids = {str(d.id): d.id for d in documents}
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == UPLOAD_ACTION, AuditEvent.object_type == ProjectDocument.__name__,
        AuditEvent.object_id.in_(list(ids))).order_by(AuditEvent.id))
    found: dict[int, AuditEvent] = {}
    for row in rows:
        found.setdefault(ids[row.object_id], row)
    return found


def may_download_receipt(document: ProjectDocument, user: User | None) -> bool:
    return (services.document_access(document, user) == services.DocumentAccess.OK
            and can(user, Permission.EDIT, document))


def receipt_states(documents: list[ProjectDocument], user: User | None) -> dict[int, str]:
    """For the documents whose receipt `user` may download: "anchored" once a signed checkpoint covers
    the upload, "pending" before."""
    allowed = [d for d in documents if may_download_receipt(d, user)]
    events = upload_events(allowed)
    covered = checkpoints.covered_event_ids([e.id for e in events.values()])
    return {d.id: "anchored" if d.id in events and events[d.id].id in covered else "pending" for d in allowed}


def document_receipt(document: ProjectDocument, user: User | None) -> dict:
    """The receipt of `document` as a JSON-ready dict (see portal.receipts for what it proves)."""
    if user is None or not user.is_authenticated:
        raise Unauthorized(_("Log in to download the receipt."))
    if not may_download_receipt(document, user):
        raise Forbidden(_("Only the project's team can download a document's receipt: it names the uploader."))
    event = upload_events([document]).get(document.id)
    stored = document.stored_file
    if event is None or (event.after or {}).get("sha256") != stored.sha256:
        raise Conflict(_("This document's upload was recorded without its file hash, so no receipt can prove it."))
    subject = {"id": document.id, "title": document.title, "project_id": document.project_id,
               "file_name": stored.original_name, "size": stored.size, "content_type": stored.content_type}
    return checkpoints.upload_receipt(event, stored.sha256, subject)
