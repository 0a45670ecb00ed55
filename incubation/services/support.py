"""Incubation support: milestones, KPIs, progress updates and support requests to the anchor company."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from incubation.models import (
    SUPPORT_TRANSITIONS,
    Application,
    ApplicationStatus,
    Kpi,
    Milestone,
    Program,
    ProgressUpdate,
    Project,
    ProjectStatus,
    SupportRequest,
    SupportStatus,
)
from incubation.schemas.support import KpiIn, MilestoneIn, NewSupportRequest, ProgressIn, SupportUpdate
from incubation.services.people import founders_of, organisation_members
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_users
from portal.states import transition
from portal.urls import external_url

# ---- incubation support ----------------------------------------------------------------------

SUPPORTED_STATUSES = (ProjectStatus.ACCEPTED, ProjectStatus.INCUBATING)


def _require_incubating(project: Project) -> None:
    if project.status not in SUPPORTED_STATUSES:
        raise Conflict(_("Only accepted and incubating projects have milestones and support."),
                       {"status": [project.status]})


def add_milestone(project: Project, command: MilestoneIn) -> Milestone:
    _require_incubating(project)
    milestone = Milestone(project_id=project.id, title=command.title, due_at=command.due_at)
    db.session.add(milestone)
    db.session.flush()
    return milestone


def add_kpi(project: Project, command: KpiIn) -> Kpi:
    _require_incubating(project)
    name = command.name
    if db.session.scalar(select(Kpi.id).where(Kpi.project_id == project.id, Kpi.name == name)):
        raise Conflict(_("This KPI exists already."), {"name": [name]})
    kpi = Kpi(project_id=project.id, name=name, unit=command.unit, target=command.target)
    db.session.add(kpi)
    db.session.flush()
    return kpi


def update_milestone(milestone: Milestone, user: User, command: MilestoneIn) -> Milestone:
    _require_incubating(_project_of(milestone.project_id))
    milestone.title, milestone.due_at = command.title, command.due_at
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


def update_kpi(kpi: Kpi, user: User, command: KpiIn) -> Kpi:
    _require_incubating(_project_of(kpi.project_id))
    name = command.name
    if db.session.scalar(select(Kpi.id).where(Kpi.project_id == kpi.project_id, Kpi.name == name,
                                              Kpi.id != kpi.id)):
        raise Conflict(_("This KPI exists already."), {"name": [name]})
    before = {"name": kpi.name, "target": kpi.target}
    kpi.name, kpi.target, kpi.unit = name, command.target, command.unit
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


def post_progress(project: Project, author: User, command: ProgressIn, *, milestone: Milestone | None = None,
                  kpi: Kpi | None = None) -> ProgressUpdate:
    """A progress update; `milestone` and `kpi` are the command's `milestone_id` and `kpi_id`, loaded by the
    caller with their permission (the command guarantees a progress comes with a milestone, a KPI value
    with a KPI)."""
    _require_incubating(project)
    progress, kpi_value = command.progress, command.kpi_value
    if milestone is not None and milestone.project_id != project.id:
        raise ValidationFailed.field("milestone_id", _("Not a milestone of this project."))
    if kpi is not None and kpi.project_id != project.id:
        raise ValidationFailed.field("kpi_id", _("Not a KPI of this project."))
    if milestone is not None and progress is not None:
        milestone.progress = progress
        milestone.completed_at = utcnow() if progress == 100 else None
    if kpi is not None and kpi_value is not None:
        kpi.current = kpi_value
    update_row = ProgressUpdate(project_id=project.id, author_id=author.id, body=command.body,
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


def open_support_request(project: Project, user: User, command: NewSupportRequest) -> SupportRequest:
    """Ask the anchor company for help at one stage of the chain; its staff are notified."""
    _require_incubating(project)
    stage = command.stage
    company_id = anchor_company_id(project)
    if company_id is None:
        raise Conflict(_("The project has no anchor company yet: it needs an accepted program application."))
    support = SupportRequest(project_id=project.id, company_id=company_id, stage=stage, title=command.title,
                             body=command.body, requested_by_id=user.id)
    db.session.add(support)
    db.session.flush()
    audit.record("support_request.opened", support, after={"company_id": company_id, "stage": stage},
                 actor_id=user.id)
    send_to_users(organisation_members(company_id), lambda: (
        _("Support request from %(title)s", title=project.title),
        _("%(project)s asks for help (%(stage)s): %(title)s\n\n%(body)s", project=project.title,
          stage=stage, title=support.title, body=support.body)), kind="support.request",
        link=external_url("incubation.project_detail", project_id=project.id))
    return support


def update_support_request(support: SupportRequest, user: User, command: SupportUpdate) -> SupportRequest:
    """Company staff take the request (in progress) and close it with a resolution (the command requires one
    to close)."""
    status, resolution = command.status, command.resolution
    before = transition(support, status, SUPPORT_TRANSITIONS, message=lambda current, target: _(
        "A %(status)s request cannot become %(target)s.", status=current, target=target))
    if status == SupportStatus.IN_PROGRESS or support.assignee_id is None:
        support.assignee_id = user.id
    if status == SupportStatus.CLOSED:
        support.resolution = resolution
        support.closed_at = utcnow()
    db.session.flush()
    audit.record("support_request.status", support, before={"status": before}, after={"status": status},
                 actor_id=user.id)
    if status == SupportStatus.CLOSED:
        send_to_users(founders_of(support.project), lambda: (
            _("Support request closed: %(title)s", title=support.title), resolution), kind="support.request",
            link=external_url("incubation.project_detail", project_id=support.project_id))
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
