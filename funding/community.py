"""A campaign's community: stretch goals, updates (public or for backers), comments and questions, and the
backer survey after success. Functions take the commands of `funding.schemas`, flush and never commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from funding import notices
from funding.models import (
    PLEDGE_STATUSES_AT_DEADLINE,
    Campaign,
    CampaignComment,
    CampaignStatus,
    CampaignUpdate,
    Pledge,
    PledgeStatus,
    StretchGoal,
)
from funding.schemas import NewComment, NewStretchGoal, NewUpdate, SurveyAnswers
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db

__all__ = ["SURVEY_FIELDS", "add_stretch_goal", "answer_survey", "comments_for", "is_backer", "post_comment",
           "post_update", "stretch_goals", "updates_for"]


def is_backer(user: User | None, campaign: Campaign) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(func.count()).select_from(Pledge).where(
        Pledge.campaign_id == campaign.id, Pledge.backer_id == user.id,
        Pledge.status.in_(PLEDGE_STATUSES_AT_DEADLINE))) > 0


# ---- stretch goals ----------------------------------------------------------------------------------

def add_stretch_goal(campaign: Campaign, cmd: NewStretchGoal) -> StretchGoal:
    if cmd.amount <= campaign.goal_amount:
        raise ValidationFailed.field("amount", _("A stretch goal lies above the goal."))
    goal = StretchGoal(campaign_id=campaign.id, amount=cmd.amount, title=cmd.title, description=cmd.description)
    db.session.add(goal)
    db.session.flush()
    return goal


def stretch_goals(campaign: Campaign) -> list[StretchGoal]:
    return list(db.session.scalars(select(StretchGoal).where(StretchGoal.campaign_id == campaign.id)
                                   .order_by(StretchGoal.amount)))


# ---- updates and comments ---------------------------------------------------------------------------

def post_update(campaign: Campaign, author: User, cmd: NewUpdate) -> CampaignUpdate:
    update = CampaignUpdate(campaign_id=campaign.id, author_id=author.id, title=cmd.title, body=cmd.body,
                            backers_only=cmd.backers_only)
    db.session.add(update)
    db.session.flush()
    notices.update_posted(update)
    return update


def updates_for(campaign: Campaign, user: User | None, team: bool) -> list[CampaignUpdate]:
    stmt = select(CampaignUpdate).where(CampaignUpdate.campaign_id == campaign.id)
    if not team and not is_backer(user, campaign):
        stmt = stmt.where(CampaignUpdate.backers_only.is_(False))
    return list(db.session.scalars(stmt.order_by(CampaignUpdate.created_at.desc())))


def post_comment(campaign: Campaign, author: User, cmd: NewComment) -> CampaignComment:
    """A comment, a question for the team (`is_question`), or an answer to one (`parent_id`)."""
    if not campaign.is_public:
        raise Conflict(_("Comments open when the campaign is public."))
    parent = None
    if cmd.parent_id is not None:
        parent = db.session.get(CampaignComment, cmd.parent_id)
        if parent is None:
            raise ValidationFailed.field("parent_id", _("That comment does not exist."))
        if parent.campaign_id != campaign.id:
            raise ValidationFailed.field("parent_id", _("That comment belongs to another campaign."))
    comment = CampaignComment(campaign_id=campaign.id, author_id=author.id, body=cmd.body,
                              is_question=cmd.is_question and parent is None,
                              parent_id=parent.id if parent else None)
    db.session.add(comment)
    db.session.flush()
    notices.comment_posted(comment)
    return comment


def comments_for(campaign: Campaign) -> list[CampaignComment]:
    return list(db.session.scalars(select(CampaignComment).where(CampaignComment.campaign_id == campaign.id)
                                   .order_by(CampaignComment.created_at)))


# ---- surveys ----------------------------------------------------------------------------------------

SURVEY_FIELDS = ("name", "address", "city", "postcode", "country", "phone")


def answer_survey(pledge: Pledge, cmd: SurveyAnswers) -> Pledge:
    """After success, the backer gives a shipping address and picks the reward's variant."""
    if pledge.campaign.status not in (CampaignStatus.SUCCESSFUL, CampaignStatus.FULFILLED) \
            or pledge.status != PledgeStatus.COLLECTED:
        raise Conflict(_("The survey opens once your pledge is collected."))
    answers = {name: getattr(cmd, name) for name in SURVEY_FIELDS}
    variants = pledge.reward.variants if pledge.reward else []
    if variants:
        if cmd.variant not in variants:
            raise ValidationFailed.field("variant", _("Choose one of: %(choices)s", choices=", ".join(variants)))
        answers["variant"] = cmd.variant
    pledge.survey_answers = answers
    pledge.survey_completed_at = utcnow()
    db.session.flush()
    audit.record("pledge.survey_answered", pledge)
    return pledge
