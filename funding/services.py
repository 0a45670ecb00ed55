"""Funding rules: campaigns and their life cycle, reward tiers, pledges and pledged totals.

Functions flush and never commit. Every change of state or money is written to the audit log.
Payment (Stripe or the sandbox) is not here yet: `place_pledge` records the promise only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from funding.models import Campaign, CampaignStatus, FundingModel, Pledge, PledgeStatus, Reward
from incubation.models import Project
from incubation.services import member_organisation_ids
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db

# ---- reading ---------------------------------------------------------------------------------


def visible_campaigns(user: User | None) -> Select:
    """Campaigns `user` may see: public ones, plus drafts and submitted ones of their own organisations."""
    stmt = select(Campaign)
    if user is not None and getattr(user, "is_authenticated", False) and user.is_admin:
        return stmt
    public = Campaign.status.not_in(CampaignStatus.PRIVATE)
    own = member_organisation_ids(user)
    if not own:
        return stmt.where(public)
    own_projects = select(Project.id).where(Project.organisation_id.in_(own))
    return stmt.where(or_(public, Campaign.project_id.in_(own_projects)))


def live_campaigns_stmt() -> Select:
    return select(Campaign).where(Campaign.status == CampaignStatus.LIVE).order_by(Campaign.deadline)


def totals_for(campaign_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """{campaign id: (pledged amount, backers)} for many campaigns in one grouped query."""
    ids = list(campaign_ids)
    totals = {campaign_id: (0, 0) for campaign_id in ids}
    if not ids:
        return totals
    rows = db.session.execute(
        select(Pledge.campaign_id, func.sum(Pledge.amount), func.count(func.distinct(Pledge.backer_id)))
        .where(Pledge.campaign_id.in_(ids), Pledge.status.in_(PledgeStatus.COUNTED))
        .group_by(Pledge.campaign_id))
    for campaign_id, amount, backers in rows:
        totals[campaign_id] = (int(amount or 0), int(backers or 0))
    return totals


def claimed_per_reward(campaign: Campaign) -> dict[int, int]:
    """{reward id: pledges holding it} over active and collected pledges."""
    rows = db.session.execute(
        select(Pledge.reward_id, func.count()).where(
            Pledge.campaign_id == campaign.id, Pledge.reward_id.is_not(None),
            Pledge.status.in_(PledgeStatus.COUNTED)).group_by(Pledge.reward_id))
    return {reward_id: int(count) for reward_id, count in rows}


def campaigns_of_projects(project_ids: Iterable[int]) -> list[Campaign]:
    ids = list(project_ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Campaign).where(Campaign.project_id.in_(ids))
                                   .order_by(Campaign.created_at.desc())))


# ---- campaigns -------------------------------------------------------------------------------

def _check_currency(currency: str) -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed.field("currency", _("Use a three-letter ISO 4217 currency code."))
    return currency


def create_campaign(project: Project, *, title: str, goal_amount: int, currency: str, deadline: datetime,
                    funding_model: str = FundingModel.ALL_OR_NOTHING, story: str = "") -> Campaign:
    """A draft campaign for a project. The caller checked that the user may edit the project."""
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    if goal_amount is None or goal_amount <= 0:
        raise ValidationFailed.field("goal", _("The goal must be more than zero."))
    if funding_model not in FundingModel.ALL:
        raise ValidationFailed.field("funding_model", _("Choose all_or_nothing or keep_it_all."))
    if deadline is None or deadline <= utcnow():
        raise ValidationFailed.field("deadline", _("The deadline must be in the future."))
    campaign = Campaign(project_id=project.id, title=title, story=story or "", goal_amount=goal_amount,
                        currency=_check_currency(currency), deadline=deadline, funding_model=funding_model,
                        status=CampaignStatus.DRAFT)
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", campaign, after={"project_id": project.id, "goal_amount": goal_amount,
                                                      "currency": campaign.currency, "deadline": deadline,
                                                      "funding_model": funding_model})
    return campaign


def add_reward(campaign: Campaign, *, title: str, amount: int, quantity: int | None = None, description: str = "",
               estimated_delivery: date | None = None) -> Reward:
    if campaign.status not in CampaignStatus.PRIVATE:
        raise Conflict(_("Rewards can only be added before the campaign goes live."))
    title = (title or "").strip()
    if not title:
        raise ValidationFailed.field("title", _("This field is required."))
    if amount is None or amount < 0:
        raise ValidationFailed.field("amount", _("The amount cannot be negative."))
    if quantity is not None and quantity < 1:
        raise ValidationFailed.field("quantity", _("The quantity must be at least 1, or empty for unlimited."))
    reward = Reward(campaign_id=campaign.id, title=title, description=description or "", amount=amount,
                    quantity=quantity, estimated_delivery=estimated_delivery)
    db.session.add(reward)
    db.session.flush()
    audit.record("reward.created", reward, after={"campaign_id": campaign.id, "amount": amount,
                                                  "currency": campaign.currency, "quantity": quantity})
    return reward


def _transition(campaign: Campaign, allowed_from: tuple[str, ...], to: str, action: str) -> Campaign:
    if campaign.status not in allowed_from:
        raise Conflict(_("A campaign in status %(status)s cannot become %(target)s.",
                         status=campaign.status, target=to), {"status": [campaign.status]})
    before = campaign.status
    campaign.status = to
    db.session.flush()
    audit.record(action, campaign, before={"status": before}, after={"status": to})
    return campaign


def submit_campaign(campaign: Campaign) -> Campaign:
    return _transition(campaign, (CampaignStatus.DRAFT,), CampaignStatus.SUBMITTED, "campaign.submitted")


def approve_campaign(campaign: Campaign) -> Campaign:
    """Submitted -> live (platform admins; checked by the caller)."""
    if campaign.deadline <= utcnow():
        raise ValidationFailed.field("deadline", _("The deadline has passed; move it before going live."))
    return _transition(campaign, (CampaignStatus.SUBMITTED,), CampaignStatus.LIVE, "campaign.approved")


# ---- pledges ---------------------------------------------------------------------------------

def place_pledge(campaign: Campaign, backer: User, amount: int, reward: Reward | None = None) -> Pledge:
    """Record an active pledge in the campaign's currency. Sold-out rewards and closed campaigns -> 409."""
    if campaign.status != CampaignStatus.LIVE or campaign.deadline <= utcnow():
        raise Conflict(_("This campaign is not taking pledges."))
    if amount is None or amount <= 0:
        raise ValidationFailed.field("amount", _("The amount must be more than zero."))
    if reward is not None:
        if reward.campaign_id != campaign.id:
            raise ValidationFailed.field("reward_id", _("This reward belongs to another campaign."))
        if amount < reward.amount:
            raise ValidationFailed.field("amount", _("This reward needs a pledge of at least its amount."))
        if reward.quantity is not None:
            # Lock the reward row (PostgreSQL) so two backers cannot take the last one at the same time.
            db.session.execute(select(Reward.id).where(Reward.id == reward.id).with_for_update())
            taken = db.session.scalar(select(func.count()).select_from(Pledge).where(
                Pledge.reward_id == reward.id, Pledge.status.in_(PledgeStatus.COUNTED))) or 0
            if taken >= reward.quantity:
                raise Conflict(_("This reward is sold out."), {"reward_id": [_("sold out")]})
    pledge = Pledge(campaign_id=campaign.id, backer_id=backer.id, reward_id=reward.id if reward else None,
                    amount=amount, status=PledgeStatus.ACTIVE)
    db.session.add(pledge)
    db.session.flush()
    audit.record("pledge.created", pledge, after={"campaign_id": campaign.id, "amount": amount,
                                                  "currency": campaign.currency, "reward_id": pledge.reward_id},
                 actor_id=backer.id)
    return pledge


def cancel_pledge(pledge: Pledge) -> Pledge:
    """The backer withdraws an active pledge before the deadline."""
    if pledge.status != PledgeStatus.ACTIVE or pledge.campaign.deadline <= utcnow():
        raise Conflict(_("This pledge can no longer be cancelled."))
    pledge.status = PledgeStatus.CANCELLED
    db.session.flush()
    audit.record("pledge.cancelled", pledge, before={"status": PledgeStatus.ACTIVE},
                 after={"status": PledgeStatus.CANCELLED, "amount": pledge.amount,
                        "currency": pledge.campaign.currency})
    return pledge
