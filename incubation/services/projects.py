"""Projects: creation, visibility, editing, and the lifecycle (status transitions and the timeline)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from incubation.models import (
    OPEN_STATUSES,
    PRIVATE_PROJECT_STATUSES,
    PROJECT_TRANSITIONS,
    Application,
    Program,
    Project,
    ProjectEvent,
    ProjectStatus,
)
from incubation.schemas.projects import ProjectDraft, ProjectPatch
from incubation.services.people import authenticated, founders_of
from portal import audit
from portal.auth.models import Role, User, UserRole
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_users
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import role_in, verified_company_ids
from portal.states import check_transition, label_for
from portal.urls import external_url

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
    public = Project.status.not_in(PRIVATE_PROJECT_STATUSES)
    return stmt.where(or_(public, Project.organisation_id.in_(own)) if own else public)


def projects_of(user: User) -> list[Project]:
    own = member_organisation_ids(user)
    if not own:
        return []
    return list(db.session.scalars(
        select(Project).where(Project.organisation_id.in_(own)).order_by(Project.updated_at.desc())))


def industries_in_use() -> list[str]:
    return list(db.session.scalars(
        select(Project.industry).where(Project.status.not_in(PRIVATE_PROJECT_STATUSES), Project.industry != "")
        .distinct().order_by(Project.industry)))


def create_project(organisation: Organisation, author: User, command: ProjectDraft) -> Project:
    """A new draft project of a startup. The caller checked that `author` may create it."""
    if organisation.kind != OrganisationKind.STARTUP:
        raise ValidationFailed.field("organisation_id", _("Projects belong to startups, not anchor companies."))
    sought = command.funding_sought
    amount = sought.amount if sought is not None else None
    currency = sought.currency if sought is not None else "CNY"
    project = Project(organisation_id=organisation.id, title=command.title, summary=command.summary,
                      industry=command.industry, stage=command.stage, mode=command.mode,
                      funding_sought_amount=amount, currency=currency, status=ProjectStatus.DRAFT,
                      **{name: getattr(command, name) for name in PROJECT_TEXT_FIELDS if name != "summary"})
    db.session.add(project)
    db.session.flush()
    audit.record("project.created", project, after={"organisation_id": organisation.id, "title": command.title,
                                                    "mode": command.mode, "funding_sought_amount": amount,
                                                    "currency": project.currency}, actor_id=author.id)
    return project


def submit_project(project: Project, actor: User | None = None) -> Project:
    """Draft (or sent back for more information) -> submitted for screening."""
    return transition_project(project, ProjectStatus.SUBMITTED, actor=actor)


def can_create_project(user: User | None, organisation: Organisation) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_admin or role_in(user, organisation.id) is not None


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
    check_transition(project, to, PROJECT_TRANSITIONS, message=lambda status, target: _(
        "A project in status %(status)s cannot become %(target)s.", status=status, target=target))
    note = (note or "").strip()
    if to == ProjectStatus.REJECTED and not note:
        raise ValidationFailed.field("note", _("Give the founders the reason for the rejection."))
    before = project.status
    project.status = to
    project.updated_at = utcnow()
    actor_id = actor.id if authenticated(actor) else None
    db.session.add(ProjectEvent(project_id=project.id, actor_id=actor_id, from_status=before, to_status=to,
                                kind="status", note=note))
    db.session.flush()
    audit.record(f"project.{to}", project, before={"status": before},
                 after={"status": to, "note": note} if note else {"status": to}, actor_id=actor_id)
    _notify_transition(project, before, to, note, actor_id)
    return project


def _notify_transition(project: Project, before: str, to: str, note: str, actor_id: int | None) -> None:
    """The founders hear of every step (a rejection with its reason), except the one who took it; a
    submission is confirmed to all of them and announced to the platform admins, who screen."""
    link = external_url("incubation.project_detail", project_id=project.id)
    if to == ProjectStatus.REJECTED:
        send_to_users(founders_of(project), lambda: (
            _("Your project %(title)s was not accepted", title=project.title),
            _("We are sorry: %(title)s was not accepted.\n\nThe reason:\n%(reason)s",
              title=project.title, reason=note)), kind="project.status", link=link)
    elif to == ProjectStatus.NEEDS_INFO:
        send_to_users(founders_of(project), lambda: (
            _("More information needed for %(title)s", title=project.title),
            _("The reviewers of %(title)s ask for more information:\n%(note)s\n\n"
              "Update the project and submit it again.", title=project.title, note=note)),
            kind="project.status", link=link)
    elif to != ProjectStatus.SCREENING:  # screening starts with an application's review: its mails tell
        founders = [f for f in founders_of(project) if to == ProjectStatus.SUBMITTED or f.id != actor_id]
        send_to_users(founders, lambda: (
            _("%(title)s: %(status)s", title=project.title, status=label_for(to, "ProjectStatus")),
            _("The status of %(title)s changed from %(before)s to %(status)s.", title=project.title,
              before=label_for(before, "ProjectStatus"), status=label_for(to, "ProjectStatus"))
            + (("\n\n" + note) if note else "") + "\n" + link), kind="project.status", link=link)
    if to == ProjectStatus.SUBMITTED:
        admins = db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.ADMIN).order_by(User.id))
        queue = external_url("admin.queue_projects")
        send_to_users(admins, lambda: (
            _("Project submitted for screening: %(title)s", title=project.title),
            _("%(title)s was submitted for screening. Open the queue:\n%(link)s", title=project.title, link=queue)),
            kind="project.submitted", link=link)


def add_timeline_note(project: Project, kind: str, note: str, actor: User | None = None) -> ProjectEvent:
    event = ProjectEvent(project_id=project.id, actor_id=actor.id if authenticated(actor) else None,
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


def update_project(project: Project, command: ProjectPatch) -> Project:
    """Edit the pitch: the fields the command carries (`command.sent()`). Only while the founders still own
    the text (not after a final decision)."""
    if project.status not in OPEN_STATUSES:
        raise Conflict(_("A closed project cannot be edited."), {"status": [project.status]})
    changes = command.sent()
    if "funding_sought" in changes:
        sought = changes.pop("funding_sought")
        changes["funding_sought_amount"] = sought.amount if sought is not None else None
        if sought is not None:
            changes["currency"] = sought.currency
    before = {}
    for name, value in changes.items():
        if value is None and name != "funding_sought_amount":
            value = ""  # a pitch text sent as null is cleared (title, stage and mode are never null)
        before[name] = getattr(project, name)
        setattr(project, name, value)
    project.updated_at = utcnow()
    db.session.flush()
    audit.record("project.updated", project, before={"fields": sorted(before)})
    return project
