"""Funding: crowdfunding campaigns of projects, their reward tiers, and backers' pledges.

Money is integer minor units in the campaign's currency; never floats.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incubation.models import Project
from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FundingModel:
    ALL_OR_NOTHING = "all_or_nothing"
    KEEP_IT_ALL = "keep_it_all"
    ALL = (ALL_OR_NOTHING, KEEP_IT_ALL)


class CampaignStatus:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LIVE = "live"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    ALL = (DRAFT, SUBMITTED, LIVE, SUCCESSFUL, FAILED, FULFILLED, CANCELLED)
    PRIVATE = (DRAFT, SUBMITTED)  # seen only by the project's organisation and admins


class PledgeStatus:
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COLLECTED = "collected"
    ERRORED = "errored"
    NEEDS_AUTHENTICATION = "needs_authentication"
    DROPPED = "dropped"
    RELEASED = "released"
    REFUNDED = "refunded"
    ALL = (ACTIVE, CANCELLED, COLLECTED, ERRORED, NEEDS_AUTHENTICATION, DROPPED, RELEASED, REFUNDED)
    COUNTED = (ACTIVE, COLLECTED)  # pledges that make up a campaign's pledged total


class Campaign(db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("goal_amount > 0", name="goal_amount_positive"),
        CheckConstraint(_in("status", CampaignStatus.ALL), name="status_valid"),
        CheckConstraint(_in("funding_model", FundingModel.ALL), name="funding_model_valid"),
        Index("ix_campaign_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    story: Mapped[str] = mapped_column(Text, default="")
    goal_amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    funding_model: Mapped[str] = mapped_column(String(20), default=FundingModel.ALL_OR_NOTHING)
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship()
    rewards: Mapped[list[Reward]] = relationship(back_populates="campaign", order_by="Reward.amount")

    def totals(self) -> tuple[int, int]:
        """(pledged amount, number of distinct backers) over active and collected pledges, in one query."""
        row = db.session.execute(
            select(func.coalesce(func.sum(Pledge.amount), 0), func.count(func.distinct(Pledge.backer_id)))
            .where(Pledge.campaign_id == self.id, Pledge.status.in_(PledgeStatus.COUNTED))).one()
        return int(row[0]), int(row[1])

    def pledged_amount(self) -> int:
        return self.totals()[0]

    def backer_count(self) -> int:
        return self.totals()[1]

    @property
    def is_public(self) -> bool:
        return self.status not in CampaignStatus.PRIVATE

    def days_left(self, now: datetime | None = None) -> int:
        seconds = (self.deadline - (now or utcnow())).total_seconds()
        return max(0, math.ceil(seconds / 86400))

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.status}>"


class Reward(db.Model):
    """A reward tier: backers pledging at least `amount` get it. `quantity` None means unlimited."""

    __tablename__ = "reward"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int] = mapped_column()
    quantity: Mapped[int | None] = mapped_column()
    estimated_delivery: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="rewards")


class Pledge(db.Model):
    """A backer's promise to pay `amount` (campaign currency), charged only when the campaign settles."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("status", PledgeStatus.ALL), name="status_valid"),
        Index("ix_pledge_campaign_id_status", "campaign_id", "status"),
        Index("ix_pledge_reward_id_status", "reward_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    backer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("reward.id"))
    amount: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(30), default=PledgeStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    backer: Mapped[User] = relationship()
    reward: Mapped[Reward | None] = relationship()

    @property
    def currency(self) -> str:
        return self.campaign.currency
