"""Funding's typed input and output: the commands its services take (one per JSON body and per HTML form),
the query of the campaign list, and what the funding API answers.

Money is integer minor units (`Minor`, int32-bounded); currencies are ISO 4217 (`Currency`). HTML pages ask
for major units and convert in the view (`funding.forms.to_minor`) before building the command.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from portal.schemas import INT_MAX, Command, Currency, Id, MoneyOut, Out, Query, line, text

__all__ = [
    "Positive", "MoneyIn", "NewCampaign", "NewReward", "NewStretchGoal", "NewUpdate", "NewComment",
    "NewMatchFund", "NewPledge", "PledgeChange", "CardChange", "RefundRequest", "SurveyAnswers",
    "FinancingRequest", "FinancingScores", "FinancingReviewIn", "FinancingDecision", "CampaignQuery",
    "RewardOut", "StretchGoalOut", "MatchFundOut", "CampaignOut", "PledgeOut", "SetupIntentOut",
    "LedgerEntryOut", "LedgerOut", "UpdateOut", "CampaignCommentOut", "OrganisationRef", "FinancingReviewOut",
    "FinancingOut", "ReviewCreatedOut", "StripeEvent",
]

CAMPAIGN_STATUSES = ("draft", "submitted", "live", "successful", "failed", "fulfilled", "cancelled")
PLEDGE_STATUSES = ("active", "cancelled", "collected", "errored", "needs_authentication", "dropped", "released",
                   "refunded", "disputed")

# An amount that must be more than zero (a pledge, a cap, a refund), in minor units.
Positive = Annotated[int, Field(ge=1, le=INT_MAX, description="money in minor units, more than zero")]
Score = Annotated[int, Field(ge=0, le=5)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=20)]


def _comma_list(value: Any) -> Any:
    """Variants come as a list of texts, or (as on the page) one comma-separated text."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]
    return value


# ---- campaigns --------------------------------------------------------------------------------------

class MoneyIn(Command):
    amount: Positive
    currency: Currency = "CNY"


class NewCampaign(Command):
    project_id: Id
    title: line(160, min_length=1)
    story: text(20_000) = ""
    goal: MoneyIn
    deadline: AwareDatetime = Field(description="1 to 60 days ahead (ISO 8601 with a time zone)")
    funding_model: Literal["all_or_nothing", "keep_it_all"] = "all_or_nothing"


class NewReward(Command):
    title: line(160, min_length=1)
    amount: Annotated[int, Field(ge=0, le=INT_MAX, description="the minimum pledge, in minor units")]
    description: text(5000) = ""
    quantity: Annotated[int, Field(ge=1, le=INT_MAX)] | None = Field(None, description="empty for unlimited")
    estimated_delivery: date | None = None
    shipping_fees: dict[Region, Annotated[int, Field(ge=0, le=INT_MAX)]] = Field(
        default_factory=dict, description="{region: fee in minor units}; regions are upper-cased")
    variants: Annotated[list[line(60, min_length=1)], Field(max_length=50), BeforeValidator(_comma_list)] = Field(
        default_factory=list, description="a list, or one comma-separated text")


class NewStretchGoal(Command):
    amount: Positive = Field(description="above the campaign's goal, in minor units")
    title: line(160, min_length=1)
    description: text(5000) = ""


class NewUpdate(Command):
    title: line(160, min_length=1)
    body: text(20_000, min_length=1)
    backers_only: bool = False


class CampaignRejection(Command):
    reason: text(2000, min_length=1) = Field(description="told to the campaign's team")


class NewComment(Command):
    body: text(5000, min_length=1)
    is_question: bool = False
    parent_id: Id | None = Field(None, description="the comment (question) this answers")


class NewMatchFund(Command):
    organisation_id: Id = Field(description="the anchor company")
    cap: Positive


class CampaignQuery(Query):
    status: Literal[CAMPAIGN_STATUSES] | None = Field(None, description="campaign status, e.g. live")
    project_id: Id | None = Field(None, description="only this project's campaigns")


# ---- pledges ----------------------------------------------------------------------------------------

class NewPledge(Command):
    """`payment_method`: a Stripe test card number in sandbox mode, or a PaymentMethod id from a completed
    SetupIntent (`setup_intent`)."""

    amount: Positive
    reward_id: Id | None = None
    payment_method: line(255) | None = None
    setup_intent: line(255) | None = None
    shipping_region: line(20) | None = None
    currency: Currency | None = Field(None, description="must be the campaign's when given")


class PledgeChange(Command):
    amount: Positive
    reward_id: Id | None = None
    shipping_region: line(20) | None = None
    currency: Currency | None = Field(None, description="must be the campaign's when given")


class CardChange(Command):
    payment_method: line(255) | None = None
    setup_intent: line(255) | None = None


class RefundRequest(Command):
    amount: Positive | None = Field(None, description="minor units; absent to refund everything left")


class SurveyAnswers(Command):
    name: line(300, min_length=1)
    address: text(300, min_length=1)
    city: line(300) = ""
    postcode: line(300) = ""
    country: line(300, min_length=1)
    phone: line(300) = ""
    variant: line(60) = ""


# ---- financing --------------------------------------------------------------------------------------

class FinancingRequest(Command):
    project_id: Id
    organisation_id: Id | None = Field(None, description="a verified company or fund; the platform's fund "
                                                         "when absent")
    amount: MoneyIn
    use_of_funds: text(10_000, min_length=1)
    terms: text(10_000, min_length=1)


class FinancingScores(Command):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    team: Score
    market: Score
    terms: Score


class FinancingReviewIn(Command):
    scores: FinancingScores
    recommendation: Literal["yes", "maybe", "no"]
    comment: text(5000) = ""


class FinancingDecision(Command):
    decision: Literal["approved", "rejected"]
    note: text(5000, min_length=1)


# ---- what the API answers ---------------------------------------------------------------------------

class RewardOut(Out):
    id: int
    title: str
    description: str
    amount: int
    quantity: int | None
    remaining: int | None
    estimated_delivery: date | None
    shipping_fees: dict[str, int]
    variants: list[str]


class StretchGoalOut(Out):
    id: int
    amount: int
    title: str
    reached: bool | None = Field(None, description="on GET /campaigns/{campaign_id} only")


class MatchFundOut(Out):
    id: int | None = Field(None, description="when just created")
    organisation_id: int
    cap: int


class CampaignOut(Out):
    id: int
    project_id: int
    title: str
    status: Literal[CAMPAIGN_STATUSES]
    goal: MoneyOut
    pledged: MoneyOut
    backers: int
    deadline: datetime | None
    funding_model: Literal["all_or_nothing", "keep_it_all"]
    created_at: datetime | None
    settled_at: datetime | None
    story: str | None = Field(None, description="on GET /campaigns/{campaign_id} only")
    rewards: list[RewardOut] | None = None
    stretch_goals: list[StretchGoalOut] | None = None
    match_funds: list[MatchFundOut] | None = None


class PledgeOut(Out):
    id: int
    campaign_id: int
    status: Literal[PLEDGE_STATUSES]
    amount: int
    currency: str
    reward_id: int | None
    extra_support: int
    shipping_region: str | None
    shipping_fee: int
    refunded: int
    card: str
    created_at: datetime | None
    collected_at: datetime | None
    survey_completed: bool
    outcome: str | None = Field(None, description="after authentication only")
    survey: dict[str, str] | None = Field(None, description="after answering the survey only")


class SetupIntentOut(Out):
    sandbox: bool
    provider: str | None = Field(None, description="sandbox mode only")
    id: str | None = None
    client_secret: str | None = None
    publishable_key: str | None = None


class LedgerEntryOut(Out):
    id: int
    kind: str
    amount: int
    currency: str
    reference: str
    memo: str
    created_at: datetime | None


class LedgerOut(Out):
    """GET /campaigns/{id}/ledger: a page of entries with the campaign's totals."""

    items: list[LedgerEntryOut]
    page: int
    per_page: int
    total: int
    currency: str
    totals: dict[str, MoneyOut]
    pledged: MoneyOut
    collected: MoneyOut
    dropped: MoneyOut
    refunded: MoneyOut
    fees: MoneyOut
    net: MoneyOut


class UpdateOut(Out):
    id: int
    title: str
    backers_only: bool
    body: str | None = Field(None, description="in the list only")
    created_at: datetime | None = Field(None, description="in the list only")


class CampaignCommentOut(Out):
    id: int
    author: str
    body: str
    is_question: bool
    parent_id: int | None
    created_at: datetime | None


class OrganisationRef(Out):
    id: int
    name: str
    verified: bool


class FinancingReviewOut(Out):
    id: int
    reviewer: str
    scores: dict[str, int]
    weighted_score: float
    recommendation: str
    comment: str
    created_at: datetime | None


class FinancingOut(Out):
    id: int
    project_id: int
    organisation: OrganisationRef | None
    amount: MoneyOut
    use_of_funds: str
    terms: str
    status: Literal["submitted", "approved", "rejected"]
    decision_note: str
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime | None
    reviews: list[FinancingReviewOut] | None = Field(None, description="for the addressee's staff and admins")
    average_score: float | None = Field(None, description="for the addressee's staff and admins")


class ReviewCreatedOut(Out):
    id: int
    weighted_score: float
    recommendation: str



# ---- what Stripe sends ------------------------------------------------------------------------------

class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    object: dict[str, Any] | None = None


class StripeEvent(BaseModel):
    """The parsed shape of a webhook event, after its signature was verified on the raw body
    (`funding.payments.construct_event`). Lax: Stripe adds fields and types as it pleases."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    id: str | None = None
    type: str | None = None
    data: StripeEventData | None = None

    @property
    def obj(self) -> dict[str, Any]:
        return (self.data.object if self.data is not None else None) or {}
