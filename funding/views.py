"""HTML pages of funding: live campaigns and a campaign with its progress and reward tiers."""

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from funding import services
from funding.models import Campaign, CampaignStatus, FundingModel
from portal.extensions import db
from portal.permissions import Permission, load

bp = Blueprint("funding", __name__, template_folder="templates")

FUNDING_MODEL_LABELS = {
    FundingModel.ALL_OR_NOTHING: _l("All or nothing"),
    FundingModel.KEEP_IT_ALL: _l("Keep it all"),
}
CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.SUBMITTED: _l("Awaiting approval"),
    CampaignStatus.LIVE: _l("Live"),
    CampaignStatus.SUCCESSFUL: _l("Successful"),
    CampaignStatus.FAILED: _l("Not funded"),
    CampaignStatus.FULFILLED: _l("Fulfilled"),
    CampaignStatus.CANCELLED: _l("Cancelled"),
}


def progress_percent(pledged: int, goal: int) -> int:
    """Whole percent of the goal reached, for the progress bar (integer arithmetic, no floats)."""
    return (pledged * 100) // goal if goal > 0 else 0


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"funding_labels": {"funding_model": FUNDING_MODEL_LABELS, "status": CAMPAIGN_STATUS_LABELS},
                    "progress_percent": progress_percent}


@bp.get("/campaigns/")
def campaign_index():
    campaigns = db.session.scalars(services.live_campaigns_stmt()).all()
    return render_template("funding/campaign_index.html", campaigns=campaigns,
                           totals=services.totals_for(c.id for c in campaigns))


@bp.get("/campaigns/<int:campaign_id>")
def campaign_detail(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    pledged, backers = campaign.totals()
    return render_template("funding/campaign_detail.html", campaign=campaign, pledged=pledged, backers=backers,
                           claimed=services.claimed_per_reward(campaign))
