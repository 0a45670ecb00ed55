"""Dashboard panels and home-page figures of incubation."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from incubation import services
from incubation.models import (
    PENDING_APPLICATION_STATUSES,
    PRIVATE_PROJECT_STATUSES,
    MentorProfile,
    Program,
    Project,
)
from portal.auth.models import Role
from portal.extensions import db
from portal.main.dashboard import Panel, panel, stat


@panel
def founder_projects_panel(user) -> Panel | None:
    if not user.has_role(Role.FOUNDER):
        return None
    return Panel(_l("Your startups' projects"), "incubation/panels/projects.html",
                 {"projects": services.projects_of(user)}, order=10)


@panel
def company_programs_panel(user) -> Panel | None:
    if not user.has_role(Role.COMPANY):
        return None
    own = services.member_organisation_ids(user)
    programs = db.session.scalars(select(Program).where(Program.organisation_id.in_(own))
                                  .order_by(Program.closes_at.desc()).limit(10)).all() if own else []
    open_support = len(services.support_requests_for_company(own)) if own else 0
    return Panel(_l("Your programs"), "incubation/panels/programs.html",
                 {"programs": programs, "open_support": open_support}, order=15)


@panel
def reviewer_panel(user) -> Panel | None:
    pending = [a for a in services.reviews_assigned_to(user)
               if a.review is None and a.conflict_declared_at is None
               and a.application.status in PENDING_APPLICATION_STATUSES]
    if not pending:
        return None
    blind_ids = {a.application_id for a in pending[:10] if services.is_blind_for(user, a.application, True)}
    return Panel(_l("Applications to review"), "incubation/panels/reviews.html",
                 {"assignments": pending[:10], "blind_ids": blind_ids}, order=12)


@panel
def mentor_panel(user) -> Panel | None:
    if not user.has_role(Role.MENTOR):
        return None
    profile = services.mentor_profile_of(user)
    slots = services.upcoming_slots(profile) if profile is not None else []
    return Panel(_l("Your mentoring"), "incubation/panels/mentor.html", {"profile": profile, "slots": slots},
                 order=20)


@panel
def backer_ideas_panel(user) -> Panel | None:
    if not user.has_role(Role.BACKER):
        return None
    return Panel(_l("Ideas to vote on"), "incubation/panels/ideas.html",
                 {"ideas": services.ideas_with_votes(limit=5), "voted": services.voted_idea_ids(user)}, order=35)


@stat
def project_stat() -> tuple[str, int]:
    count = db.session.scalar(select(func.count()).select_from(Project)
                              .where(Project.status.not_in(PRIVATE_PROJECT_STATUSES)))
    return str(_l("projects")), count or 0


@stat
def mentor_stat() -> tuple[str, int]:
    return str(_l("mentors")), db.session.scalar(select(func.count()).select_from(MentorProfile)) or 0
