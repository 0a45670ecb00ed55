"""Funding: crowdfunding campaigns of projects, their reward tiers, and backers' pledges.

Money is integer minor units in the campaign's currency; never floats.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incubation.models import Project, Recommendation
from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.states import Choice, Status, status_check
from portal.uploads import StoredFile


class FundingModel(Choice):
    ALL_OR_NOTHING = "all_or_nothing"
    KEEP_IT_ALL = "keep_it_all"


class CampaignStatus(Status):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LIVE = "live"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


PRIVATE_CAMPAIGN_STATUSES = (CampaignStatus.DRAFT, CampaignStatus.SUBMITTED)  # seen by the team and admins only
# The moves of a campaign: the team submits a draft, admins approve it (live), the deadline decides it
# (settlement), the creator reports a successful one fulfilled; it may be cancelled before it ends.
CAMPAIGN_TRANSITIONS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.SUBMITTED, CampaignStatus.CANCELLED),
    CampaignStatus.SUBMITTED: (CampaignStatus.LIVE, CampaignStatus.CANCELLED),
    CampaignStatus.LIVE: (CampaignStatus.SUCCESSFUL, CampaignStatus.FAILED, CampaignStatus.CANCELLED),
    CampaignStatus.SUCCESSFUL: (CampaignStatus.FULFILLED,),
}


class PledgeStatus(Status):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COLLECTED = "collected"
    ERRORED = "errored"
    NEEDS_AUTHENTICATION = "needs_authentication"
    DROPPED = "dropped"
    RELEASED = "released"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


COUNTED_PLEDGE_STATUSES = (PledgeStatus.ACTIVE, PledgeStatus.COLLECTED)  # make up a campaign's pledged total
# Still owed after the deadline: settlement keeps working on these.
OUTSTANDING_PLEDGE_STATUSES = (PledgeStatus.ACTIVE, PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION)
# Counted toward the campaign's pledged total at the deadline (the "gross").
PLEDGE_STATUSES_AT_DEADLINE = (PledgeStatus.ACTIVE, PledgeStatus.COLLECTED, PledgeStatus.ERRORED,
                               PledgeStatus.NEEDS_AUTHENTICATION, PledgeStatus.DROPPED, PledgeStatus.REFUNDED,
                               PledgeStatus.DISPUTED)


class Campaign(db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("goal_amount > 0", name="goal_amount_positive"),
        status_check(CampaignStatus, "status", name="status_valid"),
        status_check(FundingModel, "funding_model", name="funding_model_valid"),
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
    media_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the deadline passed and the outcome was decided (successful or failed).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when no pledge is outstanding any more: every pledge collected, dropped, released or cancelled.
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Approved campaigns open for pledges from here on (None: at approval); until then they are "upcoming".
    launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set while moderators hide the campaign (portal.moderation): gone for the public, kept for team and admins.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship()
    rewards: Mapped[list[Reward]] = relationship(back_populates="campaign", order_by="Reward.amount")
    # The cover image (`media_id`) and the gallery, loaded with the campaigns (one query per list).
    media: Mapped[StoredFile | None] = relationship(lazy="selectin")
    gallery: Mapped[list[CampaignImage]] = relationship(cascade="all, delete-orphan", order_by="CampaignImage.id")

    def totals(self) -> tuple[int, int]:
        """(pledged amount, number of distinct backers) over active and collected pledges, in one query."""
        row = db.session.execute(
            select(func.coalesce(func.sum(Pledge.amount), 0), func.count(func.distinct(Pledge.backer_id)))
            .where(Pledge.campaign_id == self.id, Pledge.status.in_(COUNTED_PLEDGE_STATUSES))).one()
        return int(row[0]), int(row[1])

    def pledged_amount(self) -> int:
        return self.totals()[0]

    def backer_count(self) -> int:
        return self.totals()[1]

    @property
    def is_public(self) -> bool:
        return self.status not in PRIVATE_CAMPAIGN_STATUSES

    def is_upcoming(self, now: datetime | None = None) -> bool:
        """Approved, but its launch time is still ahead: shown under Upcoming, not taking pledges yet."""
        return self.status == CampaignStatus.LIVE and self.launch_at is not None and self.launch_at > (now or utcnow())

    def is_open(self, now: datetime | None = None) -> bool:
        """Live and launched (the read-time status check: an upcoming campaign opens at `launch_at` by itself)."""
        return self.status == CampaignStatus.LIVE and not self.is_upcoming(now)

    def days_left(self, now: datetime | None = None) -> int:
        seconds = (self.deadline - (now or utcnow())).total_seconds()
        return max(0, math.ceil(seconds / 86400))

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.status}>"


class CampaignImage(db.Model):
    """One picture of a campaign's gallery (the cover is `Campaign.media_id`)."""

    __tablename__ = "campaign_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"), index=True)
    caption: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    stored_file: Mapped[StoredFile] = relationship(lazy="selectin")


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
    # {"CN": 0, "ASIA": 5000, "WORLD": 12000}: shipping fee in minor units per destination region.
    shipping_fees: Mapped[dict] = mapped_column(JSON, default=dict)
    # Variants the backer picks in the survey after success, e.g. ["white", "graphite"].
    variants: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="rewards")


class Pledge(db.Model):
    """A backer's promise to pay `amount` (campaign currency), charged only when the campaign settles."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        status_check(PledgeStatus, "status", name="status_valid"),
        Index("ix_pledge_campaign_id_status", "campaign_id", "status"),
        Index("ix_pledge_reward_id_status", "reward_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    backer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("reward.id"))
    # The total to charge: reward amount (or any amount without reward) plus extra support plus shipping.
    amount: Mapped[int] = mapped_column()
    extra_support: Mapped[int] = mapped_column(default=0)
    shipping_region: Mapped[str | None] = mapped_column(String(20))
    shipping_fee: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(30), default=PledgeStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The saved card: a provider customer and payment method (Stripe ids, or sandbox ids).
    provider: Mapped[str] = mapped_column(String(20), default="sandbox")
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    setup_intent_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    card_label: Mapped[str] = mapped_column(String(60), default="")
    # Settlement bookkeeping.
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    errored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(default=0)
    final_retry_done: Mapped[bool] = mapped_column(default=False)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    payment_ref: Mapped[str | None] = mapped_column(String(255), index=True)  # the PaymentIntent that collected
    survey_answers: Mapped[dict | None] = mapped_column(JSON)
    survey_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    campaign: Mapped[Campaign] = relationship()
    backer: Mapped[User] = relationship()
    reward: Mapped[Reward | None] = relationship()
    attempts: Mapped[list[PaymentAttempt]] = relationship(back_populates="pledge", order_by="PaymentAttempt.number")

    @property
    def currency(self) -> str:
        return self.campaign.currency


class AttemptStatus(Status):
    PENDING = "pending"  # committed before the provider is called; outcome unknown until recorded
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


# Refund attempts share the table (and the numbering per pledge) with charge attempts; their idempotency
# keys read "pledge-<id>-refund-<number>-after-<refunded before>" (funding/refunds.py).
REFUND_KEY_PATTERN = "pledge-%-refund-%"


class PaymentAttempt(db.Model):
    """One try at charging (or refunding) a pledge. Written and committed BEFORE the provider is called.

    Its idempotency key is derived from the pledge and the attempt number, so a rerun after a crash
    re-sends the same key and the provider answers with the same PaymentIntent (or Refund) instead of
    moving money again.
    """

    __tablename__ = "payment_attempt"
    __table_args__ = (
        UniqueConstraint("pledge_id", "number"),
        status_check(AttemptStatus, "status", name="status_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    number: Mapped[int] = mapped_column()
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.PENDING)
    # Exactly what was sent, so a rerun re-sends the same parameters with the same key.
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    payment_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[str | None] = mapped_column(String(500))
    fee: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pledge: Mapped[Pledge] = relationship(back_populates="attempts")

    @property
    def is_refund(self) -> bool:
        return "-refund-" in self.idempotency_key

    @classmethod
    def charges_only(cls):
        return cls.idempotency_key.not_like(REFUND_KEY_PATTERN)


class LedgerKind(Choice):
    PLEDGED = "pledged"  # informational: a pledge counted at the deadline (gross)
    COLLECTED = "collected"  # money in
    DROPPED = "dropped"  # informational: a pledge that could not be collected
    RELEASED = "released"  # informational: goal missed, nothing charged
    STRIPE_FEE = "stripe_fee"
    PLATFORM_FEE = "platform_fee"
    REFUND = "refund"
    DISPUTE = "dispute"
    MATCHFUNDING = "matchfunding"
    PAYOUT_DUE = "payout_due"  # informational: what the creator is owed after settlement


# Kinds whose (signed) amounts add up to the campaign's net.
MONEY_LEDGER_KINDS = (LedgerKind.COLLECTED, LedgerKind.STRIPE_FEE, LedgerKind.PLATFORM_FEE, LedgerKind.REFUND,
                      LedgerKind.DISPUTE, LedgerKind.MATCHFUNDING)


class LedgerEntry(db.Model):
    """An append-only money entry of a campaign. Inflows positive, outflows negative, minor units.

    `reference` names what caused the entry (a pledge attempt, a refund id, a dispute id) and is unique
    per kind and campaign, so replaying settlement or a webhook never writes an entry twice.
    Database triggers refuse UPDATE and DELETE (see `APPEND_ONLY_DDL`).
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind", "reference"),
        status_check(LedgerKind, "kind", name="kind_valid"),
        Index("ix_ledger_entry_campaign_id_id", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(120))
    memo: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEvent(db.Model):
    """A provider event already received: deliveries are at-least-once, so the id is kept unique."""

    __tablename__ = "funding_webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(255), default="")


class BackerAccount(db.Model):
    """The payment provider's customer of a user (one per provider)."""

    __tablename__ = "funding_backer_account"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    customer_ref: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SandboxObject(db.Model):
    """The sandbox payment provider's state, kept where every process and host sees it (as Stripe keeps its
    own): SetupIntents, PaymentIntents by idempotency key with their 3-D Secure step, fees and refunds.
    Written only by `funding.payments.DatabaseSandboxStore`, in its own short transactions; never with Stripe."""

    __tablename__ = "funding_sandbox_object"
    __table_args__ = (UniqueConstraint("kind", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # pi_sandbox_..., seti_sandbox_..., re_sandbox_...
    kind: Mapped[str] = mapped_column(String(20))  # payment_intent, setup_intent, refund
    parent_ref: Mapped[str | None] = mapped_column(String(64), index=True)  # a refund's PaymentIntent
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(String(3))
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    fee: Mapped[int | None] = mapped_column()
    refunded: Mapped[int] = mapped_column(default=0)
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # metadata and refunds of a PaymentIntent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StretchGoal(db.Model):
    __tablename__ = "stretch_goal"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")


class CampaignUpdate(db.Model):
    __tablename__ = "campaign_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    backers_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CampaignComment(db.Model):
    """A comment or a question; the team answers questions with `parent_id` set."""

    __tablename__ = "campaign_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_comment.id", ondelete="CASCADE"))
    is_question: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # hidden by moderators (portal.moderation)

    author: Mapped[User] = relationship()


class MatchFund(db.Model):
    """An anchor company matches pledges 1:1 up to `cap` (campaign currency) when the campaign succeeds."""

    __tablename__ = "match_fund"
    __table_args__ = (CheckConstraint("cap > 0", name="cap_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    cap: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class FinancingStatus(Status):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"



class FinancingApplication(db.Model):
    """A founder's application for investment, addressed to a company or fund organisation (the
    platform's own fund, decided by platform admins, when `organisation_id` is empty). No money moves here.

    Confidential: seen by the applicant organisation's members, the addressee's verified staff and admins.
    """

    __tablename__ = "financing_application"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        status_check(FinancingStatus, "status", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                                        index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    use_of_funds: Mapped[str] = mapped_column(Text)
    terms: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=FinancingStatus.SUBMITTED)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    reviews: Mapped[list[FinancingReview]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="FinancingReview.id")


class FinancingReview(db.Model):
    """One scored review of a financing application by a reviewer of the addressee: 0-5 per criterion of
    `FINANCING_CRITERIA`, weighted as program reviews are (`incubation.services.weighted_score`)."""

    __tablename__ = "financing_review"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id"),
        status_check(Recommendation, "recommendation", name="recommendation_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("financing_application.id", ondelete="CASCADE"),
                                                index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    weighted_score: Mapped[float] = mapped_column()
    recommendation: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[FinancingApplication] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()


# ---- append-only guard on the ledger ---------------------------------------------------------

APPEND_ONLY_DDL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entry is append-only';
END
$$ LANGUAGE plpgsql""",
        "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry "
        "BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END",
        "CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry "
        "BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END",
    ],
}


@event.listens_for(LedgerEntry.__table__, "after_create")
def _create_ledger_guard(target, connection, **kw) -> None:
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)
