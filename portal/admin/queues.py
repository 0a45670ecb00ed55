"""The admins' work queues: campaigns awaiting approval, projects awaiting screening, unverified companies,
flagged content (the flags' own page and rules are in portal.moderation).

Each queue is one statement (paged in the database by the view, with what the page shows eager-loaded);
`queue_counts()` counts all four in one query, for the navbar.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from funding.models import Campaign, CampaignStatus
from incubation.models import Project, ProjectStatus
from portal.extensions import db
from portal.organisations.models import Organisation, OrganisationKind

CAMPAIGNS, PROJECTS, COMPANIES, FLAGS = "campaigns", "projects", "companies", "flags"
PROJECT_QUEUE_STATUSES = (ProjectStatus.SUBMITTED, ProjectStatus.SCREENING)


@dataclass(frozen=True)
class Queue:
    key: str
    label: object  # lazy string
    endpoint: str


QUEUES = (
    Queue(CAMPAIGNS, _l("Campaigns awaiting approval"), "admin.queue_campaigns"),
    Queue(PROJECTS, _l("Projects awaiting screening"), "admin.queue_projects"),
    Queue(COMPANIES, _l("Unverified companies"), "admin.queue_companies"),
    Queue(FLAGS, _l("Flagged content"), "moderation.queue_flags"),
)


def _campaign_filter():
    return Campaign.status == CampaignStatus.SUBMITTED


def _project_filter():
    return Project.status.in_(PROJECT_QUEUE_STATUSES)


def _company_filter():
    return (Organisation.kind == OrganisationKind.COMPANY) & Organisation.verified_at.is_(None)


def campaigns_stmt() -> Select:
    """Submitted campaigns, oldest first (first come, first served), with their project and organisation."""
    return (select(Campaign).where(_campaign_filter())
            .options(selectinload(Campaign.project).selectinload(Project.organisation))
            .order_by(Campaign.created_at, Campaign.id))


def projects_stmt() -> Select:
    """Projects submitted or in screening, least recently touched first, with their organisation."""
    return (select(Project).where(_project_filter()).options(selectinload(Project.organisation))
            .order_by(Project.updated_at, Project.id))


def companies_stmt() -> Select:
    """Companies no admin has verified yet, oldest first."""
    return select(Organisation).where(_company_filter()).order_by(Organisation.created_at, Organisation.id)


STATEMENTS = {CAMPAIGNS: campaigns_stmt, PROJECTS: projects_stmt, COMPANIES: companies_stmt}


def queue_counts() -> dict[str, int]:
    """{queue key: items waiting} for every queue, in one query (four scalar sub-selects; flagged content
    counts objects with open flags)."""
    from portal.moderation.services import count_subquery

    row = db.session.execute(select(
        select(func.count(Campaign.id)).where(_campaign_filter()).scalar_subquery(),
        select(func.count(Project.id)).where(_project_filter()).scalar_subquery(),
        select(func.count(Organisation.id)).where(_company_filter()).scalar_subquery(),
        count_subquery(),
    )).one()
    return {CAMPAIGNS: int(row[0] or 0), PROJECTS: int(row[1] or 0), COMPANIES: int(row[2] or 0),
            FLAGS: int(row[3] or 0)}
