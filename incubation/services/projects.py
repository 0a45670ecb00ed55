"""Projects: creation, visibility, editing, and the lifecycle (status transitions and the timeline)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from incubation.models import (
    OPEN_STATUSES,
    PROJECT_TRANSITIONS,
    Application,
    IncubationMode,
    Program,
    Project,
    ProjectEvent,
    ProjectStage,
    ProjectStatus,
)
from incubation.services.people import authenticated, founders_of, mail_all
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import role_in, verified_company_ids

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
    actor_id = actor.id if authenticated(actor) else None
    db.session.add(ProjectEvent(project_id=project.id, actor_id=actor_id, from_status=before, to_status=to,
                                kind="status", note=note))
    db.session.flush()
    audit.record(f"project.{to}", project, before={"status": before},
                 after={"status": to, "note": note} if note else {"status": to}, actor_id=actor_id)
    if to == ProjectStatus.REJECTED:
        mail_all(founders_of(project), lambda: (
            _("Your project %(title)s was not accepted", title=project.title),
            _("We are sorry: %(title)s was not accepted.\n\nThe reason:\n%(reason)s",
              title=project.title, reason=note)))
    elif to == ProjectStatus.NEEDS_INFO:
        mail_all(founders_of(project), lambda: (
            _("More information needed for %(title)s", title=project.title),
            _("The reviewers of %(title)s ask for more information:\n%(note)s\n\n"
              "Update the project and submit it again.", title=project.title, note=note)))
    return project


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
