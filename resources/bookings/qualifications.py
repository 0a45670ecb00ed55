"""Qualifications and training requests for resources that need them."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.urls import external_url
from resources.bookings.mail import _mail_staff, mail_user
from resources.bookings.rules import is_qualified
from resources.models import Qualification, Resource, TrainingRequest

# ---- qualifications and training --------------------------------------------------------------

def grant_qualification(resource: Resource, user: User, expires_at: datetime | None, actor: User) -> Qualification:
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.resource_id == resource.id, Qualification.user_id == user.id))
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed.field("expires_at", _("The expiry must be in the future."))
    if qualification is None:
        qualification = Qualification(resource_id=resource.id, user_id=user.id)
        db.session.add(qualification)
    qualification.granted_by_id, qualification.granted_at, qualification.expires_at = actor.id, utcnow(), expires_at
    for request in db.session.scalars(select(TrainingRequest).where(
            TrainingRequest.resource_id == resource.id, TrainingRequest.user_id == user.id,
            TrainingRequest.status == "open")):
        request.status = "granted"
    db.session.flush()
    audit.record("resource.qualification_granted", qualification, actor_id=actor.id, after={
        "resource_id": resource.id, "user_id": user.id,
        "expires_at": expires_at.isoformat() if expires_at else None})
    mail_user(user, _l("You are qualified for %(name)s", name=resource.name),
              _l("You may now book %(name)s: %(url)s", name=resource.name,
                 url=external_url("resources.detail", resource_id=resource.id)))
    return qualification


def request_training(resource: Resource, user: User, message: str) -> TrainingRequest:
    if not resource.requires_qualification:
        raise ValidationFailed.field("resource", _("This resource needs no qualification."))
    if is_qualified(resource, user, utcnow()):
        raise Conflict(_("You are already qualified."), {"resource": [_("already qualified")]})
    existing = db.session.scalar(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.user_id == user.id,
        TrainingRequest.status == "open"))
    if existing is not None:
        raise Conflict(_("You already asked for a training."), {"resource": [_("already requested")]})
    request = TrainingRequest(resource_id=resource.id, user_id=user.id, message=(message or "")[:2000])
    db.session.add(request)
    db.session.flush()
    _mail_staff(resource, _l("Training request for %(name)s", name=resource.name),
                _l("%(who)s asks for a training on %(name)s: %(message)s", who=user.name, name=resource.name,
                   message=request.message))
    return request


def decline_training(request: TrainingRequest, actor: User, reason: str) -> TrainingRequest:
    """Staff decline a training request with a reason, mailed to the requester in their language."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", _("Give a reason (the requester is told)."))
    if request.status != "open":
        raise Conflict(_("This training request is no longer open."), {"status": [request.status]})
    request.status = "declined"
    db.session.flush()
    audit.record("resource.training_declined", request, actor_id=actor.id,
                 before={"status": "open"}, after={"status": "declined", "reason": reason[:2000],
                                                   "resource_id": request.resource_id, "user_id": request.user_id})
    resource = db.session.get(Resource, request.resource_id)
    mail_user(request.user, _l("Your training request for %(name)s was declined", name=resource.name),
              _l("The company declined your training request: %(reason)s\n%(url)s", reason=reason[:2000],
                 url=external_url("resources.detail", resource_id=resource.id)))
    return request
