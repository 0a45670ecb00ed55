"""Organisations (startups and anchor companies), their members, and invitations by email."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.auth.models import User
from portal.auth.services import external_url, get_user_by_email, normalise_email
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_mail
from portal.organisations.models import Invitation, MemberRole, Membership, Organisation, OrganisationKind


def create_organisation(owner: User, name: str, kind: str, description: str = "", city: str = "",
                        website: str = "") -> Organisation:
    if kind not in OrganisationKind.ALL:
        raise ValidationFailed.field("kind", _("Choose startup or company."))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", _("This field is required."))
    organisation = Organisation(name=name, kind=kind, description=description or "", city=city or "",
                                website=website or "")
    organisation.memberships.append(Membership(user_id=owner.id, role=MemberRole.OWNER))
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.created", organisation, after={"name": name, "kind": kind}, actor_id=owner.id)
    return organisation


def update_organisation(organisation: Organisation, **changes) -> Organisation:
    before = {k: getattr(organisation, k) for k in changes}
    for key, value in changes.items():
        setattr(organisation, key, value or "")
    db.session.flush()
    audit.record("organisation.updated", organisation, before=before, after=changes)
    return organisation


def memberships_of(user: User) -> list[Membership]:
    return list(db.session.scalars(
        select(Membership).join(Organisation).where(Membership.user_id == user.id).order_by(Organisation.name)))


def organisations_of(user: User, kind: str | None = None) -> list[Organisation]:
    return [m.organisation for m in memberships_of(user) if kind is None or m.organisation.kind == kind]


def role_in(user: User | None, organisation_id: int) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Membership.role).where(
        Membership.organisation_id == organisation_id, Membership.user_id == user.id))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_member(organisation: Organisation, email: str, role: str, inviter: User) -> Membership | Invitation:
    """Add an existing user at once, or invite the address by email. Owners only (checked by the caller)."""
    if role not in MemberRole.ALL:
        raise ValidationFailed.field("role", _("Choose owner or member."))
    email = normalise_email(email)
    user = get_user_by_email(email)
    if user is not None:
        if role_in(user, organisation.id) is not None:
            raise Conflict(_("%(email)s is already a member.", email=email), {"email": [_("already a member")]})
        membership = Membership(organisation_id=organisation.id, user_id=user.id, role=role)
        db.session.add(membership)
        db.session.flush()
        audit.record("organisation.member_added", organisation, after={"user_id": user.id, "role": role})
        with force_locale(user.locale or "en"):
            send_mail(user.email, _("You were added to %(org)s", org=organisation.name),
                      _("Hello %(name)s,\n\n%(inviter)s added you to %(org)s as %(role)s.\n%(link)s",
                        name=user.name, inviter=inviter.name, org=organisation.name, role=role,
                        link=external_url("organisations.detail", organisation_id=organisation.id)))
        return membership
    existing = db.session.scalar(select(Invitation).where(
        Invitation.organisation_id == organisation.id, Invitation.email == email,
        Invitation.accepted_at.is_(None), Invitation.expires_at > utcnow()))
    if existing is not None:
        raise Conflict(_("%(email)s has already been invited.", email=email), {"email": [_("already invited")]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(organisation_id=organisation.id, email=email, role=role, token_hash=_digest(token),
                            invited_by_id=inviter.id,
                            expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_MAX_AGE_DAYS"]))
    db.session.add(invitation)
    db.session.flush()
    audit.record("organisation.member_invited", organisation, after={"email": email, "role": role})
    send_mail(email, _("%(inviter)s invites you to %(org)s", inviter=inviter.name, org=organisation.name),
              _("Hello,\n\n%(inviter)s invites you to join %(org)s on Haichuang Portal as %(role)s.\n"
                "Open this link to accept (create an account with this address first if you have none):\n%(link)s",
                inviter=inviter.name, org=organisation.name, role=role,
                link=external_url("organisations.invitation_accept", token=token)))
    return invitation


def invitation_for_token(token: str) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _digest(token or "")))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= utcnow():
        raise ValidationFailed.field("token", _("This invitation is not valid or has expired."))
    return invitation


def accept_invitation(token: str, user: User) -> Membership:
    invitation = invitation_for_token(token)
    if normalise_email(user.email) != invitation.email:
        raise ValidationFailed.field("email", _("This invitation was sent to another email address."))
    if role_in(user, invitation.organisation_id) is not None:
        raise Conflict(_("You are already a member."))
    invitation.accepted_at = utcnow()
    membership = Membership(organisation_id=invitation.organisation_id, user_id=user.id, role=invitation.role)
    db.session.add(membership)
    db.session.flush()
    audit.record("organisation.invitation_accepted", invitation.organisation,
                 after={"user_id": user.id, "role": invitation.role})
    return membership


def remove_member(organisation: Organisation, membership: Membership) -> None:
    owners = [m for m in organisation.memberships if m.role == MemberRole.OWNER]
    if membership.role == MemberRole.OWNER and len(owners) <= 1:
        raise Conflict(_("An organisation needs at least one owner."))
    audit.record("organisation.member_removed", organisation,
                 before={"user_id": membership.user_id, "role": membership.role})
    db.session.delete(membership)
    db.session.flush()


def verify_organisation(organisation: Organisation) -> None:
    if organisation.verified_at is None:
        organisation.verified_at = utcnow()
        audit.record("organisation.verified", organisation)


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.organisation_id == organisation.id, Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow()).order_by(Invitation.created_at)))
