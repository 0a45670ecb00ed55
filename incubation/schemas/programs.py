"""Programs (creation, editing, publication), applications and their review: the commands the API and the
pages build, the query of the program list, and what the API answers about them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from incubation.models import IncubationMode, Recommendation
from incubation.schemas.projects import OrganisationRef, ProjectOut
from portal.schemas import INT_MAX, Command, Currency, Flag, Id, MoneyOut, Out, Query, line, text

# ---- field types -------------------------------------------------------------------------------------

Mode = Literal[IncubationMode.values()]  # type: ignore[valid-type]
Capacity = Annotated[int, Field(ge=1, le=10_000, description="places in the cohort")]
Weight = Annotated[int, Field(ge=1, le=1000)]
Score = Annotated[int, Field(ge=0, le=5)]
RecommendationChoice = Literal[Recommendation.values()]  # type: ignore[valid-type]


def _user_zone() -> ZoneInfo | UTC:
    zone = None
    if has_request_context() and current_user and current_user.is_authenticated:
        zone = getattr(current_user, "timezone", None)
    try:
        return ZoneInfo(zone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _aware_utc(value: datetime) -> datetime:
    """A time without an offset (an HTML datetime-local input) is read in the user's time zone; every
    time is stored in UTC, and lies between the years 1900 and 9999 (what the API writes back as ISO 8601)."""
    try:
        if value.tzinfo is None:
            value = value.replace(tzinfo=_user_zone())
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        value = None
    if value is None or value.year < 1900:
        raise ValueError(_("Use a date and time like 2027-03-01T09:00+08:00."))
    return value


Moment = Annotated[datetime, AfterValidator(_aware_utc),
                   Field(description="ISO 8601; without an offset, the time in your time zone",
                         examples=["2027-03-01T09:00:00+08:00"])]


# ---- programs ---------------------------------------------------------------------------------------

class Criterion(Command):
    name: line(80, min_length=1)
    weight: Weight


class Question(Command):
    text: text(500, min_length=1)
    required: bool = False


def _unique_criteria(criteria: list[Criterion] | None) -> list[Criterion] | None:
    names = [c.name.lower() for c in criteria or []]
    if len(names) != len(set(names)):
        raise ValueError(_("Criterion names must be present and unique."))
    return criteria


def _closes_after_opening(closes_at: datetime, info: ValidationInfo) -> datetime:
    opens_at = info.data.get("opens_at")
    if opens_at is not None and closes_at <= opens_at:
        raise ValueError(_("The closing time must be after the opening time."))
    return closes_at


class ProgramTerms(Command):
    """PUT /programs/{id}: the terms a program's managers may change until the first review. Omit
    `criteria` / `questions` to keep them."""

    title: line(160, min_length=1)
    description: text(10_000) = ""
    opens_at: Moment
    closes_at: Moment
    capacity: Capacity
    criteria: list[Criterion] | None = Field(None, max_length=20, description="omit to keep them")
    questions: list[Question] | None = Field(None, max_length=30,
                                             description="omit to keep them; matched by position")

    @field_validator("closes_at")
    @classmethod
    def closes_after_opening(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _closes_after_opening(value, info)

    @field_validator("criteria")
    @classmethod
    def unique_criteria(cls, value: list[Criterion] | None) -> list[Criterion] | None:
        return _unique_criteria(value)


class NewProgram(Command):
    """POST /programs: a program (a cohort) of an anchor company; `published: false` saves a draft."""

    organisation_id: Id = Field(description="the anchor company running the program")
    title: line(160, min_length=1)
    description: text(10_000) = ""
    mode: Mode
    opens_at: Moment
    closes_at: Moment
    capacity: Capacity
    criteria: list[Criterion] = Field(default_factory=list, max_length=20)
    questions: list[Question] = Field(default_factory=list, max_length=30)
    blind_review: bool = False
    credit_amount: Annotated[int, Field(ge=1, le=INT_MAX)] | None = Field(
        None, description="resource credits per accepted startup, minor units (open-source programs only)")
    credit_currency: Currency = "CNY"
    published: bool = True

    @field_validator("closes_at")
    @classmethod
    def closes_after_opening(cls, value: datetime, info: ValidationInfo) -> datetime:
        return _closes_after_opening(value, info)

    @field_validator("criteria")
    @classmethod
    def unique_criteria(cls, value: list[Criterion]) -> list[Criterion]:
        return _unique_criteria(value)

    @field_validator("credit_amount")
    @classmethod
    def credits_for_open_source(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("mode", "open_source") != "open_source":
            raise ValueError(_("Only open-source programs grant resource credits."))
        return value


class Publication(Command):
    published: bool = Field(description="true publishes (the company must be verified), false withdraws")


class ProgramListQuery(Query):
    open: Flag = Field(False, description="1: only programs open for applications now")
    organisation_id: Id | None = Field(None, description="only this company's programs")


# ---- applications and review -------------------------------------------------------------------------

AnswerKey = line(40, min_length=1)


class NewApplication(Command):
    project_id: Id = Field(description="a submitted project of your startup")
    answers: dict[AnswerKey, text(5000)] | None = Field(
        None, max_length=50, description="question id (or `pitch`) -> answer")


class ReviewerChoice(Command):
    user_id: Id


class AutoAssignment(Command):
    reviewers_per_application: int = Field(2, ge=1, le=10)
    user_ids: list[Id] | None = Field(None, max_length=1000,
                                      description="the reviewer pool; the company's staff by default")


class NewReview(Command):
    scores: dict[line(80, min_length=1), Score] = Field(max_length=20,
                                                        description="criterion name -> 0-5, one per criterion")
    recommendation: RecommendationChoice
    comment: text(5000) = ""


class ConflictDeclaration(Command):
    reason: text(500, min_length=1)


class Decision(Command):
    decision: Literal["accepted", "rejected"]
    feedback: text(5000, min_length=1) = Field(description="shown and mailed to the founders")


# ---- what the API answers ------------------------------------------------------------------------------

class CriterionOut(Out):
    name: str
    weight: int


class QuestionOut(Out):
    id: int
    text: str
    required: bool


class ProgramOut(Out):
    id: int
    organisation_id: int
    organisation: OrganisationRef
    title: str
    description: str
    mode: str
    opens_at: datetime
    closes_at: datetime
    capacity: int
    is_open: bool
    criteria: list[CriterionOut]
    questions: list[QuestionOut]
    blind_review: bool
    published: bool
    credits: MoneyOut | None


class AnswerOut(Out):
    question: str
    answer: str


class ReviewOut(Out):
    scores: dict[str, int]
    weighted_score: float
    recommendation: str
    comment: str


class ReviewerOut(Out):
    user_id: int
    name: str
    conflict: str | None
    withdrawn: bool
    review: ReviewOut | None


class ApplicationOut(Out):
    """Blind (`blind: true`): no `project_id`, no `project`, and the title is "Application #id"."""

    id: int
    program_id: int
    status: str
    blind: bool
    title: str
    answers: list[AnswerOut]
    created_at: datetime | None
    feedback: str | None = Field(description="to the program's managers and the applicant's members only")
    decided_at: datetime | None
    project_id: int | None = Field(None, description="absent when blind")
    project: ProjectOut | None = Field(None, description="absent when blind")
    reviewers: list[ReviewerOut] | None = Field(None, description="to the program's managers only")


class RankingOut(Out):
    application_id: int
    project_id: int | None = Field(description="null when blind")
    title: str
    blind: bool
    status: str
    reviews: int
    average: float | None = Field(description="mean weighted score, 0-5")
    normalised: float | None = Field(description="mean per-reviewer z-score")
    recommendations: dict[str, int]
    rank: int | None


class AssignmentOut(Out):
    application_id: int
    user_id: int


class ReviewerAssignedOut(AssignmentOut):
    assigned_at: datetime | None


class AutoAssignStatusOut(Out):
    status: Literal["none", "running", "done", "failed"]
    at: datetime | None
    created: int | None
    short: int | None = Field(description="pending applications still short of reviewers")
    reviewers_per_application: int | None
    error: str | None


class ReviewAssignmentOut(Out):
    application_id: int
    program_id: int
    program: str
    blind: bool
    title: str
    project_id: int | None = Field(description="null when blind")
    application_status: str
    reviewed: bool
    conflict: str | None
    withdrawn: bool
    assigned_at: datetime | None


class ReviewStoredOut(Out):
    id: int
    scores: dict[str, int]
    weighted_score: float
    recommendation: str


class ConflictOut(Out):
    application_id: int
    conflict: bool
