from portal.organisations.models import Invitation, MemberRole, Membership, Organisation
from portal.organisations.services import is_invitee, role_in
from portal.permissions import Permission, policy


@policy(Organisation, Permission.VIEW)
def organisation_public(user, organisation: Organisation) -> bool:
    return True  # organisation profiles are public, members lists are shown to members only


@policy(Organisation, Permission.EDIT)
@policy(Organisation, Permission.MANAGE)
def organisation_owner(user, organisation: Organisation) -> bool:
    return role_in(user, organisation.id) == MemberRole.OWNER


@policy(Membership, Permission.MANAGE)
def membership_owner(user, membership: Membership) -> bool:
    return role_in(user, membership.organisation_id) == MemberRole.OWNER


# On an Invitation: accept or decline it (the invitee only, admins included: nobody joins in another's name).
RESPOND = "respond_to_invitation"


@policy(Invitation, RESPOND, personal=True)
def invitation_invitee(user, invitation: Invitation) -> bool:
    return is_invitee(user, invitation)
