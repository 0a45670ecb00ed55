"""Incubation rules: projects and their submission, programs, mentor profiles and slots, ideas and votes.

Functions flush and never commit; the request (or the demo command) commits once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from incubation.models import (
    OPEN_STATUSES,
    PROJECT_TRANSITIONS,
    Application,
    ApplicationReview,
    ApplicationStatus,
    ChainStage,
    Confidentiality,
    DocumentView,
    FormerEmployment,
    Idea,
    IdeaComment,
    IdeaVote,
    IncubationMode,
    Kpi,
    MentorProfile,
    MentorSlot,
    Milestone,
    NdaAcceptance,
    Program,
    ProgramCriterion,
    ProgramQuestion,
    ProgressUpdate,
    Project,
    ProjectDocument,
    ProjectEvent,
    ProjectStage,
    ProjectStatus,
    Recommendation,
    ResourceCredit,
    ReviewAssignment,
    SupportRequest,
    SupportStatus,
)
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ConflictOfInterest, ValidationFailed
from portal.extensions import db
from portal.mail import send_mail
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import (
    MEMBER_JOINED_HOOKS,
    require_verified,
    role_in,
    set_publication,
    verified_company_ids,
)
from portal.permissions import Permission, can
from portal.uploads import DOCUMENTS, IMAGES, store_upload

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


def submit_project(project: Project, actor: User | None = None) -> Project:
    """Draft (or sent back for more information) -> submitted for screening."""
    return transition_project(project, ProjectStatus.SUBMITTED, actor=actor)


def can_create_project(user: User | None, organisation: Organisation) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or role_in(user, organisation.id) is not None


# ---- programs --------------------------------------------------------------------------------

def open_programs_stmt(now: datetime | None = None) -> Select:
    """Published programs open for applications now."""
    now = now or utcnow()
    return select(Program).where(Program.published.is_(True), Program.opens_at <= now,
                                 Program.closes_at > now).order_by(Program.closes_at)


def visible_programs_stmt(viewer: User | None) -> Select:
    """Published programs, plus the drafts of the companies `viewer` works for (admins see all)."""
    stmt = select(Program).order_by(Program.closes_at.desc())
    if viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_admin:
        return stmt
    own = member_organisation_ids(viewer)
    return stmt.where(or_(Program.published.is_(True), Program.organisation_id.in_(own or [0])))


def set_program_published(program: Program, published: bool, by: User | None = None) -> Program:
    """Publish a draft program (the company must be verified: 409 `organisation_unverified`) or withdraw it."""
    set_publication(program, published, program.organisation, by, "program")
    return program


def create_program(organisation: Organisation, *, title: str, description: str = "",
                   mode: str = IncubationMode.INTERNAL, opens_at: datetime, closes_at: datetime, capacity: int,
                   criteria: Iterable[tuple[str, int]] = (), questions: Iterable[tuple[str, bool]] = (),
                   blind_review: bool = False, credit_amount: int | None = None,
                   credit_currency: str = "CNY", published: bool = True) -> Program:
    """A program of an anchor company; an unverified company prepares it as a draft (`published=False`)."""
    if organisation.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("organisation_id", _("Programs are run by anchor companies."))
    if published:
        require_verified(organisation)
    if mode not in IncubationMode.ALL:
        raise ValidationFailed.field("mode", _("Not a valid incubation mode."))
    if closes_at <= opens_at:
        raise ValidationFailed.field("closes_at", _("The closing time must be after the opening time."))
    if capacity is None or capacity <= 0:
        raise ValidationFailed.field("capacity", _("The capacity must be at least 1."))
    if not (title or "").strip():
        raise ValidationFailed.field("title", _("This field is required."))
    if credit_amount is not None and credit_amount <= 0:
        raise ValidationFailed.field("credit_amount", _("Credits must be a positive amount."))
    if credit_amount is not None and mode != IncubationMode.OPEN_SOURCE:
        raise ValidationFailed.field("credit_amount", _("Only open-source programs grant resource credits."))
    names = set()
    program = Program(organisation_id=organisation.id, title=title.strip(), description=description or "",
                      mode=mode, opens_at=opens_at, closes_at=closes_at, capacity=capacity,
                      blind_review=bool(blind_review), credit_amount=credit_amount,
                      credit_currency=(credit_currency or "CNY").upper(), published=bool(published))
    for text, required in questions:
        text = (text or "").strip()
        if text:
            program.questions.append(ProgramQuestion(text=text[:500], required=bool(required)))
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
                                                    "capacity": capacity, "published": program.published})
    return program


def submitted_review_count(program: Program) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ApplicationReview)
        .join(ReviewAssignment, ReviewAssignment.id == ApplicationReview.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.program_id == program.id)) or 0


def program_edit_blocker(program: Program) -> str | None:
    """Why the program can no longer be changed, or None: reviews already scored it on its terms."""
    reviews = submitted_review_count(program)
    if reviews:
        return ngettext("The program cannot be changed any more: %(num)s review was already submitted on its "
                        "terms.", "The program cannot be changed any more: %(num)s reviews were already submitted "
                        "on its terms.", reviews)
    return None


def _clean_criteria(criteria: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    names, out = set(), []
    for name, weight in criteria:
        name = (name or "").strip()
        if not name or name.lower() in names:
            raise ValidationFailed.field("criteria", _("Criterion names must be present and unique."))
        if weight is None or weight <= 0:
            raise ValidationFailed.field("criteria", _("Criterion weights must be at least 1."))
        names.add(name.lower())
        out.append((name[:80], weight))
    return out


def update_program(program: Program, by: User | None = None, *, title: str, description: str = "",
                   opens_at: datetime, closes_at: datetime, capacity: int,
                   criteria: Iterable[tuple[str, int]] | None = None,
                   questions: Iterable[tuple[str, bool]] | None = None) -> Program:
    """Change the program's terms while no review has been submitted yet (409 afterwards).

    `criteria` / `questions` None leaves them as they are. Questions are matched by position so that
    answers already given (kept by question id) stay with their question.
    """
    blocker = program_edit_blocker(program)
    if blocker:
        raise Conflict(blocker, {"program": [_("reviewed")]})
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    if closes_at <= opens_at:
        raise ValidationFailed.field("closes_at", _("The closing time must be after the opening time."))
    if capacity is None or capacity <= 0:
        raise ValidationFailed.field("capacity", _("The capacity must be at least 1."))
    accepted = accepted_count(program)
    if capacity < accepted:
        raise ValidationFailed.field("capacity", ngettext(
            "%(num)s startup is already accepted: the capacity cannot be lower.",
            "%(num)s startups are already accepted: the capacity cannot be lower.", accepted))
    clean_criteria = _clean_criteria(criteria) if criteria is not None else None
    before = {"title": program.title, "opens_at": program.opens_at.isoformat(),
              "closes_at": program.closes_at.isoformat(), "capacity": program.capacity}
    program.title = title[:160]
    program.description = description or ""
    program.opens_at, program.closes_at, program.capacity = opens_at, closes_at, capacity
    if clean_criteria is not None:
        existing = {c.name.lower(): c for c in program.criteria}
        wanted = {name.lower() for name, _weight in clean_criteria}
        for key, criterion in existing.items():
            if key not in wanted:
                program.criteria.remove(criterion)
        db.session.flush()  # free the names of removed criteria before adding new ones
        for name, weight in clean_criteria:
            criterion = existing.get(name.lower())
            if criterion is not None:
                criterion.name, criterion.weight = name, weight
            else:
                program.criteria.append(ProgramCriterion(name=name, weight=weight))
    if questions is not None:
        clean_questions = [((text or "").strip()[:500], bool(required)) for text, required in questions
                           if (text or "").strip()]
        current = list(program.questions)
        for index, (text, required) in enumerate(clean_questions):
            if index < len(current):
                current[index].text, current[index].required = text, required
            else:
                program.questions.append(ProgramQuestion(text=text, required=required))
        for question in current[len(clean_questions):]:
            program.questions.remove(question)
    db.session.flush()
    audit.record("program.updated", program, before=before,
                 after={"title": program.title, "opens_at": program.opens_at.isoformat(),
                        "closes_at": program.closes_at.isoformat(), "capacity": program.capacity,
                        "criteria": [[c.name, c.weight] for c in program.criteria],
                        "questions": len(program.questions)},
                 actor_id=by.id if _authenticated(by) else None)
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


# ---- people around a project -----------------------------------------------------------------

def _authenticated(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def organisation_members(organisation_id: int) -> list[User]:
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == organisation_id).order_by(User.id)))


def founders_of(project: Project) -> list[User]:
    """The members of the project's startup."""
    return organisation_members(project.organisation_id)


def _mail_one(user: User, build: Callable[[], tuple[str, str]]) -> None:
    """Mail `user` in their own language: `build()` returns (subject, body) and runs under their locale."""
    with force_locale(user.locale or "en"):
        subject, body = build()
        send_mail(user.email, str(subject), str(body))


def _mail_all(users: Iterable[User], build: Callable[[], tuple[str, str]]) -> None:
    """One mail per recipient, each built in that recipient's language."""
    seen = set()
    for user in users:
        if user.email not in seen:
            seen.add(user.email)
            _mail_one(user, build)


def _client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


# ---- lifecycle -------------------------------------------------------------------------------

# Who may ask for each target status: the founders ("edit") or a program manager screening the project ("manage").
FOUNDER_TARGETS = (ProjectStatus.SUBMITTED, ProjectStatus.WITHDRAWN)


def allowed_targets(project: Project) -> tuple[str, ...]:
    return PROJECT_TRANSITIONS.get(project.status, ())


def transition_project(project: Project, to: str, *, actor: User | None = None, note: str = "") -> Project:
    """Move `project` along its state machine; anything off the graph is a 409.

    The change is audited, put on the project's timeline, and a rejection mails the reason to the founders.
    """
    if to not in PROJECT_TRANSITIONS:
        raise ValidationFailed.field("status", _("Not a valid status."))
    if to not in allowed_targets(project):
        raise Conflict(_("A project in status %(status)s cannot become %(target)s.",
                         status=project.status, target=to), {"status": [project.status]})
    note = (note or "").strip()
    if to == ProjectStatus.REJECTED and not note:
        raise ValidationFailed.field("note", _("Give the founders the reason for the rejection."))
    before = project.status
    project.status = to
    project.updated_at = utcnow()
    actor_id = actor.id if _authenticated(actor) else None
    db.session.add(ProjectEvent(project_id=project.id, actor_id=actor_id, from_status=before, to_status=to,
                                kind="status", note=note))
    db.session.flush()
    audit.record(f"project.{to}", project, before={"status": before},
                 after={"status": to, "note": note} if note else {"status": to}, actor_id=actor_id)
    if to == ProjectStatus.REJECTED:
        _mail_all(founders_of(project), lambda: (
            _("Your project %(title)s was not accepted", title=project.title),
            _("We are sorry: %(title)s was not accepted.\n\nThe reason:\n%(reason)s",
              title=project.title, reason=note)))
    elif to == ProjectStatus.NEEDS_INFO:
        _mail_all(founders_of(project), lambda: (
            _("More information needed for %(title)s", title=project.title),
            _("The reviewers of %(title)s ask for more information:\n%(note)s\n\n"
              "Update the project and submit it again.", title=project.title, note=note)))
    return project


def add_timeline_note(project: Project, kind: str, note: str, actor: User | None = None) -> ProjectEvent:
    event = ProjectEvent(project_id=project.id, actor_id=actor.id if _authenticated(actor) else None,
                         kind=kind, note=note)
    db.session.add(event)
    db.session.flush()
    return event


def timeline(project: Project) -> list[ProjectEvent]:
    return list(db.session.scalars(select(ProjectEvent).where(ProjectEvent.project_id == project.id)
                                   .order_by(ProjectEvent.created_at, ProjectEvent.id)))


def screening_program_ids(user: User | None, project: Project) -> list[int]:
    """Programs this user manages (staff of the verified company running them) that the project applied to."""
    own = verified_company_ids(user)
    if not own:
        return []
    return list(db.session.scalars(select(Program.id).join(Application, Application.program_id == Program.id)
                                   .where(Application.project_id == project.id,
                                          Program.organisation_id.in_(own))))


def update_project(project: Project, **changes) -> Project:
    """Edit the pitch. Only while the founders still own the text (not after a final decision)."""
    if project.status not in OPEN_STATUSES:
        raise Conflict(_("A closed project cannot be edited."), {"status": [project.status]})
    allowed = set(PROJECT_TEXT_FIELDS) | {"title", "industry", "stage", "mode", "funding_sought_amount", "currency"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unknown project fields: {sorted(unknown)}")
    if "title" in changes and not (changes["title"] or "").strip():
        raise ValidationFailed.field("title", _("This field is required."))
    if changes.get("stage") is not None and changes["stage"] not in ProjectStage.ALL:
        raise ValidationFailed.field("stage", _("Not a valid stage."))
    if changes.get("mode") is not None and changes["mode"] not in IncubationMode.ALL:
        raise ValidationFailed.field("mode", _("Not a valid incubation mode."))
    if (changes.get("funding_sought_amount") or 0) < 0:
        raise ValidationFailed.field("funding_sought", _("The amount cannot be negative."))
    before = {}
    for name, value in changes.items():
        if value is None and name != "funding_sought_amount":
            continue
        if isinstance(value, str):
            value = value.strip()
        if name == "currency":
            value = (value or "CNY").upper()
        before[name] = getattr(project, name)
        setattr(project, name, value)
    project.updated_at = utcnow()
    db.session.flush()
    audit.record("project.updated", project, before={"fields": sorted(before)})
    return project


# ---- cover image, documents and the NDA ------------------------------------------------------

COVER_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


def set_cover_image(project: Project, file: FileStorage | None, user: User) -> Project:
    stored = store_upload(file, field="cover_image", kinds=IMAGES, max_bytes=COVER_MAX_BYTES,
                          uploaded_by_id=user.id)
    project.cover_image_id = stored.id
    db.session.flush()
    return project


def add_document(project: Project, file: FileStorage | None, user: User, *, title: str,
                 confidentiality: str = Confidentiality.NDA) -> ProjectDocument:
    if confidentiality not in Confidentiality.ALL:
        raise ValidationFailed.field("confidentiality", _("Not a valid confidentiality level."))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    if confidentiality == Confidentiality.NDA and not project.nda_version:
        raise ValidationFailed.field("confidentiality", _("Write the project's NDA text before adding NDA-gated documents."))
    stored = store_upload(file, field="file", kinds=DOCUMENTS, max_bytes=DOCUMENT_MAX_BYTES, uploaded_by_id=user.id)
    document = ProjectDocument(project_id=project.id, stored_file_id=stored.id, title=title[:160],
                               confidentiality=confidentiality, uploaded_by_id=user.id)
    db.session.add(document)
    db.session.flush()
    audit.record("project_document.added", document, after={"project_id": project.id,
                                                            "confidentiality": confidentiality,
                                                            "sha256": stored.sha256}, actor_id=user.id)
    return document


def archive_document(document: ProjectDocument, user: User) -> ProjectDocument:
    """Take a document off the project; nobody can open it any more, but its view log stays for the founders."""
    if document.archived_at is not None:
        raise Conflict(_("This document is already deleted."), {"document": [str(document.id)]})
    document.archived_at = utcnow()
    db.session.flush()
    audit.record("project_document.archived", document, after={"project_id": document.project_id,
                                                               "title": document.title}, actor_id=user.id)
    return document


def set_nda_text(project: Project, text: str, user: User) -> Project:
    """A changed text is a new version: earlier acceptances no longer open NDA-gated documents."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.field("nda_text", _("This field is required."))
    if text != project.nda_text:
        project.nda_text = text
        project.nda_version = (project.nda_version or 0) + 1
        db.session.flush()
        audit.record("project.nda_changed", project, after={"version": project.nda_version,
                                                           "sha256": _sha256(text)}, actor_id=user.id)
    return project


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def has_accepted_nda(project: Project, user: User | None) -> bool:
    if not _authenticated(user) or not project.nda_version:
        return False
    return db.session.scalar(select(NdaAcceptance.id).where(
        NdaAcceptance.project_id == project.id, NdaAcceptance.user_id == user.id,
        NdaAcceptance.version == project.nda_version)) is not None


def accept_nda(project: Project, user: User, version: int | None = None) -> NdaAcceptance:
    """Record that `user` accepts the current NDA. A stale `version` (the text changed meanwhile) is a 409."""
    if not project.nda_version:
        raise Conflict(_("This project has no NDA to accept."))
    if version is not None and version != project.nda_version:
        raise Conflict(_("The NDA changed since you read it. Read the new version."),
                       {"version": [str(project.nda_version)]})
    existing = db.session.scalar(select(NdaAcceptance).where(
        NdaAcceptance.project_id == project.id, NdaAcceptance.user_id == user.id,
        NdaAcceptance.version == project.nda_version))
    if existing is not None:
        return existing
    acceptance = NdaAcceptance(project_id=project.id, user_id=user.id, version=project.nda_version,
                               text_sha256=_sha256(project.nda_text), ip=_client_ip())
    db.session.add(acceptance)
    db.session.flush()
    audit.record("project.nda_accepted", project, after={"version": acceptance.version}, actor_id=user.id)
    return acceptance


class DocumentAccess:
    OK = "ok"
    LOGIN = "login"
    NDA = "nda"


def document_access(document: ProjectDocument, user: User | None) -> str:
    """What stands between `user` and the file (the project itself is already visible to them)."""
    if document.confidentiality == Confidentiality.PUBLIC:
        return DocumentAccess.OK
    if not _authenticated(user):
        return DocumentAccess.LOGIN
    if user.is_admin or role_in(user, document.project.organisation_id) is not None:
        return DocumentAccess.OK
    if document.confidentiality == Confidentiality.NDA and not has_accepted_nda(document.project, user):
        return DocumentAccess.NDA
    return DocumentAccess.OK


def log_document_view(document: ProjectDocument, user: User | None) -> DocumentView | None:
    """Every view of a gated (non-public) document is logged for the founders."""
    if document.confidentiality == Confidentiality.PUBLIC:
        return None
    view = DocumentView(document_id=document.id, user_id=user.id if _authenticated(user) else None,
                        nda_version=document.project.nda_version if document.confidentiality == Confidentiality.NDA
                        else None, ip=_client_ip())
    db.session.add(view)
    db.session.flush()
    return view


def documents_of(project: Project) -> list[ProjectDocument]:
    return list(db.session.scalars(select(ProjectDocument).where(ProjectDocument.project_id == project.id,
                                                                 ProjectDocument.archived_at.is_(None))
                                   .order_by(ProjectDocument.created_at, ProjectDocument.id)))


def document_views(project: Project, limit: int = 200) -> list[DocumentView]:
    return list(db.session.scalars(select(DocumentView).join(ProjectDocument)
                                   .where(ProjectDocument.project_id == project.id)
                                   .order_by(DocumentView.viewed_at.desc(), DocumentView.id.desc()).limit(limit)))


# ---- former employees ------------------------------------------------------------------------

def claim_former_employment(user: User, company: Organisation, *, position: str = "",
                            years: str = "") -> FormerEmployment:
    if company.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("company_id", _("Former employers are anchor companies."))
    if db.session.scalar(select(FormerEmployment.id).where(FormerEmployment.user_id == user.id,
                                                           FormerEmployment.company_id == company.id)):
        raise Conflict(_("You already recorded this employer."), {"company_id": [str(company.id)]})
    record = FormerEmployment(user_id=user.id, company_id=company.id, position=(position or "").strip()[:120],
                              years=(years or "").strip()[:20])
    db.session.add(record)
    db.session.flush()
    audit.record("former_employment.claimed", record, after={"company_id": company.id}, actor_id=user.id)
    return record


def verify_former_employment(record: FormerEmployment, verifier: User) -> FormerEmployment:
    """Company staff confirm the record (the caller checked they are staff of `record.company`)."""
    if record.verified_at is not None:
        raise Conflict(_("This record is already verified."))
    record.verified_at = utcnow()
    record.verified_by_id = verifier.id
    db.session.flush()
    audit.record("former_employment.verified", record, after={"company_id": record.company_id,
                                                             "user_id": record.user_id}, actor_id=verifier.id)
    return record


def former_employers(user_ids: Iterable[int], verified_only: bool = False) -> dict[int, set[int]]:
    """user id -> ids of companies they formerly worked for."""
    ids = list(user_ids)
    if not ids:
        return {}
    stmt = select(FormerEmployment.user_id, FormerEmployment.company_id).where(FormerEmployment.user_id.in_(ids))
    if verified_only:
        stmt = stmt.where(FormerEmployment.verified_at.is_not(None))
    out: dict[int, set[int]] = {}
    for user_id, company_id in db.session.execute(stmt):
        out.setdefault(user_id, set()).add(company_id)
    return out


# ---- applications ----------------------------------------------------------------------------

APPLICABLE_STATUSES = (ProjectStatus.SUBMITTED, ProjectStatus.SCREENING, ProjectStatus.NEEDS_INFO)

# The answer a blind program without questions asks for: its reviewers see nothing but the answers.
PITCH_KEY = "pitch"


@dataclass(frozen=True)
class AnswerField:
    """One answer an application gives at apply time; `key` is the question id (or PITCH_KEY)."""

    key: str
    text: str
    required: bool


def answer_fields(program: Program) -> list[AnswerField]:
    """What the apply form asks. In a blind program the answers are all its reviewers see, so every question
    is required there, and a blind program without questions asks for a required pitch for reviewers."""
    if program.questions:
        return [AnswerField(str(q.id), q.text, bool(q.required or program.blind_review)) for q in program.questions]
    if program.blind_review:
        return [AnswerField(PITCH_KEY, _("Pitch for reviewers: what you build, for whom, and why now (reviewers "
                                         "see only your answers: do not name your startup or team)"), True)]
    return []


def answered(application: Application) -> list[tuple[AnswerField, str]]:
    """The application's answers, each with its question, in the program's order."""
    answers = application.answers or {}
    return [(f, answers.get(f.key, "")) for f in answer_fields(application.program)]


def program_gate_failure(program: Program, project: Project) -> str | None:
    """Why this project may not apply to this program, or None. Each incubation mode has its own gate."""
    if project.mode != program.mode:
        return _("This program is for the %(mode)s incubation mode only.", mode=program.mode)
    founder_ids = [u.id for u in founders_of(project)]
    if program.mode == IncubationMode.SPIN_OFF:
        employers = former_employers(founder_ids, verified_only=True)
        if not any(program.organisation_id in companies for companies in employers.values()):
            return _("Spin-off programs accept only founders with a verified former-employee record of %(company)s.",
                     company=program.organisation.name)
    if program.mode == IncubationMode.INTERNAL:
        staff = {u.id for u in organisation_members(program.organisation_id)}
        if not staff.intersection(founder_ids):
            return _("Internal programs accept only projects founded by staff of %(company)s.",
                     company=program.organisation.name)
    return None


def apply_to_program(program: Program, project: Project, user: User,
                     answers: dict[str, str] | None = None) -> Application:
    if not program.published or not program.is_open():
        raise Conflict(_("This program is not open for applications."), {"program": [_("closed")]})
    if project.status not in APPLICABLE_STATUSES:
        raise Conflict(_("Submit the project before applying."), {"project_id": [project.status]})
    if db.session.scalar(select(Application.id).where(Application.program_id == program.id,
                                                      Application.project_id == project.id)):
        raise Conflict(_("This project already applied to this program."), {"project_id": [str(project.id)]})
    failure = program_gate_failure(program, project)
    if failure:
        raise ValidationFailed.field("project_id", failure)
    answers = {str(k): (v or "").strip() for k, v in (answers or {}).items()}
    fields = answer_fields(program)
    known = {f.key for f in fields}
    unknown = set(answers) - known
    if unknown:
        raise ValidationFailed.field("answers", _("Unknown question: %(ids)s", ids=", ".join(sorted(unknown))))
    for answer_field in fields:
        if answer_field.required and not answers.get(answer_field.key):
            raise ValidationFailed.field(f"answers.{answer_field.key}", _("This question needs an answer."))
        if len(answers.get(answer_field.key, "")) > 5000:
            raise ValidationFailed.field(f"answers.{answer_field.key}", _("At most 5000 characters."))
    application = Application(program_id=program.id, project_id=project.id, submitted_by_id=user.id,
                              answers={k: v for k, v in answers.items() if v}, status=ApplicationStatus.SUBMITTED)
    db.session.add(application)
    db.session.flush()
    add_timeline_note(project, "applied", _("Applied to %(program)s", program=program.title), user)
    audit.record("application.submitted", application, after={"program_id": program.id,
                                                              "project_id": project.id}, actor_id=user.id)
    return application


def applications_of_program(program: Program, with_assignments: bool = False) -> list[Application]:
    # The ranking and the manager's list show each application's project: load them in one query.
    options = [selectinload(Application.project)]
    if with_assignments:
        options.append(selectinload(Application.assignments))
    return list(db.session.scalars(select(Application).where(Application.program_id == program.id)
                                   .options(*options).order_by(Application.created_at, Application.id)))


def applications_of_project(project: Project) -> list[Application]:
    return list(db.session.scalars(select(Application).where(Application.project_id == project.id)
                                   .order_by(Application.created_at.desc())))


def accepted_count(program: Program) -> int:
    return db.session.scalar(select(func.count()).select_from(Application).where(
        Application.program_id == program.id, Application.status == ApplicationStatus.ACCEPTED)) or 0


# ---- review ----------------------------------------------------------------------------------

def conflict_reasons(application: Application, reviewer: User) -> list[str]:
    """Conflicts of interest known BEFORE assignment: the reviewer is in the applicant organisation, or
    formerly worked for a company a founder also formerly worked for (any record, verified or not)."""
    reasons = []
    project = application.project
    if role_in(reviewer, project.organisation_id) is not None:
        reasons.append(_("The reviewer is a member of the applicant organisation."))
    founder_ids = [u.id for u in founders_of(project) if u.id != reviewer.id]
    employers = former_employers([reviewer.id, *founder_ids])
    reviewer_companies = employers.get(reviewer.id, set())
    shared = set()
    for founder_id in founder_ids:
        shared |= reviewer_companies & employers.get(founder_id, set())
    if shared:
        names = db.session.scalars(select(Organisation.name).where(Organisation.id.in_(shared))
                                   .order_by(Organisation.name))
        reasons.append(_("The reviewer and a founder formerly worked for the same company: %(names)s",
                         names=", ".join(names)))
    return reasons


def _require_pending(application: Application) -> None:
    if application.status not in ApplicationStatus.PENDING:
        raise Conflict(_("This application is already decided."), {"status": [application.status]})


def assign_reviewer(application: Application, reviewer: User, by: User | None = None) -> ReviewAssignment:
    _require_pending(application)
    if db.session.scalar(select(ReviewAssignment.id).where(ReviewAssignment.application_id == application.id,
                                                           ReviewAssignment.reviewer_id == reviewer.id)):
        raise Conflict(_("This reviewer is already assigned."), {"user_id": [str(reviewer.id)]})
    reasons = conflict_reasons(application, reviewer)
    if reasons:
        raise Conflict(_("Conflict of interest: %(reasons)s", reasons=" ".join(reasons)),
                       {"user_id": reasons})
    assignment = ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id,
                                  assigned_by_id=by.id if _authenticated(by) else None)
    db.session.add(assignment)
    application.status = ApplicationStatus.UNDER_REVIEW
    db.session.flush()
    project = application.project
    if project.status == ProjectStatus.SUBMITTED:
        transition_project(project, ProjectStatus.SCREENING, actor=by,
                           note=_("Screening by %(program)s", program=application.program.title))
    audit.record("application.reviewer_assigned", application, after={"reviewer_id": reviewer.id})
    _mail_one(reviewer, lambda: (
        _("Please review %(title)s", title=application_title(application, blind=is_blind_for(reviewer, application))),
        _("You were asked to review an application to %(program)s.", program=application.program.title)))
    return assignment


# ---- blind review ------------------------------------------------------------------------------
# The rule: in a blind program, everyone who reviews in the program (holds an assignment on any of its
# applications, withdrawn or not; company staff and admins included) sees a pending application only as
# "Application #id" with the answers written for the program at apply time: no title, organisation, people,
# summary, pitch texts, documents or links. Program managers and admins who review nothing in the program
# see everything they need to run it; the applicant's own members see their application. Identities show
# to everyone allowed to see the application once it is decided.

def reviewer_program_ids(user: User | None) -> set[int]:
    """Programs in which `user` holds a review assignment (one query)."""
    if not _authenticated(user):
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
    if not program.blind_review or application.status not in ApplicationStatus.PENDING:
        return False
    if not _authenticated(user):
        return True
    if role_in(user, application.project.organisation_id) is not None:
        return False  # the applicant's own people
    if reviews_in_program is None:
        reviews_in_program = program.id in reviewer_program_ids(user)
    if reviews_in_program:
        return True
    return not can(user, Permission.MANAGE, application)  # managers (and admins) run the program


def application_title(application: Application, *, blind: bool) -> str:
    return _("Application #%(id)s", id=application.id) if blind else application.project.title


def reviewer_pool(program: Program) -> list[User]:
    """By default the staff of the company running the program review its applications."""
    return organisation_members(program.organisation_id)


def _active_load(program: Program) -> dict[int, int]:
    rows = db.session.execute(
        select(ReviewAssignment.reviewer_id, func.count())
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.program_id == program.id, ReviewAssignment.conflict_declared_at.is_(None))
        .group_by(ReviewAssignment.reviewer_id))
    return {reviewer_id: count for reviewer_id, count in rows}


def auto_assign(program: Program, per_application: int, pool: list[User] | None = None,
                by: User | None = None) -> list[ReviewAssignment]:
    """Give each pending application `per_application` active reviewers, always picking the least loaded
    reviewer without a conflict of interest, so the work spreads evenly."""
    if per_application < 1 or per_application > 10:
        raise ValidationFailed.field("reviewers_per_application", _("Between 1 and 10."))
    pool = pool if pool is not None else reviewer_pool(program)
    if not pool:
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    load = _active_load(program)
    created = []
    for application in applications_of_program(program, with_assignments=True):
        if application.status not in ApplicationStatus.PENDING:
            continue
        assigned = {a.reviewer_id for a in application.assignments}
        active = sum(1 for a in application.assignments if a.conflict_declared_at is None)
        candidates = sorted((u for u in pool if u.id not in assigned), key=lambda u: (load.get(u.id, 0), u.id))
        for reviewer in candidates:
            if active >= per_application:
                break
            try:  # assign_reviewer checks for conflicts of interest before it writes anything
                created.append(assign_reviewer(application, reviewer, by))
            except Conflict:
                continue
            load[reviewer.id] = load.get(reviewer.id, 0) + 1
            active += 1
    return created


# Automatic assignment of a large program runs as a background job; its queueing and its result are audit
# events on the program, which is also where the page and the API read the outcome from.
AUTO_ASSIGN_QUEUED = "program.auto_assign_queued"
AUTO_ASSIGN_DONE = "program.auto_assign_done"
AUTO_ASSIGN_FAILED = "program.auto_assign_failed"
DEFAULT_AUTO_ASSIGN_INLINE_MAX = 50


def pending_application_count(program: Program) -> int:
    return db.session.scalar(select(func.count()).select_from(Application).where(
        Application.program_id == program.id, Application.status.in_(ApplicationStatus.PENDING))) or 0


@dataclass
class AutoAssignStatus:
    state: str  # "none", "running", "done" or "failed"
    at: datetime | None = None
    created: int | None = None
    reviewers_per_application: int | None = None
    short: int | None = None  # pending applications still below the wanted number of reviewers
    error: str | None = None


def auto_assign_status(program: Program) -> AutoAssignStatus:
    from portal.audit import AuditEvent

    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "Program", AuditEvent.object_id == str(program.id),
        AuditEvent.action.in_((AUTO_ASSIGN_QUEUED, AUTO_ASSIGN_DONE, AUTO_ASSIGN_FAILED)))
        .order_by(AuditEvent.id.desc()).limit(1))
    if event is None:
        return AutoAssignStatus("none")
    after = event.after or {}
    state = {AUTO_ASSIGN_QUEUED: "running", AUTO_ASSIGN_DONE: "done", AUTO_ASSIGN_FAILED: "failed"}[event.action]
    return AutoAssignStatus(state, at=event.created_at, created=after.get("created"),
                            reviewers_per_application=after.get("reviewers_per_application"),
                            short=after.get("short"), error=after.get("error"))


def short_of_reviewers(program: Program, per_application: int) -> int:
    """Pending applications that still have fewer active reviewers than wanted."""
    return sum(1 for a in applications_of_program(program, with_assignments=True)
               if a.status in ApplicationStatus.PENDING
               and sum(1 for x in a.assignments if x.conflict_declared_at is None) < per_application)


def request_auto_assign(program: Program, per_application: int, pool: list[User] | None = None,
                        by: User | None = None) -> list[ReviewAssignment] | None:
    """Assign now (small programs: the new assignments) or in the background (large ones: None).

    Above AUTO_ASSIGN_INLINE_MAX pending applications the work goes to `incubation.tasks.auto_assign_job`;
    its result is shown by `auto_assign_status`. One background run per program at a time.
    """
    if per_application < 1 or per_application > 10:
        raise ValidationFailed.field("reviewers_per_application", _("Between 1 and 10."))
    if pool is not None and not pool:
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    limit = int(current_app.config.get("AUTO_ASSIGN_INLINE_MAX", DEFAULT_AUTO_ASSIGN_INLINE_MAX))
    if pending_application_count(program) <= limit:
        return auto_assign(program, per_application, pool, by)
    if auto_assign_status(program).state == "running":
        raise Conflict(_("An automatic assignment of this program is already running."),
                       {"program": [_("running")]})
    if pool is None and not reviewer_pool(program):
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    audit.record(AUTO_ASSIGN_QUEUED, program, after={"reviewers_per_application": per_application,
                                                     "pool": [u.id for u in pool] if pool is not None else None},
                 actor_id=by.id if _authenticated(by) else None)
    from portal import jobs

    jobs.enqueue("incubation.tasks.auto_assign_job", program.id, per_application,
                 [u.id for u in pool] if pool is not None else None, by.id if _authenticated(by) else None)
    return None


def declare_conflict(assignment: ReviewAssignment, reason: str) -> ReviewAssignment:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", _("Say what the conflict is."))
    if assignment.review is not None:
        raise Conflict(_("You already reviewed this application."))
    if assignment.conflict_declared_at is not None:
        raise Conflict(_("You already declared a conflict."))
    assignment.conflict_declared_at = utcnow()
    assignment.conflict_reason = reason[:500]
    db.session.flush()
    audit.record("review.conflict_declared", assignment.application,
                 after={"reviewer_id": assignment.reviewer_id, "reason": assignment.conflict_reason})
    return assignment


def recheck_conflicts_after_membership(user: User, organisation_id: int) -> list[ReviewAssignment]:
    """Run the conflict rules again after `user` became a member of an organisation (an accepted invitation).

    Two kinds of pending assignment (no review yet, no conflict yet, application undecided) can turn
    conflicted: the new member's own (they now belong to the applicant, say), and other reviewers' on the
    organisation's applications (the new member is now a founder who may share a former employer with
    them). Each conflicted one is withdrawn with its reason (audited), the program's managers are mailed
    in their language and so is the reviewer. There is no in-app notification centre: the application page
    shows the withdrawal to managers and to the reviewer. Returns the withdrawn assignments.
    """
    pending = (select(ReviewAssignment).join(Application, Application.id == ReviewAssignment.application_id)
               .outerjoin(ApplicationReview, ApplicationReview.assignment_id == ReviewAssignment.id)
               .where(ApplicationReview.id.is_(None), ReviewAssignment.conflict_declared_at.is_(None),
                      Application.status.in_(ApplicationStatus.PENDING)))
    candidates = list(db.session.scalars(pending.where(ReviewAssignment.reviewer_id == user.id)))
    candidates += [a for a in db.session.scalars(
        pending.join(Project, Project.id == Application.project_id)
        .where(Project.organisation_id == organisation_id, ReviewAssignment.reviewer_id != user.id))]
    withdrawn = []
    for assignment in sorted(candidates, key=lambda a: a.id):
        reasons = conflict_reasons(assignment.application, assignment.reviewer)
        if reasons:
            withdraw_for_conflict(assignment, reasons)
            withdrawn.append(assignment)
    return withdrawn


MEMBER_JOINED_HOOKS.append(recheck_conflicts_after_membership)


def withdraw_for_conflict(assignment: ReviewAssignment, reasons: list[str]) -> ReviewAssignment:
    """Take a reviewer off an application because a conflict of interest appeared; managers are told."""
    now = utcnow()
    assignment.conflict_declared_at = now
    assignment.withdrawn_at = now
    assignment.conflict_reason = " ".join(reasons)[:500]
    db.session.flush()
    application, program, reviewer = assignment.application, assignment.application.program, assignment.reviewer
    audit.record("review.withdrawn_for_conflict", application,
                 after={"reviewer_id": reviewer.id, "reason": assignment.conflict_reason}, actor_id=None)
    managers = [m for m in organisation_members(program.organisation_id) if m.id != reviewer.id]
    in_program = {}
    for manager in managers:
        in_program[manager.id] = program.id in reviewer_program_ids(manager)
    for manager in managers:
        _mail_one(manager, lambda manager=manager: (
            _("Reviewer withdrawn from %(title)s", title=application_title(
                application, blind=is_blind_for(manager, application, in_program[manager.id]))),
            _("%(name)s can no longer review application #%(id)s to %(program)s because of a conflict of "
              "interest:\n%(reason)s\n\nAssign another reviewer if the application needs one.",
              name=reviewer.name, id=application.id, program=program.title, reason=assignment.conflict_reason)))
    _mail_one(reviewer, lambda: (
        _("You were withdrawn from application #%(id)s", id=application.id),
        _("A conflict of interest appeared, so you can no longer review application #%(id)s to %(program)s:\n"
          "%(reason)s", id=application.id, program=program.title, reason=assignment.conflict_reason)))
    return assignment


def assignment_of(application: Application, user: User | None) -> ReviewAssignment | None:
    if not _authenticated(user):
        return None
    return db.session.scalar(select(ReviewAssignment).where(ReviewAssignment.application_id == application.id,
                                                            ReviewAssignment.reviewer_id == user.id))


def weighted_score(criteria: list[ProgramCriterion], scores: dict[str, int]) -> float:
    total = sum(c.weight for c in criteria)
    return sum(c.weight * scores[c.name] for c in criteria) / total if total else 0.0


def submit_review(assignment: ReviewAssignment, scores: dict, recommendation: str, comment: str = "") -> ApplicationReview:
    """Store the review of an assigned reviewer. The conflict rules run again now (a membership accepted
    since the assignment counts): a conflicted reviewer gets 409 `conflict_of_interest` and nothing is stored."""
    application = assignment.application
    _require_pending(application)
    if assignment.review is not None:
        raise Conflict(_("You already reviewed this application."))
    if assignment.withdrawn_at is not None:
        raise ConflictOfInterest(_("You were withdrawn from this application because of a conflict of interest: "
                                   "%(reason)s", reason=assignment.conflict_reason), {"reviewer": [_("withdrawn")]})
    if assignment.conflict_declared_at is not None:
        raise ConflictOfInterest(_("You declared a conflict of interest on this application."),
                                 {"reviewer": [_("conflict declared")]})
    reasons = conflict_reasons(application, assignment.reviewer)
    if reasons:
        raise ConflictOfInterest(_("Conflict of interest: %(reasons)s", reasons=" ".join(reasons)),
                                 {"reviewer": reasons})
    if recommendation not in Recommendation.ALL:
        raise ValidationFailed.field("recommendation", _("Choose yes, maybe or no."))
    criteria = application.program.criteria
    if not isinstance(scores, dict):
        raise ValidationFailed.field("scores", _("Give a score per criterion."))
    names = {c.name for c in criteria}
    unknown = set(scores) - names
    if unknown:
        raise ValidationFailed.field("scores", _("Unknown criterion: %(names)s", names=", ".join(sorted(unknown))))
    clean: dict[str, int] = {}
    for criterion in criteria:
        value = scores.get(criterion.name)
        try:
            number = int(value) if value is not None and str(value).strip().lstrip("-").isdigit() else None
        except (TypeError, ValueError):
            number = None
        if number is None or not 0 <= number <= 5:
            raise ValidationFailed.field(f"scores.{criterion.name}", _("A whole number from 0 to 5."))
        clean[criterion.name] = number
    review = ApplicationReview(assignment_id=assignment.id, scores=clean, recommendation=recommendation,
                    weighted_score=round(weighted_score(criteria, clean), 4), comment=(comment or "").strip())
    db.session.add(review)
    db.session.flush()
    audit.record("review.submitted", application, after={"reviewer_id": assignment.reviewer_id,
                                                         "weighted_score": review.weighted_score,
                                                         "recommendation": recommendation})
    return review


@dataclass
class RankingRow:
    application: Application
    reviews: int = 0
    average: float | None = None  # mean of the reviews' weighted scores, 0-5
    normalised: float | None = None  # mean of per-reviewer z-scores
    recommendations: dict[str, int] = field(default_factory=lambda: {r: 0 for r in Recommendation.ALL})
    rank: int | None = None


def ranking(program: Program) -> list[RankingRow]:
    """Applications ranked by the mean of per-reviewer z-scores of their weighted scores.

    A harsh reviewer's 2.0 and a lenient reviewer's 4.5 may say the same thing; standardising each
    reviewer's scores (mean 0, standard deviation 1 over everything they reviewed in this program)
    makes both count equally. A reviewer with one review or identical scores contributes 0.
    """
    rows = {a.id: RankingRow(a) for a in applications_of_program(program)}
    reviews = db.session.execute(
        select(ApplicationReview.weighted_score, ApplicationReview.recommendation, ReviewAssignment.reviewer_id,
               ReviewAssignment.application_id)
        .join(ReviewAssignment, ReviewAssignment.id == ApplicationReview.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.program_id == program.id)).all()
    by_reviewer: dict[int, list[float]] = {}
    for score, _rec, reviewer_id, _app in reviews:
        by_reviewer.setdefault(reviewer_id, []).append(score)
    stats = {}
    for reviewer_id, values in by_reviewer.items():
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        stats[reviewer_id] = (mean, std)
    raw: dict[int, list[float]] = {}
    zs: dict[int, list[float]] = {}
    for score, rec, reviewer_id, application_id in reviews:
        mean, std = stats[reviewer_id]
        raw.setdefault(application_id, []).append(score)
        zs.setdefault(application_id, []).append((score - mean) / std if std > 1e-9 else 0.0)
        rows[application_id].recommendations[rec] += 1
    for application_id, row in rows.items():
        if application_id in raw:
            row.reviews = len(raw[application_id])
            row.average = round(sum(raw[application_id]) / row.reviews, 3)
            row.normalised = round(sum(zs[application_id]) / row.reviews, 3)
    ordered = sorted(rows.values(), key=lambda r: (r.normalised is None, -(r.normalised or 0), -(r.average or 0),
                                                   r.application.id))
    for index, row in enumerate(r for r in ordered if r.normalised is not None):
        row.rank = index + 1
    return ordered


def decide(application: Application, decision: str, feedback: str, by: User | None = None) -> Application:
    """Accept or reject an application; the feedback is shown (and mailed) to the founders."""
    _require_pending(application)
    if decision not in (ApplicationStatus.ACCEPTED, ApplicationStatus.REJECTED):
        raise ValidationFailed.field("decision", _("Choose accepted or rejected."))
    feedback = (feedback or "").strip()
    if not feedback:
        raise ValidationFailed.field("feedback", _("Write feedback for the founders."))
    program, project = application.program, application.project
    if decision == ApplicationStatus.ACCEPTED:
        if accepted_count(program) >= program.capacity:
            raise Conflict(ngettext("The program is full (%(num)s place).", "The program is full (%(num)s places).",
                                    program.capacity), {"decision": ["full"]})
        if project.status not in (ProjectStatus.SUBMITTED, ProjectStatus.SCREENING, ProjectStatus.ACCEPTED,
                                  ProjectStatus.INCUBATING):
            raise Conflict(_("A project in status %(status)s cannot be accepted.", status=project.status),
                           {"status": [project.status]})
    application.status = decision
    application.feedback = feedback
    application.decided_at = utcnow()
    application.decided_by_id = by.id if _authenticated(by) else None
    db.session.flush()
    audit.record(f"application.{decision}", application, after={"program_id": program.id,
                                                               "project_id": project.id})
    if project.status == ProjectStatus.SUBMITTED:
        transition_project(project, ProjectStatus.SCREENING, actor=by,
                           note=_("Screening by %(program)s", program=program.title))
    if decision == ApplicationStatus.ACCEPTED:
        if project.status == ProjectStatus.SCREENING:
            transition_project(project, ProjectStatus.ACCEPTED, actor=by,
                               note=_("Accepted into %(program)s: %(feedback)s", program=program.title,
                                      feedback=feedback))
        else:
            add_timeline_note(project, "accepted", _("Accepted into %(program)s", program=program.title), by)
        if program.mode == IncubationMode.OPEN_SOURCE and program.credit_amount:
            credit = ResourceCredit(organisation_id=project.organisation_id, application_id=application.id,
                                    amount=program.credit_amount, currency=program.credit_currency)
            db.session.add(credit)
            db.session.flush()
            audit.record("resource_credit.granted", credit, after={"amount": credit.amount,
                                                                  "currency": credit.currency,
                                                                  "organisation_id": credit.organisation_id})
        _mail_all(founders_of(project), lambda: (
            _("%(title)s was accepted into %(program)s", title=project.title, program=program.title),
            _("Congratulations!\n\nFeedback from the program:\n%(feedback)s", feedback=feedback)))
        return application
    still_pending = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.project_id == project.id, Application.id != application.id,
        Application.status.in_(ApplicationStatus.PENDING + (ApplicationStatus.ACCEPTED,))))
    if project.status == ProjectStatus.SCREENING and not still_pending:
        transition_project(project, ProjectStatus.REJECTED, actor=by,
                           note=_("%(program)s: %(feedback)s", program=program.title, feedback=feedback))
    else:
        add_timeline_note(project, "rejected", _("Not accepted into %(program)s", program=program.title), by)
        _mail_all(founders_of(project), lambda: (
            _("Your project %(title)s was not accepted", title=project.title),
            _("%(program)s did not accept %(title)s.\n\nThe reason:\n%(reason)s", program=program.title,
              title=project.title, reason=feedback)))
    return application


def resource_credits_of(organisation_id: int) -> list[ResourceCredit]:
    return list(db.session.scalars(select(ResourceCredit).where(ResourceCredit.organisation_id == organisation_id)))


def reviews_assigned_to(user: User) -> list[ReviewAssignment]:
    """The user's assignments; a list shows each one blind or not with `is_blind_for(user, a.application, True)`
    (the user reviews in each of these programs)."""
    return list(db.session.scalars(
        select(ReviewAssignment).join(Application).where(ReviewAssignment.reviewer_id == user.id)
        .options(selectinload(ReviewAssignment.application).selectinload(Application.program),
                 selectinload(ReviewAssignment.application).selectinload(Application.project),
                 selectinload(ReviewAssignment.review))
        .order_by(Application.created_at.desc())))


# ---- incubation support ----------------------------------------------------------------------

SUPPORTED_STATUSES = (ProjectStatus.ACCEPTED, ProjectStatus.INCUBATING)


def _require_incubating(project: Project) -> None:
    if project.status not in SUPPORTED_STATUSES:
        raise Conflict(_("Only accepted and incubating projects have milestones and support."),
                       {"status": [project.status]})


def add_milestone(project: Project, title: str, due_at: datetime | None = None) -> Milestone:
    _require_incubating(project)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    milestone = Milestone(project_id=project.id, title=title[:160], due_at=due_at)
    db.session.add(milestone)
    db.session.flush()
    return milestone


def add_kpi(project: Project, name: str, target: int, unit: str = "") -> Kpi:
    _require_incubating(project)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", _("This field is required."))
    if target is None or target < 0:
        raise ValidationFailed.field("target", _("The target cannot be negative."))
    if db.session.scalar(select(Kpi.id).where(Kpi.project_id == project.id, Kpi.name == name)):
        raise Conflict(_("This KPI exists already."), {"name": [name]})
    kpi = Kpi(project_id=project.id, name=name[:80], unit=(unit or "")[:20], target=target)
    db.session.add(kpi)
    db.session.flush()
    return kpi


def update_milestone(milestone: Milestone, user: User, *, title: str, due_at: datetime | None) -> Milestone:
    _require_incubating(_project_of(milestone.project_id))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    milestone.title, milestone.due_at = title[:160], due_at
    db.session.flush()
    audit.record("milestone.updated", milestone, after={"title": milestone.title}, actor_id=user.id)
    return milestone


def delete_milestone(milestone: Milestone, user: User) -> None:
    """Progress updates that moved it stay on the record (their link is cleared)."""
    _require_incubating(_project_of(milestone.project_id))
    audit.record("milestone.deleted", milestone, before={"title": milestone.title,
                                                         "project_id": milestone.project_id}, actor_id=user.id)
    db.session.execute(update(ProgressUpdate).where(ProgressUpdate.milestone_id == milestone.id)
                       .values(milestone_id=None).execution_options(synchronize_session=False))
    db.session.delete(milestone)
    db.session.flush()


def update_kpi(kpi: Kpi, user: User, *, name: str, target: int, unit: str = "") -> Kpi:
    _require_incubating(_project_of(kpi.project_id))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", _("This field is required."))
    if target is None or target < 0:
        raise ValidationFailed.field("target", _("The target cannot be negative."))
    if db.session.scalar(select(Kpi.id).where(Kpi.project_id == kpi.project_id, Kpi.name == name,
                                              Kpi.id != kpi.id)):
        raise Conflict(_("This KPI exists already."), {"name": [name]})
    before = {"name": kpi.name, "target": kpi.target}
    kpi.name, kpi.target, kpi.unit = name[:80], target, (unit or "")[:20]
    db.session.flush()
    audit.record("kpi.updated", kpi, before=before, after={"name": kpi.name, "target": kpi.target},
                 actor_id=user.id)
    return kpi


def delete_kpi(kpi: Kpi, user: User) -> None:
    _require_incubating(_project_of(kpi.project_id))
    audit.record("kpi.deleted", kpi, before={"name": kpi.name, "project_id": kpi.project_id}, actor_id=user.id)
    db.session.execute(update(ProgressUpdate).where(ProgressUpdate.kpi_id == kpi.id)
                       .values(kpi_id=None).execution_options(synchronize_session=False))
    db.session.delete(kpi)
    db.session.flush()


def _project_of(project_id: int) -> Project:
    return db.session.get(Project, project_id)


def post_progress(project: Project, author: User, body: str, *, milestone: Milestone | None = None,
                  progress: int | None = None, kpi: Kpi | None = None, kpi_value: int | None = None) -> ProgressUpdate:
    _require_incubating(project)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed.field("body", _("This field is required."))
    if milestone is not None and milestone.project_id != project.id:
        raise ValidationFailed.field("milestone_id", _("Not a milestone of this project."))
    if kpi is not None and kpi.project_id != project.id:
        raise ValidationFailed.field("kpi_id", _("Not a KPI of this project."))
    if progress is not None and (milestone is None or not 0 <= progress <= 100):
        raise ValidationFailed.field("progress", _("A percentage from 0 to 100 for a milestone."))
    if kpi_value is not None and (kpi is None or kpi_value < 0):
        raise ValidationFailed.field("kpi_value", _("A non-negative value for a KPI."))
    if milestone is not None and progress is not None:
        milestone.progress = progress
        milestone.completed_at = utcnow() if progress == 100 else None
    if kpi is not None and kpi_value is not None:
        kpi.current = kpi_value
    update_row = ProgressUpdate(project_id=project.id, author_id=author.id, body=body,
                                milestone_id=milestone.id if milestone else None, progress=progress,
                                kpi_id=kpi.id if kpi else None, kpi_value=kpi_value)
    db.session.add(update_row)
    db.session.flush()
    return update_row


def milestones_of(project: Project) -> list[Milestone]:
    return list(db.session.scalars(select(Milestone).where(Milestone.project_id == project.id)
                                   .order_by(Milestone.due_at.is_(None), Milestone.due_at, Milestone.id)))


def kpis_of(project: Project) -> list[Kpi]:
    return list(db.session.scalars(select(Kpi).where(Kpi.project_id == project.id).order_by(Kpi.id)))


def progress_updates_of(project: Project, limit: int = 50) -> list[ProgressUpdate]:
    return list(db.session.scalars(select(ProgressUpdate).where(ProgressUpdate.project_id == project.id)
                                   .order_by(ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())
                                   .limit(limit)))


def anchor_company_id(project: Project) -> int | None:
    """The company running the program that accepted the project (the most recent acceptance)."""
    return db.session.scalar(select(Program.organisation_id).join(Application)
                             .where(Application.project_id == project.id,
                                    Application.status == ApplicationStatus.ACCEPTED)
                             .order_by(Application.decided_at.desc()).limit(1))


def open_support_request(project: Project, user: User, *, stage: str, title: str, body: str = "") -> SupportRequest:
    """Ask the anchor company for help at one stage of the chain; its staff are notified."""
    _require_incubating(project)
    if stage not in ChainStage.ALL:
        raise ValidationFailed.field("stage", _("Not a valid stage of the chain."))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    company_id = anchor_company_id(project)
    if company_id is None:
        raise Conflict(_("The project has no anchor company yet: it needs an accepted program application."))
    support = SupportRequest(project_id=project.id, company_id=company_id, stage=stage, title=title[:160],
                             body=(body or "").strip(), requested_by_id=user.id)
    db.session.add(support)
    db.session.flush()
    audit.record("support_request.opened", support, after={"company_id": company_id, "stage": stage},
                 actor_id=user.id)
    _mail_all(organisation_members(company_id), lambda: (
        _("Support request from %(title)s", title=project.title),
        _("%(project)s asks for help (%(stage)s): %(title)s\n\n%(body)s", project=project.title,
          stage=stage, title=support.title, body=support.body)))
    return support


SUPPORT_TRANSITIONS = {SupportStatus.OPEN: (SupportStatus.IN_PROGRESS, SupportStatus.CLOSED),
                       SupportStatus.IN_PROGRESS: (SupportStatus.CLOSED,), SupportStatus.CLOSED: ()}


def update_support_request(support: SupportRequest, user: User, status: str, resolution: str = "") -> SupportRequest:
    """Company staff take the request (in progress) and close it with a resolution."""
    if status not in SupportStatus.ALL:
        raise ValidationFailed.field("status", _("Not a valid status."))
    if status not in SUPPORT_TRANSITIONS[support.status]:
        raise Conflict(_("A %(status)s request cannot become %(target)s.", status=support.status, target=status),
                       {"status": [support.status]})
    resolution = (resolution or "").strip()
    if status == SupportStatus.CLOSED and not resolution:
        raise ValidationFailed.field("resolution", _("Say how the request was resolved."))
    before = support.status
    support.status = status
    if status == SupportStatus.IN_PROGRESS or support.assignee_id is None:
        support.assignee_id = user.id
    if status == SupportStatus.CLOSED:
        support.resolution = resolution
        support.closed_at = utcnow()
    db.session.flush()
    audit.record("support_request.status", support, before={"status": before}, after={"status": status},
                 actor_id=user.id)
    if status == SupportStatus.CLOSED:
        _mail_all(founders_of(support.project), lambda: (
            _("Support request closed: %(title)s", title=support.title), resolution))
    return support


def support_requests_of(project: Project) -> list[SupportRequest]:
    return list(db.session.scalars(select(SupportRequest).where(SupportRequest.project_id == project.id)
                                   .order_by(SupportRequest.created_at.desc())))


def support_requests_for_company(organisation_ids: list[int], open_only: bool = True) -> list[SupportRequest]:
    if not organisation_ids:
        return []
    stmt = select(SupportRequest).where(SupportRequest.company_id.in_(organisation_ids))
    if open_only:
        stmt = stmt.where(SupportRequest.status != SupportStatus.CLOSED)
    return list(db.session.scalars(stmt.order_by(SupportRequest.created_at.desc())))


# ---- mentor sessions -------------------------------------------------------------------------

def book_slot(slot: MentorSlot, user: User, *, topic: str, project: Project | None = None) -> MentorSlot:
    """Take a free slot. One conditional UPDATE decides, so two concurrent bookings cannot both win."""
    topic = (topic or "").strip()
    if not topic:
        raise ValidationFailed.field("topic", _("Say what you want to talk about."))
    if slot.mentor_profile.user_id == user.id:
        raise ValidationFailed.field("slot", _("You cannot book your own office hours."))
    if project is not None and role_in(user, project.organisation_id) is None and not user.is_admin:
        raise ValidationFailed.field("project_id", _("Choose a project of your own startup."))
    now = utcnow()
    result = db.session.execute(
        update(MentorSlot)
        .where(MentorSlot.id == slot.id, MentorSlot.booked_by_id.is_(None), MentorSlot.starts_at > now)
        .values(booked_by_id=user.id, booked_at=now, topic=topic[:200], project_id=project.id if project else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(slot)
        if slot.booked_by_id is not None:
            raise Conflict(_("This slot is already taken."), {"slot": [_("taken")]})
        raise Conflict(_("This slot is in the past."), {"slot": [_("past")]})
    db.session.refresh(slot)
    audit.record("mentor_slot.booked", slot, after={"booked_by_id": user.id}, actor_id=user.id)
    _mail_one(slot.mentor_profile.user, lambda: (
        _("Office hour booked: %(topic)s", topic=slot.topic),
        _("%(name)s booked your office hour. Topic: %(topic)s", name=user.name, topic=slot.topic)))
    return slot


DEFAULT_CANCEL_CUTOFF_HOURS = 12


def cancel_cutoff_hours() -> int:
    return int(current_app.config.get("MENTOR_CANCEL_CUTOFF_HOURS", DEFAULT_CANCEL_CUTOFF_HOURS))


def can_cancel_booking(slot: MentorSlot, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return slot.booked_by_id is not None and slot.starts_at - now >= timedelta(hours=cancel_cutoff_hours())


def cancel_booking(slot: MentorSlot, user: User) -> MentorSlot:
    """The founder who booked gives the slot back, up to the cut-off before it starts; the mentor is mailed."""
    if slot.booked_by_id != user.id:
        raise Conflict(_("Only the founder who booked the session can cancel the booking."), {"slot": [_("not yours")]})
    hours = cancel_cutoff_hours()
    if not can_cancel_booking(slot):
        raise Conflict(ngettext("Bookings can be cancelled up to %(num)s hour before the session; write to the "
                                "mentor instead.", "Bookings can be cancelled up to %(num)s hours before the "
                                "session; write to the mentor instead.", hours), {"slot": [_("too late")]})
    topic = slot.topic
    result = db.session.execute(
        update(MentorSlot).where(MentorSlot.id == slot.id, MentorSlot.booked_by_id == user.id)
        .values(booked_by_id=None, booked_at=None, topic="", project_id=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_("This booking was already cancelled."), {"slot": [_("free")]})
    db.session.refresh(slot)
    audit.record("mentor_slot.booking_cancelled", slot, before={"booked_by_id": user.id}, actor_id=user.id)
    mentor = slot.mentor_profile.user
    _mail_one(mentor, lambda: (
        _("Office hour cancelled: %(topic)s", topic=topic),
        _("%(name)s cancelled the office hour on %(when)s (topic: %(topic)s). The slot is free again.",
          name=user.name, when=_slot_time(slot, mentor), topic=topic)))
    return slot


def cancel_slot(slot: MentorSlot, mentor: User, reason: str = "") -> None:
    """The mentor withdraws an office-hour slot that has not started; a founder who booked it is mailed."""
    if slot.mentor_profile.user_id != mentor.id:
        raise Conflict(_("Only the mentor can cancel this slot."), {"slot": [_("not yours")]})
    if slot.starts_at <= utcnow():
        raise Conflict(_("This session has already started."), {"slot": [_("past")]})
    booker, topic = slot.booked_by, slot.topic
    reason = (reason or "").strip()[:500]
    audit.record("mentor_slot.cancelled", slot, before={"booked_by_id": slot.booked_by_id,
                                                        "starts_at": slot.starts_at.isoformat()},
                 after={"reason": reason} if reason else None, actor_id=mentor.id)
    if booker is not None:
        _mail_one(booker, lambda: (
            _("Office hour cancelled by %(name)s", name=mentor.name),
            _("%(name)s cancelled the office hour on %(when)s (topic: %(topic)s).", name=mentor.name,
              when=_slot_time(slot, booker), topic=topic)
            + ("\n\n" + _("The reason: %(reason)s", reason=reason) if reason else "")))
    db.session.delete(slot)
    db.session.flush()


def _slot_time(slot: MentorSlot, reader: User) -> str:
    try:
        zone = ZoneInfo(getattr(reader, "timezone", None) or "Asia/Shanghai")
    except (ValueError, KeyError):
        zone = ZoneInfo("Asia/Shanghai")
    return slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def save_session_notes(slot: MentorSlot, notes: str) -> MentorSlot:
    if slot.booked_by_id is None:
        raise Conflict(_("Nobody booked this slot."))
    slot.notes = (notes or "").strip()
    db.session.flush()
    return slot


def leave_session_feedback(slot: MentorSlot, user: User, rating: int, feedback: str = "") -> MentorSlot:
    """The founder who booked rates the session once it is over; the mentor's rating follows."""
    if slot.booked_by_id != user.id:
        raise Conflict(_("Only the founder who booked the session can rate it."))
    if slot.ends_at > utcnow():
        raise Conflict(_("Rate the session after it took place."))
    if rating is None or not 1 <= rating <= 5:
        raise ValidationFailed.field("rating", _("A rating from 1 to 5."))
    result = db.session.execute(update(MentorSlot).where(MentorSlot.id == slot.id, MentorSlot.rating.is_(None))
                                .values(rating=rating, feedback=(feedback or "").strip())
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_("You already rated this session."))
    db.session.execute(update(MentorProfile).where(MentorProfile.id == slot.mentor_profile_id)
                       .values(rating_sum=MentorProfile.rating_sum + rating,
                               rating_count=MentorProfile.rating_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(slot)
    db.session.refresh(slot.mentor_profile)
    return slot


def bookings_of(user: User) -> list[MentorSlot]:
    return list(db.session.scalars(select(MentorSlot).where(MentorSlot.booked_by_id == user.id)
                                   .order_by(MentorSlot.starts_at.desc())))


# ---- co-creation -----------------------------------------------------------------------------

def comment_on_idea(idea: Idea, user: User, body: str) -> IdeaComment:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed.field("body", _("This field is required."))
    if len(body) > 2000:
        raise ValidationFailed.field("body", _("At most 2000 characters."))
    comment = IdeaComment(idea_id=idea.id, author_id=user.id, body=body)
    db.session.add(comment)
    db.session.flush()
    return comment


def comments_of(idea: Idea) -> list[IdeaComment]:
    return list(db.session.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id)
                                   .order_by(IdeaComment.created_at, IdeaComment.id)))


def vote_count(idea: Idea) -> int:
    return db.session.scalar(select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id)) or 0


def adopt_idea(idea: Idea, project: Project, user: User) -> Project:
    """A founder builds the idea in a project: the link is kept, and the voters hear about it."""
    if project.idea_id is not None:
        raise Conflict(_("This project already builds an idea."), {"project_id": [str(project.id)]})
    if project.status not in OPEN_STATUSES:
        raise Conflict(_("A closed project cannot adopt an idea."), {"status": [project.status]})
    project.idea_id = idea.id
    db.session.flush()
    add_timeline_note(project, "idea_adopted", _("Adopted the idea: %(title)s", title=idea.title), user)
    audit.record("idea.adopted", idea, after={"project_id": project.id}, actor_id=user.id)
    voters = list(db.session.scalars(select(User).join(IdeaVote, IdeaVote.user_id == User.id)
                                     .where(IdeaVote.idea_id == idea.id)))
    if idea.author is not None:
        voters.append(idea.author)
    _mail_all([v for v in voters if v.id != user.id], lambda: (
        _("An idea you backed is being built"),
        _("%(project)s adopted the idea \"%(idea)s\" and is building it.", project=project.title,
          idea=idea.title)))
    return project


def projects_of_idea(idea: Idea) -> list[Project]:
    return list(db.session.scalars(select(Project).where(Project.idea_id == idea.id,
                                                         Project.status.not_in(ProjectStatus.PRIVATE))))
