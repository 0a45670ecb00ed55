"""The public campaign list: tabs derived from the campaign statuses, a funding-model filter, featured campaigns.

Live: approved and taking pledges. Upcoming: submitted and awaiting approval; private until approved, so
only the team's members and admins see theirs here. Successful: reached the goal (fulfilled included).
Ended: not funded or cancelled.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from funding.models import Campaign, CampaignStatus, FundingModel
from incubation.models import Project
from portal.db import utcnow

LIVE, UPCOMING, SUCCESSFUL, ENDED = "live", "upcoming", "successful", "ended"
TAB_STATUSES: dict[str, tuple[CampaignStatus, ...]] = {
    LIVE: (CampaignStatus.LIVE,),
    UPCOMING: (CampaignStatus.SUBMITTED,),
    SUCCESSFUL: (CampaignStatus.SUCCESSFUL, CampaignStatus.FULFILLED),
    ENDED: (CampaignStatus.FAILED, CampaignStatus.CANCELLED),
}
TAB_LABELS = {LIVE: _l("Live"), UPCOMING: _l("Upcoming"), SUCCESSFUL: _l("Successful"), ENDED: _l("Ended")}
TABS = tuple(TAB_STATUSES)


def _eager(stmt: Select) -> Select:
    return stmt.options(selectinload(Campaign.project).selectinload(Project.organisation))


def campaigns_in_tab(tab: str, viewer=None, funding_model: str | None = None) -> Select:
    """The campaigns of `tab` that `viewer` may see, with project and organisation eager-loaded.

    Live ends soonest first; upcoming oldest submission first; successful and ended most recent first."""
    stmt = select(Campaign).where(Campaign.status.in_(TAB_STATUSES[tab]))
    if tab == UPCOMING and not (viewer is not None and getattr(viewer, "is_authenticated", False)
                                and viewer.is_admin):
        from incubation.services import member_organisation_ids

        own = member_organisation_ids(viewer)
        stmt = stmt.join(Project, Campaign.project_id == Project.id).where(Project.organisation_id.in_(own or [0]))
    if funding_model and FundingModel.has(funding_model):
        stmt = stmt.where(Campaign.funding_model == funding_model)
    if tab == LIVE:
        order = (Campaign.deadline, Campaign.id)
    elif tab == UPCOMING:
        order = (Campaign.created_at, Campaign.id)
    else:
        order = (func.coalesce(Campaign.closed_at, Campaign.deadline).desc(), Campaign.id.desc())
    return _eager(stmt.order_by(*order))


def featured_live(limit: int = 3) -> Select:
    """Live campaigns for the home page: the ones ending soonest (still open), at most `limit`."""
    return campaigns_in_tab(LIVE).where(Campaign.deadline > utcnow()).limit(limit)
