"""The rules of the calendar and the staff tools: dated exceptions, closures (blackouts, maintenance,
outages), qualifications and training requests, problem reports; what those API routes answer."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from pydantic import Field, model_validator

from portal.schemas import Email, Out, line, text
from resources.schemas.common import BlackoutKindName, Body, Clock, Day, Moment, refuse

# ---- commands ---------------------------------------------------------------------------------------


class NewException(Body):
    """Other hours on one local date, or closed all day (no times)."""

    date: Day = Field(description="YYYY-MM-DD, local date")
    start: Clock | None = Field(None, description="HH:MM; empty: closed all day")
    end: Clock | None = None
    note: line(255) = ""

    @model_validator(mode="after")
    def _hours(self) -> NewException:
        if (self.start is None) != (self.end is None):
            refuse("end", _("Give both opening and closing time, or neither (closed)."))
        if self.start is not None and self.start >= self.end:
            refuse("end", _("Closing time must be after opening time."))
        return self


class NewBlackout(Body):
    start: Moment
    end: Moment
    kind: BlackoutKindName = Field("maintenance", description="blackout, maintenance or outage (marks it down)")
    reason: line(500) = ""


class NewQualification(Body):
    email: Email = Field(description="the user's account email")
    expires_on: Day | None = Field(None, description="YYYY-MM-DD (local date of the resource); empty: no expiry")


class TrainingRequestIn(Body):
    message: text(2000) = ""


class DeclineTraining(Body):
    reason: text(2000, min_length=1) = Field(description="told to the requester")


class ProblemIn(Body):
    description: text(5000, min_length=1)


class ResolveProblem(Body):
    note: text(2000, min_length=1) = Field(description="what was done; told to the reporter")


# ---- responses ---------------------------------------------------------------------------------------

class ExceptionOut(Out):
    id: int
    date: str
    closed: bool
    start: str | None
    end: str | None
    note: str


class BlackoutOut(Out):
    id: int
    kind: str
    start: dt.datetime | None
    end: dt.datetime | None
    reason: str | None = Field(None, description="not on POST")
    cancelled: list[int] | None = Field(None, description="the bookings cancelled by adding or changing it")


class ProblemOut(Out):
    id: int
    resource_id: int
    user_id: int | None
    description: str
    created_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution_note: str | None


class ProblemCreatedOut(Out):
    id: int
    created_at: dt.datetime | None


class UserRef(Out):
    id: int
    name: str
    email: str


class TrainingRequestOut(Out):
    id: int
    user: UserRef
    message: str
    status: str
    created_at: dt.datetime | None


class StatusOut(Out):
    id: int
    status: str


class QualificationOut(Out):
    id: int
    user_id: int
    expires_at: dt.datetime | None


__all__ = [
    "BlackoutOut", "DeclineTraining", "ExceptionOut", "NewBlackout", "NewException", "NewQualification",
    "ProblemCreatedOut", "ProblemIn", "ProblemOut", "QualificationOut", "ResolveProblem", "StatusOut",
    "TrainingRequestIn", "TrainingRequestOut", "UserRef",
]
