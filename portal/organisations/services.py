"""Organisations (startups and anchor companies), their members, and invitations by email."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.admin.schemas import Verification
from portal.auth.models import User
from portal.auth.services import get_user_by_email, normalise_email
from portal.db import utcnow
from portal.errors import Conflict, OrganisationUnverified, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.organisations.models import (
    Invitation,
    InvitationStatus,
    MemberRole,
    Membership,
    Organisation,
    OrganisationKind,
)
from portal.organisations.schemas import MemberInvite, NewOrganisation, OrganisationChanges
from portal.states import label_for, labels
from portal.urls import external_url

MEMBER_ROLE_LABELS = labels("MemberRole")  # the one label table (portal.states)
INVITATION_STATUS_LABELS = labels("InvitationStatus")


def create_organisation(owner: User, cmd: NewOrganisation) -> Organisation:
    """A new startup or company organisation, `owner` its first owner (unverified until an admin verifies it)."""
    organisation = Organisation(name=cmd.name, kind=cmd.kind, description=cmd.description, city=cmd.city,
                                website=cmd.website)
    organisation.memberships.append(Membership(user_id=owner.id, role=MemberRole.OWNER))
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.created", organisation, after={"name": cmd.name, "kind": cmd.kind},
                 actor_id=owner.id)
    return organisation


def update_organisation(organisation: Organisation, cmd: OrganisationChanges) -> Organisation:
    changes = cmd.model_dump()
    before = {k: getattr(organisation, k) for k in changes}
    for key, value in changes.items():
        setattr(organisation, key, value)
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


def is_company_staff(user: User | None, organisation: Organisation) -> bool:
    """A member of this anchor company, verified or not: may prepare drafts for it."""
    return organisation.kind == OrganisationKind.COMPANY and role_in(user, organisation.id) is not None


def acts_for_company(user: User | None, organisation: Organisation | None) -> bool:
    """Company powers (publish, approve, decide, matchfund, utilisation) belong to the staff of a
    *verified* company organisation, checked against the organisation that owns the object.
    The `company` role alone grants nothing."""
    return organisation is not None and organisation.is_verified and is_company_staff(user, organisation)


def require_verified(organisation: Organisation) -> None:
    if not organisation.is_verified:
        raise OrganisationUnverified(
            _("%(org)s is not verified yet. Drafts can be prepared; publishing waits until a platform "
              "admin has verified the company.", org=organisation.name),
            {"organisation_id": [_("not verified")]})


def set_publication(subject, published: bool, organisation: Organisation, actor: User | None, kind: str) -> None:
    """Publish a company's prepared object (anything with a `published` flag: a resource, a program) or
    withdraw it. Publishing needs a verified company (409 `organisation_unverified`); audited as
    `<kind>.published` / `<kind>.unpublished`."""
    if published and not subject.published:
        require_verified(organisation)
    if subject.published != published:
        subject.published = published
        db.session.flush()
        audit.record(f"{kind}.published" if published else f"{kind}.unpublished", subject,
                     actor_id=actor.id if actor is not None else None)


def verified_company_ids(user: User | None) -> list[int]:
    """The verified company organisations `user` acts for."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(Organisation.id).join(Membership).where(
        Membership.user_id == user.id, Organisation.kind == OrganisationKind.COMPANY,
        Organisation.verified_at.is_not(None))))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MemberJoinedHook = Callable[[User, int], None]
# Domain packages re-check their rules when someone joins an organisation (e.g. incubation withdraws
# reviewers who now have a conflict of interest); registered at import, called after the membership exists.
MEMBER_JOINED_HOOKS: list[MemberJoinedHook] = []


class Invitee:
    """The addressee of an invitation mail: the account's when one exists, otherwise the bare address
    (in English, until they choose a language)."""

    def __init__(self, email: str, user: User | None) -> None:
        self.email = email
        self.user = user
        self.locale = user.locale if user is not None else None


def add_member(organisation: Organisation, cmd: MemberInvite, inviter: User) -> Invitation:
    """Invite an address to the organisation (owners only, checked by the caller).

    Nobody becomes a member without consent: existing accounts get an invitation too, shown in the app
    and mailed with a link; the invitee accepts or declines.
    """
    role = cmd.role
    email = normalise_email(cmd.email)
    user = get_user_by_email(email)
    if user is not None and role_in(user, organisation.id) is not None:
        raise Conflict(_("%(email)s is already a member.", email=email), {"email": [_("already a member")]})
    existing = db.session.scalar(select(Invitation).where(
        Invitation.organisation_id == organisation.id, Invitation.email == email,
        Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None), Invitation.expires_at > utcnow()))
    if existing is not None:
        raise Conflict(_("%(email)s has already been invited.", email=email), {"email": [_("already invited")]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(organisation_id=organisation.id, email=email, role=role, token_hash=_digest(token),
                            invited_by_id=inviter.id, user_id=user.id if user is not None else None,
                            expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_MAX_AGE_DAYS"]))
    db.session.add(invitation)
    db.session.flush()
    audit.record("organisation.member_invited", organisation, after={"email": email, "role": role,
                                                                    "invitation_id": invitation.id})
    link = external_url("organisations.invitation_accept", token=token)

    def build() -> tuple[str, str]:
        role_name = label_for(role, "MemberRole")
        if user is not None:
            body = _("Hello %(name)s,\n\n%(inviter)s invites you to join %(org)s on Haichuang Portal as %(role)s.\n"
                     "You become a member only if you accept. Accept or decline here:\n%(link)s",
                     name=user.name, inviter=inviter.name, org=organisation.name, role=role_name, link=link)
        else:
            body = _("Hello,\n\n%(inviter)s invites you to join %(org)s on Haichuang Portal as %(role)s.\n"
                     "Open this link to accept (create an account with this address first if you have none):\n"
                     "%(link)s", inviter=inviter.name, org=organisation.name, role=role_name, link=link)
        return _("%(inviter)s invites you to %(org)s", inviter=inviter.name, org=organisation.name), body

    send_to_user(Invitee(email, user), build, kind="organisation.invitation", link=link)
    return invitation


def invitation_for_token(token: str) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _digest(token or "")))
    if invitation is None or invitation.status() != InvitationStatus.INVITED:
        raise ValidationFailed.field("token", _("This invitation is not valid or has expired."))
    return invitation


def is_invitee(user: User | None, invitation: Invitation) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return invitation.user_id == user.id or normalise_email(user.email) == invitation.email


def invitations_for(user: User) -> Select:
    """The invitations addressed to `user` (by account or by address), newest first."""
    return (select(Invitation).options(selectinload(Invitation.organisation), selectinload(Invitation.invited_by))
            .where(or_(Invitation.user_id == user.id, Invitation.email == normalise_email(user.email)))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc()))


def pending_invitations_for(user: User) -> list[Invitation]:
    return list(db.session.scalars(invitations_for(user).where(
        Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None), Invitation.expires_at > utcnow())))


def _require_open(invitation: Invitation, user: User) -> None:
    if not is_invitee(user, invitation):
        raise ValidationFailed.field("email", _("This invitation was sent to another email address."))
    if invitation.status() != InvitationStatus.INVITED:
        raise Conflict(_("This invitation is not valid or has expired."), {"status": [invitation.status()]})


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    _require_open(invitation, user)
    if role_in(user, invitation.organisation_id) is not None:
        raise Conflict(_("You are already a member."))
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    membership = Membership(organisation_id=invitation.organisation_id, user_id=user.id, role=invitation.role)
    db.session.add(membership)
    db.session.flush()
    audit.record("organisation.invitation_accepted", invitation.organisation,
                 after={"user_id": user.id, "role": invitation.role, "invitation_id": invitation.id},
                 actor_id=user.id)
    for hook in MEMBER_JOINED_HOOKS:
        hook(user, invitation.organisation_id)
    return membership


def decline_invitation(invitation: Invitation, user: User) -> Invitation:
    _require_open(invitation, user)
    invitation.declined_at = utcnow()
    invitation.user_id = user.id
    db.session.flush()
    audit.record("organisation.invitation_declined", invitation.organisation,
                 after={"user_id": user.id, "invitation_id": invitation.id}, actor_id=user.id)
    return invitation


def remove_member(organisation: Organisation, membership: Membership) -> None:
    owners = [m for m in organisation.memberships if m.role == MemberRole.OWNER]
    if membership.role == MemberRole.OWNER and len(owners) <= 1:
        raise Conflict(_("An organisation needs at least one owner."))
    audit.record("organisation.member_removed", organisation,
                 before={"user_id": membership.user_id, "role": membership.role})
    db.session.delete(membership)
    db.session.flush()


def set_verification(organisation: Organisation, cmd: Verification, by: User) -> Organisation:
    """Verify or unverify an organisation (platform admins; checked by the caller). Audited with the note."""
    verified, note = cmd.verified, cmd.note
    if verified and organisation.verified_at is None:
        organisation.verified_at = utcnow()
        audit.record("organisation.verified", organisation, after={"note": note}, actor_id=by.id)
    elif not verified and organisation.verified_at is not None:
        before = {"verified_at": organisation.verified_at.isoformat()}
        organisation.verified_at = None
        audit.record("organisation.unverified", organisation, before=before, after={"note": note}, actor_id=by.id)
    db.session.flush()
    return organisation


def verify_organisation(organisation: Organisation, by: User, note: str = "") -> Organisation:
    return set_verification(organisation, Verification(verified=True, note=note), by)


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.organisation_id == organisation.id, Invitation.accepted_at.is_(None),
        Invitation.declined_at.is_(None), Invitation.expires_at > utcnow()).order_by(Invitation.created_at)))
