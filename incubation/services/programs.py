"""Programs (creation, publication, editing) and applications to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from incubation.models import (
    Application,
    ApplicationReview,
    ApplicationStatus,
    IncubationMode,
    Program,
    ProgramCriterion,
    ProgramQuestion,
    Project,
    ProjectStatus,
    ReviewAssignment,
)
from incubation.schemas.programs import NewApplication, NewProgram, ProgramTerms, Publication
from incubation.services.documents import former_employers
from incubation.services.people import authenticated, founders_of, organisation_members
from incubation.services.projects import add_timeline_note, member_organisation_ids
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_users
from portal.organisations.models import Organisation, OrganisationKind
from portal.organisations.services import require_verified, set_publication
from portal.states import label_for
from portal.urls import external_url

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


def set_program_published(program: Program, command: Publication, by: User | None = None) -> Program:
    """Publish a draft program (the company must be verified: 409 `organisation_unverified`) or withdraw it."""
    set_publication(program, command.published, program.organisation, by, "program")
    return program


def create_program(organisation: Organisation, command: NewProgram) -> Program:
    """A program of an anchor company; an unverified company prepares it as a draft (`published=False`)."""
    if organisation.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("organisation_id", _("Programs are run by anchor companies."))
    if command.published:
        require_verified(organisation)
    program = Program(organisation_id=organisation.id, title=command.title, description=command.description,
                      mode=command.mode, opens_at=command.opens_at, closes_at=command.closes_at,
                      capacity=command.capacity, blind_review=command.blind_review,
                      credit_amount=command.credit_amount, credit_currency=command.credit_currency,
                      published=command.published)
    for question in command.questions:
        program.questions.append(ProgramQuestion(text=question.text, required=question.required))
    for criterion in command.criteria:
        program.criteria.append(ProgramCriterion(name=criterion.name, weight=criterion.weight))
    db.session.add(program)
    db.session.flush()
    audit.record("program.created", program, after={"organisation_id": organisation.id, "title": program.title,
                                                    "capacity": program.capacity, "published": program.published})
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


def update_program(program: Program, by: User | None, command: ProgramTerms) -> Program:
    """Change the program's terms while no review has been submitted yet (409 afterwards).

    `criteria` / `questions` None leaves them as they are. Questions are matched by position so that
    answers already given (kept by question id) stay with their question.
    """
    blocker = program_edit_blocker(program)
    if blocker:
        raise Conflict(blocker, {"program": [_("reviewed")]})
    accepted = accepted_count(program)
    if command.capacity < accepted:
        raise ValidationFailed.field("capacity", ngettext(
            "%(num)s startup is already accepted: the capacity cannot be lower.",
            "%(num)s startups are already accepted: the capacity cannot be lower.", accepted))
    before = {"title": program.title, "opens_at": program.opens_at.isoformat(),
              "closes_at": program.closes_at.isoformat(), "capacity": program.capacity}
    program.title, program.description = command.title, command.description
    program.opens_at, program.closes_at, program.capacity = command.opens_at, command.closes_at, command.capacity
    if command.criteria is not None:
        existing = {c.name.lower(): c for c in program.criteria}
        wanted = {c.name.lower() for c in command.criteria}
        for key, criterion in existing.items():
            if key not in wanted:
                program.criteria.remove(criterion)
        db.session.flush()  # free the names of removed criteria before adding new ones
        for wanted_criterion in command.criteria:
            criterion = existing.get(wanted_criterion.name.lower())
            if criterion is not None:
                criterion.name, criterion.weight = wanted_criterion.name, wanted_criterion.weight
            else:
                program.criteria.append(ProgramCriterion(name=wanted_criterion.name, weight=wanted_criterion.weight))
    if command.questions is not None:
        current = list(program.questions)
        for index, question in enumerate(command.questions):
            if index < len(current):
                current[index].text, current[index].required = question.text, question.required
            else:
                program.questions.append(ProgramQuestion(text=question.text, required=question.required))
        for stale in current[len(command.questions):]:
            program.questions.remove(stale)
    db.session.flush()
    audit.record("program.updated", program, before=before,
                 after={"title": program.title, "opens_at": program.opens_at.isoformat(),
                        "closes_at": program.closes_at.isoformat(), "capacity": program.capacity,
                        "criteria": [[c.name, c.weight] for c in program.criteria],
                        "questions": len(program.questions)},
                 actor_id=by.id if authenticated(by) else None)
    return program


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
        return _("This program only takes projects in this incubation mode: %(mode)s.",
                 mode=label_for(program.mode, "IncubationMode"))
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


def existing_application(program: Program, project: Project) -> Application | None:
    return db.session.scalar(select(Application).where(Application.program_id == program.id,
                                                       Application.project_id == project.id))


def application_refusal(program: Program, project: Project) -> Conflict | ValidationFailed | None:
    """Why `project` may not apply to `program`, as the refusal `apply_to_program` raises, or None.
    The apply page offers only the projects without one and shows the others with its message."""
    if project.status not in APPLICABLE_STATUSES:
        message = _("Submit the project for screening before applying.")
        return Conflict(message, {"project_id": [message]})
    if existing_application(program, project) is not None:
        message = _("This project already applied to this program.")
        return Conflict(message, {"project_id": [message]})
    failure = program_gate_failure(program, project)
    if failure:
        return ValidationFailed.field("project_id", failure)
    return None


def apply_to_program(program: Program, project: Project, user: User, command: NewApplication) -> Application:
    """`project` is the command's project, loaded by the caller with its permission."""
    if not program.published or not program.is_open():
        raise Conflict(_("This program is not open for applications."), {"program": [_("closed")]})
    refusal = application_refusal(program, project)
    if refusal is not None:
        raise refusal
    answers = dict(command.answers or {})
    fields = answer_fields(program)
    unknown = set(answers) - {f.key for f in fields}
    if unknown:
        raise ValidationFailed.field("answers", _("Unknown question: %(ids)s", ids=", ".join(sorted(unknown))))
    for answer_field in fields:
        if answer_field.required and not answers.get(answer_field.key):
            raise ValidationFailed.field(f"answers.{answer_field.key}", _("This question needs an answer."))
    application = Application(program_id=program.id, project_id=project.id, submitted_by_id=user.id,
                              answers={k: v for k, v in answers.items() if v}, status=ApplicationStatus.SUBMITTED)
    db.session.add(application)
    db.session.flush()
    add_timeline_note(project, "applied", _("Applied to %(program)s", program=program.title), user)
    audit.record("application.submitted", application, after={"program_id": program.id,
                                                              "project_id": project.id}, actor_id=user.id)
    link = external_url("incubation.application_detail", application_id=application.id)
    managers = [m for m in organisation_members(program.organisation_id) if m.id != user.id]
    send_to_users(managers, lambda: (
        _("New application to %(program)s", program=program.title),
        _("Application #%(id)s to %(program)s has arrived. Assign reviewers and decide here:\n%(link)s",
          id=application.id, program=program.title, link=link)), kind="program.application", link=link)
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
