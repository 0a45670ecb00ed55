"""Who may see and change incubation objects. Admins pass every check (see portal.permissions.can)."""

from incubation.models import Idea, MentorProfile, MentorSlot, Program, Project, ProjectStatus
from portal.organisations.services import role_in
from portal.permissions import Permission, policy


def _is_user(user, user_id: int | None) -> bool:
    return user is not None and user_id is not None and user.id == user_id


@policy(Project, Permission.VIEW)
def project_view(user, project: Project) -> bool:
    """Drafts are seen only by their organisation's members; everything else is public."""
    if project.status not in ProjectStatus.PRIVATE:
        return True
    return role_in(user, project.organisation_id) is not None


@policy(Project, Permission.EDIT)
def project_edit(user, project: Project) -> bool:
    return role_in(user, project.organisation_id) is not None


@policy(Program, Permission.VIEW)
def program_view(user, program: Program) -> bool:
    return True


@policy(Program, Permission.EDIT)
@policy(Program, Permission.MANAGE)
def program_manage(user, program: Program) -> bool:
    return role_in(user, program.organisation_id) is not None


@policy(MentorProfile, Permission.VIEW)
def mentor_profile_view(user, profile: MentorProfile) -> bool:
    return True


@policy(MentorProfile, Permission.EDIT)
def mentor_profile_edit(user, profile: MentorProfile) -> bool:
    return _is_user(user, profile.user_id)


@policy(MentorSlot, Permission.VIEW)
def mentor_slot_view(user, slot: MentorSlot) -> bool:
    return True


@policy(MentorSlot, Permission.EDIT)
def mentor_slot_edit(user, slot: MentorSlot) -> bool:
    return _is_user(user, slot.mentor_profile.user_id)


@policy(Idea, Permission.VIEW)
def idea_view(user, idea: Idea) -> bool:
    return True


@policy(Idea, Permission.EDIT)
def idea_edit(user, idea: Idea) -> bool:
    return _is_user(user, idea.author_id)
