"""The catalogue: publishing a resource, its prices, opening hours, terms, booking policy and publication;
the list filter; what the catalogue API answers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import gettext as _
from pydantic import AfterValidator, Field, model_validator

from portal.schemas import Command, Currency, Id, MoneyOut, Out, Query, line, text
from resources.schemas.common import (
    DAY_MINUTES,
    MAX_AMOUNT,
    WEEK_MINUTES,
    AudienceName,
    Body,
    Clock,
    Kind,
    UnitName,
    bounded,
    refuse,
)

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_SPECIFICATIONS = 40


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: Any) -> bool:
    """An IANA name such as "Asia/Shanghai" that zoneinfo can load (not a path, not an abbreviation)."""
    if not isinstance(name, str) or name not in _known_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def _timezone(value: str) -> str:
    value = value or DEFAULT_TIMEZONE
    if not is_valid_timezone(value):
        raise ValueError(_("Use an IANA time zone name such as Asia/Shanghai."))
    return value


Timezone = Annotated[line(64), AfterValidator(_timezone)]
SpecValue = text(500) | int | float | bool


# ---- commands ---------------------------------------------------------------------------------------

class PriceIn(Body):
    audience: AudienceName
    unit: UnitName
    amount: bounded(0, MAX_AMOUNT) = Field(description="minor units (fen): 12000 is ¥120.00")
    currency: Currency


class HoursIn(Body):
    weekday: bounded(0, 6) = Field(description="Monday = 0")
    start: Clock
    end: Clock


def check_prices(prices: list[PriceIn]) -> None:
    """One price per (audience, unit), one currency per resource."""
    seen, currencies = set(), set()
    for index, price in enumerate(prices):
        if currencies and price.currency not in currencies:
            refuse(f"prices.{index}.currency", _("All prices of a resource use the same currency."))
        currencies.add(price.currency)
        if (price.audience, price.unit) in seen:
            refuse(f"prices.{index}.audience", _("There is already a price for this audience and unit."))
        seen.add((price.audience, price.unit))


def check_hours(hours: list[HoursIn]) -> None:
    """Closing after opening (split overnight hours in two); intervals of one weekday do not overlap."""
    for index, interval in enumerate(hours):
        if interval.start >= interval.end:
            refuse(f"opening_hours.{index}.end",
                   _("Closing time must be after opening time (split overnight hours in two)."))
        for other in hours[:index]:
            if other.weekday == interval.weekday and interval.start < other.end and other.start < interval.end:
                refuse(f"opening_hours.{index}.start", _("Overlaps other opening hours on the same day."))


class NewResource(Body):
    """A resource of an anchor company with its public prices and weekly opening hours."""

    organisation_id: Id = Field(description="the anchor company publishing it")
    name: line(160, min_length=1)
    kind: Kind
    description: text(5000) = ""
    specifications: dict[line(80, min_length=1), SpecValue] = Field(
        default_factory=dict, max_length=MAX_SPECIFICATIONS, description="names and values, e.g. {\"Spindle\": \"20,000 rpm\"}")
    city: line(80) = ""
    address: line(255) = ""
    timezone: Timezone = Field(DEFAULT_TIMEZONE, description="IANA name; opening hours are local times in this zone")
    capacity: bounded(1, 10_000) = 1
    min_minutes: bounded(1, WEEK_MINUTES) = 30
    max_minutes: bounded(1, 31 * DAY_MINUTES) = 480
    buffer_minutes: bounded(0, DAY_MINUTES) = 0
    advance_days: bounded(1, 730) = 60
    requires_approval: bool = False
    requires_qualification: bool = False
    published: bool = Field(True, description="false saves a draft")
    terms_text: text(10_000) = ""
    cancel_free_hours: bounded(0, DAY_MINUTES) = 24
    late_cancel_fee_percent: bounded(0, 100) = 50
    quota_minutes_per_week: bounded(1, WEEK_MINUTES) | None = None
    prices: list[PriceIn] = Field(default_factory=list, max_length=20)
    opening_hours: list[HoursIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> NewResource:
        if self.max_minutes < self.min_minutes:
            refuse("max_minutes", _("Must be at least the minimum duration."))
        check_prices(self.prices)
        check_hours(self.opening_hours)
        return self

    def resource_fields(self) -> dict[str, Any]:
        """The columns of the new Resource row."""
        return self.model_dump(exclude={"organisation_id", "prices", "opening_hours"})


class PriceTable(Body):
    """The whole public price table (replaces the old one)."""

    prices: list[PriceIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> PriceTable:
        check_prices(self.prices)
        return self


class BookingPolicy(Body):
    cancel_free_hours: bounded(0, DAY_MINUTES)
    late_cancel_fee_percent: bounded(0, 100)
    quota_minutes_per_week: bounded(1, WEEK_MINUTES) | None = Field(None, description="empty: no quota")


class Terms(Body):
    terms_text: text(10_000) = Field("", description="a changed text becomes a new version bookers must accept")


class NewPhoto(Body):
    caption: line(255) = ""


class Publication(Command):
    published: bool


class CalendarRotation(Body):
    rotate: bool = Field(False, description="true: a new secret token (the old feed address stops working)")


# ---- queries ----------------------------------------------------------------------------------------

class ResourceFilter(Query):
    kind: Kind | None = Field(None, description="lab, equipment, workshop or production_line")
    city: line(80) | None = Field(None, description="part of the city name, e.g. Qingdao or 青岛")
    organisation_id: Id | None = Field(None, description="resources of one anchor company")


class FeedQuery(Query):
    token: line(200) = Field("", description="the feed's secret token")


# ---- responses ---------------------------------------------------------------------------------------

class Ref(Out):
    id: int
    name: str


class PriceOut(Out):
    audience: str
    unit: str
    amount: int = Field(description="minor units")
    currency: str


class HoursOut(Out):
    weekday: int
    start: str
    end: str


class RatingOut(Out):
    average: float | None
    count: int


class ResourceOut(Out):
    id: int
    organisation_id: int
    organisation: Ref
    name: str
    kind: str
    description: str
    specifications: dict[str, Any]
    city: str
    address: str
    timezone: str
    capacity: int
    min_minutes: int
    max_minutes: int
    buffer_minutes: int
    advance_days: int
    requires_approval: bool
    requires_qualification: bool
    terms_version: int
    terms_text: str
    published: bool
    prices: list[PriceOut]
    cancel_free_hours: int
    late_cancel_fee_percent: int
    quota_minutes_per_week: int | None
    rating: RatingOut
    photos: list[str]
    opening_hours: list[HoursOut]
    created_at: datetime | None
    can_edit: bool | None = Field(None, description="present (true) when the caller may edit the resource")


class CalendarTokenOut(Out):
    token: str
    url: str


__all__ = [
    "DEFAULT_TIMEZONE", "MAX_SPECIFICATIONS", "BookingPolicy", "CalendarRotation", "CalendarTokenOut", "FeedQuery",
    "HoursIn",
    "HoursOut", "MoneyOut", "NewPhoto", "NewResource", "PriceIn", "PriceOut", "PriceTable", "Publication", "RatingOut", "Ref",
    "ResourceFilter", "ResourceOut", "Terms", "Timezone", "check_hours", "check_prices", "is_valid_timezone",
]
