"""Bookings: requests (single or weekly), decisions, cancellation, reviews, the waitlist; the list filter and
the availability window; what the booking API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from portal.schemas import Count, Flag, Id, MoneyOut, Out, Query, text
from resources.schemas.catalogue import RatingOut
from resources.schemas.common import Body, BookingStatusName, Moment, bounded

MAX_SERIES = 52


# ---- commands ---------------------------------------------------------------------------------------

class NewBooking(Body):
    """A booking request; also the body of a preview and of joining the waitlist. The rules of the resource
    (hours, duration, window, terms, quota, qualification) are checked by the service, which names each."""

    start: Moment
    end: Moment
    purpose: text(2000) = ""
    organisation_id: Id | None = Field(None, description="your organisation; decides the price (incubatee, "
                                                         "startup, external). Default: your first startup")
    accept_terms_version: Count | None = Field(None, description="the terms version you accept (resources with terms)")
    repeat_weeks: bounded(1, MAX_SERIES) = Field(1, description="> 1 books a weekly series")
    skip_conflicts: bool = Field(False, description="a series leaves out the occurrences that clash or break a rule")


class Decision(Body):
    reason: text(500) = ""
    reject_clashing: bool = Field(False, description="approve: also reject the clashing pending requests")


class Cancellation(Body):
    reason: text(500) = ""


class NewReview(Body):
    rating: bounded(1, 5)
    comment: text(2000) = ""


# ---- queries ----------------------------------------------------------------------------------------

class Window(Query):
    start: Moment | None = Field(None, alias="from", description="ISO 8601 start")
    end: Moment | None = Field(None, alias="to", description="ISO 8601 end")


class BookingFilter(Query):
    mine: Flag = Field(False, description="1: only my bookings")
    status: BookingStatusName | None = Field(None, description="filter by status")
    resource_id: Id | None = Field(None, description="filter by resource")


# ---- responses ---------------------------------------------------------------------------------------

class ResourceRef(Out):
    id: int
    name: str
    timezone: str


class BookingOut(Out):
    id: int
    resource_id: int
    resource: ResourceRef
    user_id: int
    organisation_id: int | None
    start: datetime | None
    end: datetime | None
    blocked_until: datetime | None
    status: BookingStatusName
    status_reason: str
    purpose: str
    audience: str
    price: MoneyOut
    price_unit: str | None
    credit_applied: MoneyOut
    amount_due: MoneyOut
    cancel_fee: MoneyOut
    terms_version: int | None
    series: str | None
    created_at: datetime | None
    bookings: list[BookingOut] | None = Field(None, description="a weekly series: every booking made")
    rejected: list[int] | None = Field(None, description="approve: the requests rejected with it")
    would_reject: list[int] | None = Field(None, description="approval queue: the requests approving would reject")


class SlotOut(Out):
    start: datetime | None
    end: datetime | None


class AvailabilityOut(Out):
    resource_id: int
    timezone: str
    start: datetime | None = Field(alias="from")
    end: datetime | None = Field(alias="to")
    slots: list[SlotOut]


class OccurrenceOut(Out):
    start: datetime | None
    end: datetime | None
    ok: bool
    problems: dict[str, list[str]]
    conflicts: list[int]
    price: MoneyOut
    price_unit: str | None
    credit_applied: MoneyOut
    amount_due: MoneyOut


class PreviewOut(Out):
    occurrences: list[OccurrenceOut]


class WaitlistOut(Out):
    id: int
    status: str
    start: datetime | None = None
    end: datetime | None = None
    resource_id: int | None = None


class ActorOut(Out):
    id: int
    name: str


class HistoryEventOut(Out):
    action: str
    at: datetime | None
    actor: ActorOut | None
    before: dict[str, Any]
    after: dict[str, Any]


class ReviewOut(Out):
    id: int
    rating: int
    comment: str
    resource_rating: RatingOut


class PublicReviewOut(Out):
    id: int
    rating: int
    comment: str
    created_at: datetime | None


__all__ = [
    "MAX_SERIES", "ActorOut", "AvailabilityOut", "BookingFilter", "BookingOut", "Cancellation", "Decision",
    "HistoryEventOut", "NewBooking", "NewReview", "OccurrenceOut", "PreviewOut", "PublicReviewOut", "ResourceRef",
    "ReviewOut", "SlotOut", "WaitlistOut", "Window",
]
