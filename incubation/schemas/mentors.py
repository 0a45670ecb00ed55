"""Mentors: profiles, office-hour slots, bookings and sessions; what the mentors API answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from portal.schemas import Command, Id, Out, Query, line, text


def _in_user_zone(moment: datetime) -> datetime:
    """An ISO 8601 time; without an offset (an HTML datetime-local input) it is read in the caller's time
    zone (Asia/Shanghai by default), as the pages' AwareDateTimeField does. Always aware UTC."""
    if not 2000 <= moment.year <= 2200:  # as resources' Moment: far from datetime's limits, 4-digit years
        raise ValueError(_("Use a date between the years 2000 and 2200."))
    if moment.tzinfo is None:
        zone = None
        try:
            zone = getattr(current_user, "timezone", None) if current_user and current_user.is_authenticated else None
        except RuntimeError:  # outside a request (demo data, tests calling services)
            zone = None
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone or "Asia/Shanghai"))
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


Moment = Annotated[datetime, AfterValidator(_in_user_zone),
                   Field(description="ISO 8601, e.g. 2027-03-01T09:00+08:00 (no offset: your time zone)")]


def _comma_list(value: Any) -> Any:
    """A list of texts, or one comma-separated text (as the page's field): "a, b" -> ["a", "b"]."""
    if isinstance(value, str):
        return [part for part in value.replace("，", ",").split(",")]
    return value


def _distinct(values: list[str]) -> list[str]:
    seen, out = set(), []
    for value in values:
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


Tags = Annotated[list[line(120)], BeforeValidator(_comma_list), Field(max_length=50), AfterValidator(_distinct)]


# ---- commands --------------------------------------------------------------------------------------

class MentorProfileIn(Command):
    bio: text(5000, min_length=1)
    expertise: Tags = Field(default_factory=list, description="a list, or one comma-separated text")
    industries: Tags = Field(default_factory=list)
    languages: Tags = Field(default_factory=list, description="language codes, e.g. zh, en")
    organisation: line(160) = ""


class NewSlot(Command):
    start: Moment
    end: Moment

    @field_validator("end")
    @classmethod
    def after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(_("The end must be after the start."))
        return end


class Booking(Command):
    project_id: Id | None = Field(None, description="a project of your startup the session is about")
    topic: line(200, min_length=1)


class SlotCancel(Command):
    reason: text(500) = ""


class SessionNotes(Command):
    notes: text(10000, min_length=1)


class SessionFeedback(Command):
    rating: int = Field(ge=1, le=5)
    feedback: text(5000) = ""


class MentorQuery(Query):
    expertise: line(80) = Field("", description="text contained in an expertise")
    language: line(35) = Field("", description="language code, e.g. zh or en")


# ---- what the API answers --------------------------------------------------------------------------

class FreeSlotOut(Out):
    id: int
    start: datetime | None
    end: datetime | None


class MentorOut(Out):
    id: int
    user_id: int
    name: str
    bio: str
    expertise: list[str]
    industries: list[str]
    languages: list[str]
    organisation: str | None
    rating: float | None
    ratings: int
    free_slots: list[FreeSlotOut]


class SlotOut(Out):
    id: int
    mentor_id: int
    start: datetime | None
    end: datetime | None
    booked: bool
    booked_by: str | None = Field(None, description="the mentor's and the booker's view only (as the fields below)")
    topic: str | None = None
    project_id: int | None = None
    notes: str | None = None
    feedback: str | None = None
    rating: int | None = None
