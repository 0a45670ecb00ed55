"""JSON API of funding (read side): campaigns with their pledged totals and reward tiers."""

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from funding import services
from funding.models import Campaign, CampaignStatus, Reward
from portal.api import api_blueprint, doc, iso, money, paginate
from portal.errors import ValidationFailed
from portal.permissions import Permission, load

bp = api_blueprint("funding_api", __name__)


def reward_json(reward: Reward, claimed: int) -> dict:
    return {
        "id": reward.id,
        "title": reward.title,
        "description": reward.description,
        "amount": reward.amount,
        "quantity": reward.quantity,
        "remaining": None if reward.quantity is None else max(0, reward.quantity - claimed),
        "estimated_delivery": reward.estimated_delivery.isoformat() if reward.estimated_delivery else None,
    }


def campaign_json(campaign: Campaign, totals: tuple[int, int] | None = None, with_rewards: bool = False) -> dict:
    pledged, backers = totals if totals is not None else campaign.totals()
    data = {
        "id": campaign.id,
        "project_id": campaign.project_id,
        "title": campaign.title,
        "status": campaign.status,
        "goal": money(campaign.goal_amount, campaign.currency),
        "pledged": money(pledged, campaign.currency),
        "backers": backers,
        "deadline": iso(campaign.deadline),
        "funding_model": campaign.funding_model,
        "created_at": iso(campaign.created_at),
    }
    if with_rewards:
        claimed = services.claimed_per_reward(campaign)
        data["story"] = campaign.story
        data["rewards"] = [reward_json(r, claimed.get(r.id, 0)) for r in campaign.rewards]
    return data


@bp.get("/campaigns")
@doc("List campaigns: public ones, plus drafts of your own organisations", auth=False,
     query={"status": "campaign status, e.g. live", "project_id": "only this project's campaigns"})
def campaign_list():
    stmt = services.visible_campaigns(current_user)
    status = request.args.get("status")
    if status:
        if status not in CampaignStatus.ALL:
            raise ValidationFailed.field("status", _("Choose one of: %(choices)s",
                                                     choices=", ".join(CampaignStatus.ALL)))
        stmt = stmt.where(Campaign.status == status)
    if request.args.get("project_id", "").isdigit():
        stmt = stmt.where(Campaign.project_id == int(request.args["project_id"]))
    stmt = stmt.order_by(Campaign.deadline, Campaign.id)
    # Totals for the whole page in one grouped query rather than one per campaign.
    page = paginate(stmt, lambda c: c)
    totals = services.totals_for(c.id for c in page["items"])
    page["items"] = [campaign_json(c, totals[c.id]) for c in page["items"]]
    return jsonify(page)


@bp.get("/campaigns/<int:campaign_id>")
@doc("One campaign with its goal, pledged total (active and collected pledges), backers and rewards", auth=False)
def campaign_get(campaign_id: int):
    return jsonify(campaign_json(load(Campaign, campaign_id, Permission.VIEW), with_rewards=True))
