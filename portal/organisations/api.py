from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.api import api_blueprint, doc, iso, paginate, read_body, read_query, require_login
from portal.organisations import services
from portal.organisations.models import Invitation, Organisation
from portal.organisations.policies import RESPOND
from portal.organisations.schemas import (
    InvitationOut,
    MemberInvite,
    NewOrganisation,
    OrganisationFilter,
    OrganisationOut,
)
from portal.permissions import Permission, load

bp = api_blueprint("organisations_api", __name__)


def organisation_json(organisation: Organisation) -> dict:
    data = {
        "id": organisation.id,
        "name": organisation.name,
        "kind": organisation.kind,
        "description": organisation.description,
        "city": organisation.city,
        "website": organisation.website,
        "verified": organisation.is_verified,
    }
    if current_user.is_authenticated and services.role_in(current_user, organisation.id) is not None:
        data["members"] = [
            {"user_id": m.user_id, "name": m.user.name, "email": m.user.email, "role": m.role}
            for m in organisation.memberships
        ]
    return data


@bp.get("/organisations")
@doc("List organisations", auth=False, query=OrganisationFilter, response=OrganisationOut)
def organisation_list():
    args = read_query(OrganisationFilter)
    stmt = select(Organisation).order_by(Organisation.name)
    if args.kind:
        stmt = stmt.where(Organisation.kind == args.kind)
    return jsonify(paginate(stmt, organisation_json))


@bp.post("/organisations")
@doc("Create an organisation; the caller becomes its owner", body=NewOrganisation, response=OrganisationOut)
def organisation_create():
    require_login()
    organisation = services.create_organisation(current_user, read_body(NewOrganisation))
    return jsonify(organisation_json(organisation)), 201


@bp.get("/organisations/<int:organisation_id>")
@doc("One organisation (members are listed for members)", auth=False, response=OrganisationOut)
def organisation_get(organisation_id: int):
    return jsonify(organisation_json(load(Organisation, organisation_id, Permission.VIEW)))


@bp.post("/organisations/<int:organisation_id>/members")
@doc("Invite a member by email (owners only); they become a member when they accept", body=MemberInvite,
     response=InvitationOut, responses={201: "Invited", 409: "Already a member or invited"})
def member_add(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, Permission.MANAGE)
    invitation = services.add_member(organisation, read_body(MemberInvite), current_user)
    return jsonify(invitation_json(invitation)), 201


def invitation_json(invitation: Invitation) -> dict:
    organisation = invitation.organisation
    return {"id": invitation.id, "status": invitation.status(), "email": invitation.email, "role": invitation.role,
            "organisation": {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
                             "verified": organisation.is_verified},
            "invited_by": invitation.invited_by.name if invitation.invited_by else None,
            "created_at": iso(invitation.created_at), "expires_at": iso(invitation.expires_at)}


@bp.get("/me/invitations")
@doc("Invitations addressed to you (by account or address), newest first", response=InvitationOut)
def my_invitations():
    require_login()
    return jsonify(paginate(services.invitations_for(current_user), invitation_json))


@bp.post("/invitations/<int:invitation_id>/accept")
@doc("Accept an invitation: you become a member (the invitee only)", response=InvitationOut,
     responses={200: "Accepted", 403: "Not the invitee", 409: "Already answered or expired"})
def invitation_accept(invitation_id: int):
    require_login()
    invitation = load(Invitation, invitation_id, RESPOND)
    services.accept_invitation(invitation, current_user)
    return jsonify(invitation_json(invitation))


@bp.post("/invitations/<int:invitation_id>/decline")
@doc("Decline an invitation (the invitee only)", response=InvitationOut,
     responses={200: "Declined", 403: "Not the invitee", 409: "Already answered or expired"})
def invitation_decline(invitation_id: int):
    require_login()
    invitation = load(Invitation, invitation_id, RESPOND)
    services.decline_invitation(invitation, current_user)
    return jsonify(invitation_json(invitation))


