"""Incubation rules: projects and their submission, programs, mentor profiles and slots, ideas and votes.

Functions flush and never commit; the request (or the demo command) commits once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from incubation.models import (
    Idea,
    IdeaVote,
    IncubationMode,
    MentorProfile,
    MentorSlot,
    Program,
    ProgramCriterion,
    Project,
    ProjectStage,
    ProjectStatus,
)
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import role_in

PROJECT_TEXT_FIELDS = ("summary", "description", "problem", "solution", "market", "business_model", "team",
                       "video_url")


# ---- projects --------------------------------------------------------------------------------

def member_organisation_ids(user: User | None) -> list[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(Membership.organisation_id).where(Membership.user_id == user.id)))


def visible_projects(user: User | None) -> Select:
    """Projects `user` may see: every non-draft project, plus drafts of their own organisations."""
    stmt = select(Project)
    if user is not None and getattr(user, "is_authenticated", False) and user.is_admin:
        return stmt
    own = member_organisation_ids(user)
    public = Project.status.not_in(ProjectStatus.PRIVATE)
    return stmt.where(or_(public, Project.organisation_id.in_(own)) if own else public)


def projects_of(user: User) -> list[Project]:
    own = member_organisation_ids(user)
    if not own:
        return []
    return list(db.session.scalars(
        select(Project).where(Project.organisation_id.in_(own)).order_by(Project.updated_at.desc())))


def industries_in_use() -> list[str]:
    return list(db.session.scalars(
        select(Project.industry).where(Project.status.not_in(ProjectStatus.PRIVATE), Project.industry != "")
        .distinct().order_by(Project.industry)))


def create_project(organisation: Organisation, author: User, *, title: str, summary: str = "", industry: str = "",
                   stage: str = ProjectStage.IDEA, mode: str = IncubationMode.OPEN_SOURCE,
                   funding_sought_amount: int | None = None, currency: str = "CNY", **texts: str) -> Project:
    """A new draft project of a startup. The caller checked that `author` may create it."""
    if organisation.kind != OrganisationKind.STARTUP:
        raise ValidationFailed.field("organisation_id", _("Projects belong to startups, not anchor companies."))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    if stage not in ProjectStage.ALL:
        raise ValidationFailed.field("stage", _("Not a valid stage."))
    if mode not in IncubationMode.ALL:
        raise ValidationFailed.field("mode", _("Not a valid incubation mode."))
    if funding_sought_amount is not None and funding_sought_amount < 0:
        raise ValidationFailed.field("funding_sought", _("The amount cannot be negative."))
    unknown = set(texts) - set(PROJECT_TEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown project fields: {sorted(unknown)}")
    project = Project(organisation_id=organisation.id, title=title, summary=(summary or "").strip(),
                      industry=(industry or "").strip(), stage=stage, mode=mode,
                      funding_sought_amount=funding_sought_amount, currency=(currency or "CNY").upper(),
                      status=ProjectStatus.DRAFT, **{k: v or "" for k, v in texts.items()})
    db.session.add(project)
    db.session.flush()
    audit.record("project.created", project, after={"organisation_id": organisation.id, "title": title,
                                                    "mode": mode, "funding_sought_amount": funding_sought_amount,
                                                    "currency": project.currency}, actor_id=author.id)
    return project


def _transition(project: Project, allowed_from: Iterable[str], to: str, action: str) -> Project:
    if project.status not in allowed_from:
        raise Conflict(_("A project in status %(status)s cannot become %(target)s.",
                         status=project.status, target=to), {"status": [project.status]})
    before = project.status
    project.status = to
    project.updated_at = utcnow()
    db.session.flush()
    audit.record(action, project, before={"status": before}, after={"status": to})
    return project


def submit_project(project: Project) -> Project:
    """Draft (or sent back for more information) -> submitted for screening."""
    return _transition(project, ProjectStatus.SUBMITTABLE, ProjectStatus.SUBMITTED, "project.submitted")


def can_create_project(user: User | None, organisation: Organisation) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or role_in(user, organisation.id) is not None


# ---- programs --------------------------------------------------------------------------------

def open_programs_stmt(now: datetime | None = None) -> Select:
    now = now or utcnow()
    return select(Program).where(Program.opens_at <= now, Program.closes_at > now).order_by(Program.closes_at)


def create_program(organisation: Organisation, *, title: str, description: str = "",
                   mode: str = IncubationMode.INTERNAL, opens_at: datetime, closes_at: datetime, capacity: int,
                   criteria: Iterable[tuple[str, int]] = ()) -> Program:
    if organisation.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("organisation_id", _("Programs are run by anchor companies."))
    if mode not in IncubationMode.ALL:
        raise ValidationFailed.field("mode", _("Not a valid incubation mode."))
    if closes_at <= opens_at:
        raise ValidationFailed.field("closes_at", _("The closing time must be after the opening time."))
    if capacity is None or capacity <= 0:
        raise ValidationFailed.field("capacity", _("The capacity must be at least 1."))
    names = set()
    program = Program(organisation_id=organisation.id, title=title.strip(), description=description or "",
                      mode=mode, opens_at=opens_at, closes_at=closes_at, capacity=capacity)
    for name, weight in criteria:
        name = name.strip()
        if not name or name.lower() in names:
            raise ValidationFailed.field("criteria", _("Criterion names must be present and unique."))
        if weight is None or weight <= 0:
            raise ValidationFailed.field("criteria", _("Criterion weights must be at least 1."))
        names.add(name.lower())
        program.criteria.append(ProgramCriterion(name=name, weight=weight))
    db.session.add(program)
    db.session.flush()
    audit.record("program.created", program, after={"organisation_id": organisation.id, "title": program.title,
                                                    "capacity": capacity})
    return program


# ---- mentors ---------------------------------------------------------------------------------

def _clean_list(values: Iterable[str] | None) -> list[str]:
    seen, out = set(), []
    for value in values or ():
        value = (value or "").strip()
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def save_mentor_profile(user: User, *, bio: str, expertise: Iterable[str] = (), industries: Iterable[str] = (),
                        languages: Iterable[str] = (), organisation: str = "") -> MentorProfile:
    """Create or update the user's mentor profile."""
    profile = mentor_profile_of(user)
    before = None
    if profile is None:
        profile = MentorProfile(user_id=user.id)
        db.session.add(profile)
    else:
        before = {"expertise": profile.expertise, "languages": profile.languages}
    profile.bio = bio or ""
    profile.expertise = _clean_list(expertise)
    profile.industries = _clean_list(industries)
    profile.languages = _clean_list(languages)
    profile.organisation = organisation or ""
    db.session.flush()
    audit.record("mentor_profile.saved", profile, before=before,
                 after={"expertise": profile.expertise, "languages": profile.languages}, actor_id=user.id)
    return profile


def mentor_profile_of(user: User) -> MentorProfile | None:
    return db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))


def _matches(values: list[str], term: str) -> bool:
    term = term.strip().casefold()
    return any(term in (value or "").casefold() for value in values or ())


def search_mentors(expertise: str = "", language: str = "") -> list[MentorProfile]:
    """Mentors whose expertise / languages contain the given terms (case-insensitive substring).

    Filtered in Python: the JSON lists are stored escaped differently per database, and the mentor
    table is small; full-text search takes over for real search.
    """
    profiles = db.session.scalars(select(MentorProfile).join(User).order_by(User.name)).all()
    if expertise and expertise.strip():
        profiles = [p for p in profiles if _matches(p.expertise, expertise)]
    if language and language.strip():
        profiles = [p for p in profiles if _matches(p.languages, language)]
    return profiles


def free_slots(profile: MentorProfile, now: datetime | None = None) -> list[MentorSlot]:
    now = now or utcnow()
    return list(db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.booked_by_id.is_(None), MentorSlot.starts_at > now)
        .order_by(MentorSlot.starts_at)))


def upcoming_slots(profile: MentorProfile, now: datetime | None = None, limit: int = 10) -> list[MentorSlot]:
    now = now or utcnow()
    return list(db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.ends_at > now)
        .order_by(MentorSlot.starts_at).limit(limit)))


def add_slot(profile: MentorProfile, starts_at: datetime, ends_at: datetime, topic: str = "") -> MentorSlot:
    if ends_at <= starts_at:
        raise ValidationFailed.field("end", _("The end must be after the start."))
    overlapping = db.session.scalar(select(func.count()).select_from(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.starts_at < ends_at, MentorSlot.ends_at > starts_at))
    if overlapping:
        raise Conflict(_("This slot overlaps another of your slots."))
    slot = MentorSlot(mentor_profile_id=profile.id, starts_at=starts_at, ends_at=ends_at, topic=topic or "")
    db.session.add(slot)
    db.session.flush()
    return slot


# ---- ideas -----------------------------------------------------------------------------------

def create_idea(author: User, title: str, description: str = "") -> Idea:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    idea = Idea(author_id=author.id, title=title, description=description or "")
    db.session.add(idea)
    db.session.flush()
    return idea


def vote_for_idea(idea: Idea, user: User) -> IdeaVote:
    existing = db.session.scalar(select(IdeaVote.id).where(IdeaVote.idea_id == idea.id, IdeaVote.user_id == user.id))
    if existing is not None:
        raise Conflict(_("You have already voted for this idea."))
    vote = IdeaVote(idea_id=idea.id, user_id=user.id)
    db.session.add(vote)
    db.session.flush()
    return vote


def ideas_with_votes(limit: int | None = None) -> list[tuple[Idea, int]]:
    """Ideas with their vote counts, most voted first, in one query."""
    votes = func.count(IdeaVote.id)
    stmt = (select(Idea, votes).outerjoin(IdeaVote, IdeaVote.idea_id == Idea.id).group_by(Idea.id)
            .order_by(votes.desc(), Idea.created_at.desc()))
    if limit:
        stmt = stmt.limit(limit)
    return [(idea, count) for idea, count in db.session.execute(stmt).all()]


def voted_idea_ids(user: User | None) -> set[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.scalars(select(IdeaVote.idea_id).where(IdeaVote.user_id == user.id)))
