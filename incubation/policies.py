"""Who may see and change incubation objects. Admins pass every check (see portal.permissions.can)."""

from sqlalchemy import select

from incubation.models import (
    PENDING_APPLICATION_STATUSES,
    PRIVATE_PROJECT_STATUSES,
    Application,
    FormerEmployment,
    Idea,
    Kpi,
    MentorProfile,
    MentorSlot,
    Milestone,
    Program,
    Project,
    ProjectDocument,
    ReviewAssignment,
    SupportRequest,
)
from portal.auth.models import User
from portal.extensions import db
from portal.organisations.services import acts_for_company, is_company_staff, role_in
from portal.permissions import Permission, can, policy


def _is_user(user, user_id: int | None) -> bool:
    return user is not None and user_id is not None and user.id == user_id


@policy(Project, Permission.VIEW)
def project_view(user, project: Project) -> bool:
    """Drafts are seen only by their organisation's members; everything else is public."""
    if project.status not in PRIVATE_PROJECT_STATUSES:
        return True
    return role_in(user, project.organisation_id) is not None


@policy(Project, Permission.EDIT)
def project_edit(user, project: Project) -> bool:
    return role_in(user, project.organisation_id) is not None


@policy(Program, Permission.VIEW)
def program_view(user, program: Program) -> bool:
    """Published programs are public; a draft is seen by its company's staff."""
    return program.published or is_company_staff(user, program.organisation)


@policy(Program, Permission.EDIT)
def program_edit(user, program: Program) -> bool:
    """Edit the terms and publish: the company's staff (a draft needs no verification, publishing does)."""
    return is_company_staff(user, program.organisation)


@policy(Program, Permission.MANAGE)
def program_manage(user, program: Program) -> bool:
    """Run it (applications, reviewers, decisions): staff of the verified company running the program."""
    return acts_for_company(user, program.organisation)


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


@policy(Project, Permission.MANAGE)
def project_manage(user, project: Project) -> bool:
    """Screening decisions belong to the managers of a program the project applied to."""
    from incubation.services import screening_program_ids

    return bool(screening_program_ids(user, project))


@policy(Application, Permission.VIEW)
def application_view(user, application: Application) -> bool:
    if user is None:
        return False
    if role_in(user, application.project.organisation_id) is not None:
        return True
    if acts_for_company(user, application.program.organisation):
        return True
    return any(a.reviewer_id == user.id for a in application.assignments)


@policy(Application, Permission.MANAGE)
def application_manage(user, application: Application) -> bool:
    """Assign reviewers and decide: staff of the verified company running the program."""
    return acts_for_company(user, application.program.organisation)


@policy(ReviewAssignment, Permission.EDIT)
def assignment_edit(user, assignment: ReviewAssignment) -> bool:
    return _is_user(user, assignment.reviewer_id)


@policy(ProjectDocument, Permission.VIEW)
def document_view(user, document: ProjectDocument) -> bool:
    """Seeing that the document exists; opening it also needs login / the NDA (see services.document_access)."""
    return project_view(user, document.project)


@policy(ProjectDocument, Permission.EDIT)
def document_edit(user, document: ProjectDocument) -> bool:
    return project_edit(user, document.project)


@policy(FormerEmployment, Permission.VIEW)
def former_employment_view(user, record: FormerEmployment) -> bool:
    return _is_user(user, record.user_id) or role_in(user, record.company_id) is not None


@policy(FormerEmployment, Permission.MANAGE)
def former_employment_verify(user, record: FormerEmployment) -> bool:
    """Confirming who worked there is a company power: staff of the verified company."""
    return acts_for_company(user, record.company)


@policy(SupportRequest, Permission.VIEW)
def support_view(user, support: SupportRequest) -> bool:
    return (role_in(user, support.project.organisation_id) is not None
            or role_in(user, support.company_id) is not None)


@policy(SupportRequest, Permission.MANAGE)
def support_manage(user, support: SupportRequest) -> bool:
    return acts_for_company(user, support.company)


@policy(Milestone, Permission.EDIT)
def milestone_edit(user, milestone: Milestone) -> bool:
    return role_in(user, _project(milestone.project_id).organisation_id) is not None


@policy(Kpi, Permission.EDIT)
def kpi_edit(user, kpi: Kpi) -> bool:
    return role_in(user, _project(kpi.project_id).organisation_id) is not None


@policy(MentorSlot, Permission.MANAGE)
def mentor_slot_session(user, slot: MentorSlot) -> bool:
    """The two people of a session: the mentor and the founder who booked it."""
    return _is_user(user, slot.mentor_profile.user_id) or _is_user(user, slot.booked_by_id)


def _project(project_id: int) -> Project:
    from portal.extensions import db

    return db.session.get(Project, project_id)


def transition_permission(target: str) -> str:
    """Founders (EDIT) submit and withdraw their projects; every other move is the program managers' (MANAGE)."""
    from incubation.services import FOUNDER_TARGETS

    return Permission.EDIT if target in FOUNDER_TARGETS else Permission.MANAGE


# ---- blind review ------------------------------------------------------------------------------
# The rule: in a blind program, everyone who reviews in the program (holds an assignment on any of its
# applications, withdrawn or not; company staff and admins included) sees a pending application only as
# "Application #id" with the answers written for the program at apply time: no title, organisation, people,
# summary, pitch texts, documents or links. Program managers and admins who review nothing in the program
# see everything they need to run it; the applicant's own members see their application. Identities show
# to everyone allowed to see the application once it is decided.

def reviewer_program_ids(user: User | None) -> set[int]:
    """Programs in which `user` holds a review assignment (one query)."""
    if user is None or not user.is_authenticated:
        return set()
    return set(db.session.scalars(select(Application.program_id).join(
        ReviewAssignment, ReviewAssignment.application_id == Application.id)
        .where(ReviewAssignment.reviewer_id == user.id).distinct()))


def blind_program_context(user: User | None, program: Program) -> bool:
    """Whether `user` sees this program's pending applications blind (see the rule above)."""
    return bool(program.blind_review) and program.id in reviewer_program_ids(user)


def is_blind_for(user: User | None, application: Application, reviews_in_program: bool | None = None) -> bool:
    """Whether `user` sees `application` blind. `reviews_in_program` saves the query in lists."""
    program = application.program
    if not program.blind_review or application.status not in PENDING_APPLICATION_STATUSES:
        return False
    if user is None or not user.is_authenticated:
        return True
    if role_in(user, application.project.organisation_id) is not None:
        return False  # the applicant's own people
    if reviews_in_program is None:
        reviews_in_program = program.id in reviewer_program_ids(user)
    if reviews_in_program:
        return True
    return not can(user, Permission.MANAGE, application)  # managers (and admins) run the program
