"""The public campaign list: tabs derived from the campaign statuses and launch times, filters (funding model,
category, search text), featured campaigns; and the launch rule of approved campaigns.

Live: approved, launched (no launch time, or it has passed) and taking pledges. Upcoming: approved with a
launch time still ahead (public: shown with its launch date; it goes live by itself at that time, a
read-time check, `Campaign.is_open`), plus, for the team's members and admins, their campaigns submitted
and awaiting approval (private until approved). Successful: reached the goal (fulfilled included). Ended:
not funded or cancelled. Campaigns hidden by moderators are left out, except for their team and admins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from funding.models import PRIVATE_CAMPAIGN_STATUSES, Campaign, CampaignStatus, FundingModel
from incubation.models import PRIVATE_PROJECT_STATUSES, Project
from portal import audit
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db

LIVE, UPCOMING, SUCCESSFUL, ENDED = "live", "upcoming", "successful", "ended"
TAB_STATUSES: dict[str, tuple[CampaignStatus, ...]] = {
    LIVE: (CampaignStatus.LIVE,),
    UPCOMING: (CampaignStatus.LIVE, CampaignStatus.SUBMITTED),
    SUCCESSFUL: (CampaignStatus.SUCCESSFUL, CampaignStatus.FULFILLED),
    ENDED: (CampaignStatus.FAILED, CampaignStatus.CANCELLED),
}
TAB_LABELS = {LIVE: _l("Live"), UPCOMING: _l("Upcoming"), SUCCESSFUL: _l("Successful"), ENDED: _l("Ended")}
TABS = tuple(TAB_STATUSES)
SEARCH_MAX = 100


def _eager(stmt: Select) -> Select:
    return stmt.options(selectinload(Campaign.project).selectinload(Project.organisation))


def _is_admin(viewer) -> bool:
    return viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_admin


def _own_organisations(viewer) -> list[int]:
    from incubation.services import member_organisation_ids

    return member_organisation_ids(viewer) or [0]


def launched(now: datetime):
    """SQL: launched (no launch time, or it has passed)."""
    return or_(Campaign.launch_at.is_(None), Campaign.launch_at <= now)


def campaigns_in_tab(tab: str, viewer=None, funding_model: str | None = None, *, category: str | None = None,
                     text: str | None = None) -> Select:
    """The campaigns of `tab` that `viewer` may see, with project and organisation eager-loaded.

    Live ends soonest first; upcoming launches soonest first (submitted ones after them); successful and
    ended most recent first."""
    now = utcnow()
    stmt = select(Campaign).join(Project, Campaign.project_id == Project.id)
    if tab == LIVE:
        stmt = stmt.where(Campaign.status == CampaignStatus.LIVE, launched(now))
    elif tab == UPCOMING:
        scheduled = and_(Campaign.status == CampaignStatus.LIVE, Campaign.launch_at > now)
        if _is_admin(viewer):
            stmt = stmt.where(or_(scheduled, Campaign.status == CampaignStatus.SUBMITTED))
        else:
            stmt = stmt.where(or_(scheduled, and_(Campaign.status == CampaignStatus.SUBMITTED,
                                                  Project.organisation_id.in_(_own_organisations(viewer)))))
    else:
        stmt = stmt.where(Campaign.status.in_(TAB_STATUSES[tab]))
    if not _is_admin(viewer):  # hidden by moderators: only the team still sees it (with a banner)
        own = _own_organisations(viewer) if getattr(viewer, "is_authenticated", False) else [0]
        stmt = stmt.where(or_(Campaign.hidden_at.is_(None), Project.organisation_id.in_(own)))
    if funding_model and FundingModel.has(funding_model):
        stmt = stmt.where(Campaign.funding_model == funding_model)
    if category:
        stmt = stmt.where(Project.industry == category)
    text = (text or "").strip()[:SEARCH_MAX]
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(Campaign.title).like(pattern, escape="\\"),
                              func.lower(Campaign.story).like(pattern, escape="\\"),
                              func.lower(Project.title).like(pattern, escape="\\")))
    if tab == LIVE:
        order = (Campaign.deadline, Campaign.id)
    elif tab == UPCOMING:
        order = (Campaign.launch_at.is_(None), Campaign.launch_at, Campaign.created_at, Campaign.id)
    else:
        order = (func.coalesce(Campaign.closed_at, Campaign.deadline).desc(), Campaign.id.desc())
    return _eager(stmt.order_by(*order))


def categories() -> list[str]:
    """The categories (project industries) of public campaigns, for the filter."""
    return [row for row in db.session.scalars(
        select(Project.industry).join(Campaign, Campaign.project_id == Project.id)
        .where(Campaign.status.not_in(PRIVATE_CAMPAIGN_STATUSES), Campaign.hidden_at.is_(None),
               Project.status.not_in(PRIVATE_PROJECT_STATUSES), Project.industry != "")
        .distinct().order_by(Project.industry)) if row]


def featured_live(limit: int = 3) -> Select:
    """Live campaigns for the home page: the ones ending soonest (still open), at most `limit`."""
    return campaigns_in_tab(LIVE).where(Campaign.deadline > utcnow()).limit(limit)


# ---- the launch time ---------------------------------------------------------------------------------

MIN_RUN = timedelta(days=1)


def set_launch(campaign: Campaign, launch_at: datetime | None) -> None:
    """The team schedules when an approved campaign opens (None: as soon as it is approved). Before approval
    only; the launch is in the future and leaves at least a day before the deadline."""
    if campaign.status not in PRIVATE_CAMPAIGN_STATUSES:
        raise Conflict(_("The launch time can only be changed before the campaign is approved."))
    if launch_at is not None:
        if launch_at <= utcnow():
            raise ValidationFailed.field("launch_at", _("The launch time must be in the future."))
        if launch_at > campaign.deadline - MIN_RUN:
            raise ValidationFailed.field("launch_at", _("Launch at least a day before the deadline."))
    before = campaign.launch_at
    campaign.launch_at = launch_at
    db.session.flush()
    audit.record("campaign.launch_scheduled", campaign, before={"launch_at": before}, after={"launch_at": launch_at})
