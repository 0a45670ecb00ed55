"""Qualifications and training requests for resources that need them."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.urls import external_url
from resources import availability
from resources.bookings.mail import mail_staff
from resources.bookings.rules import is_qualified
from resources.models import Qualification, Resource, TrainingRequest
from resources.schemas import DeclineTraining, NewQualification, TrainingRequestIn

# ---- qualifications and training --------------------------------------------------------------

def grant_qualification(resource: Resource, cmd: NewQualification, actor: User) -> Qualification:
    """Qualify the user with that email on `resource`, until the end of `expires_on` (local date) if given."""
    from portal.auth.services import get_user_by_email

    user = get_user_by_email(cmd.email)
    if user is None:
        raise ValidationFailed.field("email", _("No account with this email."))
    expires_at = None
    if cmd.expires_on is not None:
        expires_at = availability.local_to_utc(cmd.expires_on + timedelta(days=1), time(0),
                                               ZoneInfo(resource.timezone))
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
    subject = _l("You are qualified for %(name)s", name=resource.name)
    body = _l("You may now book %(name)s: %(url)s", name=resource.name,
              url=external_url("resources.detail", resource_id=resource.id))
    send_to_user(user, lambda: (str(subject), str(body)), kind="resource.training")
    return qualification


def request_training(resource: Resource, user: User, cmd: TrainingRequestIn) -> TrainingRequest:
    if not resource.requires_qualification:
        raise ValidationFailed.field("resource", _("This resource needs no qualification."))
    if is_qualified(resource, user, utcnow()):
        raise Conflict(_("You are already qualified."), {"resource": [_("already qualified")]})
    existing = db.session.scalar(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.user_id == user.id,
        TrainingRequest.status == "open"))
    if existing is not None:
        raise Conflict(_("You already asked for a training."), {"resource": [_("already requested")]})
    request = TrainingRequest(resource_id=resource.id, user_id=user.id, message=cmd.message)
    db.session.add(request)
    db.session.flush()
    mail_staff(resource, _l("Training request for %(name)s", name=resource.name),
                _l("%(who)s asks for a training on %(name)s: %(message)s", who=user.name, name=resource.name,
                   message=request.message), kind="resource.training")
    return request


def decline_training(request: TrainingRequest, actor: User, cmd: DeclineTraining) -> TrainingRequest:
    """Staff decline a training request with a reason, mailed to the requester in their language."""
    reason = cmd.reason
    if request.status != "open":
        raise Conflict(_("This training request is no longer open."), {"status": [request.status]})
    request.status = "declined"
    db.session.flush()
    audit.record("resource.training_declined", request, actor_id=actor.id,
                 before={"status": "open"}, after={"status": "declined", "reason": reason,
                                                   "resource_id": request.resource_id, "user_id": request.user_id})
    resource = db.session.get(Resource, request.resource_id)
    subject = _l("Your training request for %(name)s was declined", name=resource.name)
    body = _l("The company declined your training request: %(reason)s\n%(url)s", reason=reason,
              url=external_url("resources.detail", resource_id=resource.id))
    send_to_user(request.user, lambda: (str(subject), str(body)), kind="resource.training")
    return request
