"""Dashboard panels and home-page figures of funding."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from funding import services
from funding.models import Campaign, CampaignStatus
from incubation.models import Project
from incubation.services import member_organisation_ids
from portal.auth.models import Role
from portal.extensions import db
from portal.main.dashboard import Panel, panel, stat


@panel
def backer_campaigns_panel(user) -> Panel | None:
    if not user.has_role(Role.BACKER):
        return None
    campaigns = db.session.scalars(services.live_campaigns_stmt().limit(5)).all()
    return Panel(_l("Live campaigns"), "funding/panels/live.html",
                 {"campaigns": campaigns, "totals": services.totals_for(c.id for c in campaigns)}, order=30)


@panel
def founder_campaigns_panel(user) -> Panel | None:
    if not user.has_role(Role.FOUNDER):
        return None
    own = member_organisation_ids(user)
    project_ids = db.session.scalars(select(Project.id).where(Project.organisation_id.in_(own))).all() if own else []
    campaigns = services.campaigns_of_projects(project_ids)
    if not campaigns:
        return None
    return Panel(_l("Your campaigns"), "funding/panels/campaigns.html",
                 {"campaigns": campaigns, "totals": services.totals_for(c.id for c in campaigns)}, order=12)


@stat
def live_campaign_stat() -> tuple[str, int]:
    count = db.session.scalar(select(func.count()).select_from(Campaign)
                              .where(Campaign.status == CampaignStatus.LIVE))
    return str(_l("live campaigns")), count or 0


@panel
def backer_pledges_panel(user) -> Panel | None:
    """A backer's own pledges with their state, and a link to finish anything that needs them."""
    pledges = services.pledges_of(user)[:5]
    if not pledges:
        return None
    return Panel(_l("Your pledges"), "funding/panels/pledges.html", {"pledges": pledges}, order=31)


@panel
def financing_panel(user) -> Panel | None:
    if not (user.has_role(Role.FOUNDER) or user.has_role(Role.COMPANY) or user.is_admin):
        return None
    return Panel(_l("Investment fund"), "funding/panels/financing.html", {}, order=60)
