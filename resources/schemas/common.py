"""What the resources commands share: the choices, bounded numbers, moments and the null-as-absent body."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, Field, Strict, model_validator

from portal.errors import ValidationFailed
from portal.schemas import Command

Kind = Literal["lab", "equipment", "workshop", "production_line"]
AudienceName = Literal["incubatee", "startup", "external"]
UnitName = Literal["hour", "use"]
BlackoutKindName = Literal["blackout", "maintenance", "outage"]
BookingStatusName = Literal["pending", "confirmed", "completed", "cancelled", "rejected", "no_show"]

MAX_AMOUNT = 1_000_000_000  # minor units: ten million yuan is no price for an hour of lab time
WEEK_MINUTES = 7 * 24 * 60
DAY_MINUTES = 24 * 60


def bounded(low: int, high: int) -> Any:
    """A whole number from `low` to `high` (the column and the form agree on these)."""
    return Annotated[int, Field(ge=low, le=high)]


def _as_text(kind: type, message: Any) -> BeforeValidator:
    """Dates and times come as ISO 8601 text (or, from an HTML form, already parsed): never a number.
    (These fields parse text leniently because `Body` reads the JSON body as Python data first.)"""
    def check(value: Any) -> Any:
        if isinstance(value, str | kind):
            return value
        raise ValueError(str(message))
    return BeforeValidator(check)


def _plausible(moment: datetime) -> datetime:
    if not 2000 <= moment.year <= 2200:  # also keeps date arithmetic far from datetime's limits
        raise ValueError(_("Use a date between the years 2000 and 2200."))
    return moment


Moment = Annotated[datetime, _as_text(datetime, _l("Send a date and time (ISO 8601, e.g. 2026-12-01T09:30:00Z).")),
                   Strict(False), AfterValidator(_plausible), Field(
    description="ISO 8601; with an offset as given, without one in the resource's local time",
    examples=["2026-12-01T09:00:00+08:00"])]


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(_("Use a time as HH:MM, for example 09:00."))
    return value.replace(second=0, microsecond=0)


Clock = Annotated[time, _as_text(time, _l("Use a time as HH:MM, for example 09:00.")), Strict(False),
                  AfterValidator(_wall_clock), Field(description="HH:MM, local time", examples=["09:00"])]


Day = Annotated[date, _as_text(date, _l("Send a date (YYYY-MM-DD).")), Strict(False),
                Field(description="YYYY-MM-DD", examples=["2026-12-01"])]


def in_utc(moment: datetime | None, zone) -> datetime | None:
    """A moment of a command in UTC: one without an offset is local time of `zone`."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def refuse(name: str, message: str) -> None:
    """A rule across fields, found by a model validator: the 400 names the field (`prices.1.audience`)."""
    raise ValidationFailed(_("Some fields are not valid."), {name: [str(message)]})


class Body(Command):
    """A JSON body where `null` means absent (the field's default): clients send `"purpose": null`."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items()
                    if value is not None or (key in cls.model_fields and cls.model_fields[key].default is None)}
        return data
