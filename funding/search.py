"""Funding's searchable documents: live campaigns of public projects (registered with portal.search)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from funding.models import Campaign, CampaignStatus
from incubation.models import PRIVATE_PROJECT_STATUSES, Project
from portal.extensions import db
from portal.search.documents import CAMPAIGN, ORGANISATION, PROJECT, document
from portal.search.registry import (
    DocumentType,
    Key,
    Source,
    expander,
    register_document_type,
    register_source,
)


def campaign_document(campaign: Campaign) -> dict | None:
    project = campaign.project
    if campaign.status != CampaignStatus.LIVE or project is None or project.status in PRIVATE_PROJECT_STATUSES:
        return None
    organisation = project.organisation
    return document(
        CAMPAIGN, campaign.id, title=campaign.title,
        keywords=[project.title, project.industry, organisation.name, organisation.city],
        body=[project.summary, campaign.story], city=organisation.city, industries=[project.industry],
        kind=campaign.funding_model, price_min=campaign.goal_amount, price_max=campaign.goal_amount,
        currency=campaign.currency, created_at=campaign.created_at)


def _searchable_campaigns():
    return select(func.count(Campaign.id)).join(Project, Project.id == Campaign.project_id).where(
        Campaign.status == CampaignStatus.LIVE, Project.status.not_in(PRIVATE_PROJECT_STATUSES))


@expander(PROJECT)
def campaigns_of_project(project_id: int) -> set[Key]:
    """A campaign's document shows its project's title, industry and summary."""
    return {(CAMPAIGN, i) for i in db.session.scalars(select(Campaign.id).where(Campaign.project_id == project_id))}


@expander(ORGANISATION)
def campaigns_of_organisation(organisation_id: int) -> set[Key]:
    """... and the project's organisation's name and city."""
    ids = db.session.scalars(select(Campaign.id).join(Project, Project.id == Campaign.project_id).where(
        Project.organisation_id == organisation_id))
    return {(CAMPAIGN, i) for i in ids}


register_document_type(DocumentType(
    CAMPAIGN, Campaign, campaign_document, _searchable_campaigns, "funding.campaign_detail", "campaign_id",
    lock_class=7304, order=40,
    searchable=lambda c: c.status == CampaignStatus.LIVE and c.project is not None
    and c.project.status not in PRIVATE_PROJECT_STATUSES,
    load_options=lambda: (selectinload(Campaign.project).selectinload(Project.organisation),)))
register_source(Source(Campaign, lambda o: [(CAMPAIGN, o.id)]))
