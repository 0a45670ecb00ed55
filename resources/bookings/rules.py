"""Booking rules: the request (a NewBooking command) in UTC, the rules a booking must satisfy (hours, quota, qualification), preview."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership, Organisation, OrganisationKind
from resources import availability
from resources.bookings.pricing import audience_for, available_credit, quote
from resources.models import OCCUPYING_BOOKING_STATUSES, Booking, BookingStatus, Qualification, Resource
from resources.policies import acts_for_company, is_company_staff
from resources.schemas import NewBooking, in_utc

Errors = dict[str, list[str]]
MAX_SERIES = 52
MAX_WINDOW_DAYS = 62


def add_error(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(str(message))


# ---- rules -------------------------------------------------------------------------------------

@dataclass
class Request:
    """A cleaned booking request (one occurrence)."""

    start: datetime
    end: datetime
    purpose: str
    organisation: Organisation | None
    terms_version: int | None


def is_qualified(resource: Resource, user: User, moment: datetime) -> bool:
    if not resource.requires_qualification or acts_for_company(user, resource.organisation) or user.is_admin:
        return True
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.resource_id == resource.id, Qualification.user_id == user.id))
    return qualification is not None and qualification.valid_at(moment)


def booker_organisation(user: User, wanted: int | None, errors: Errors) -> Organisation | None:
    """The organisation a booking is for: the one asked for (the booker must belong to it), else their first
    startup, else none."""
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == user.id)
                                     .order_by(Membership.id)).all()
    if wanted is None:
        startups = [m.organisation for m in memberships if m.organisation.kind == OrganisationKind.STARTUP]
        return startups[0] if startups else None
    for membership in memberships:
        if membership.organisation_id == wanted:
            return membership.organisation
    add_error(errors, "organisation_id", _("You can only book for an organisation you belong to."))
    return None


def clean_request(resource: Resource, user: User, cmd: NewBooking) -> tuple[Request, int]:
    """The first occurrence and the number of weekly occurrences, or 400 naming every broken field."""
    errors: Errors = {}
    zone = ZoneInfo(resource.timezone)
    start, end = in_utc(cmd.start, zone), in_utc(cmd.end, zone)
    organisation = booker_organisation(user, cmd.organisation_id, errors)
    terms_version = None
    if resource.terms_text:
        terms_version = cmd.accept_terms_version
        if terms_version != resource.terms_version:
            add_error(errors, "accept_terms_version", _("Accept the current terms (version %(version)d) to book.",
                                                        version=resource.terms_version))
    if end <= start:
        add_error(errors, "end", _("The end must be after the start (a booking cannot be empty or reversed)."))
    if errors:
        raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
    return Request(start, end, cmd.purpose, organisation, terms_version), cmd.repeat_weeks


def rule_errors(resource: Resource, user: User, start: datetime, end: datetime,
                now: datetime | None = None) -> Errors:
    """Every rule of the resource the interval breaks (not counting other bookings)."""
    now = now or utcnow()
    errors: Errors = {}
    minutes = (end - start).total_seconds() / 60
    if start < now:
        add_error(errors, "start", _("The start is in the past."))
    if minutes < resource.min_minutes:
        add_error(errors, "duration", _("Too short: at least %(n)d minutes.", n=resource.min_minutes))
    if minutes > resource.max_minutes:
        add_error(errors, "duration", _("Too long: at most %(n)d minutes.", n=resource.max_minutes))
    if start > now + timedelta(days=resource.advance_days):
        add_error(errors, "advance_days", _("Beyond the booking window: at most %(n)d days ahead.",
                                       n=resource.advance_days))
    if "duration" not in errors or minutes <= 31 * 24 * 60:
        opened = availability.open_intervals(resource, start - timedelta(days=1), end + timedelta(days=1))
        if not any(a <= start and end <= b for a, b in opened):
            add_error(errors, "opening_hours", _("Outside the opening hours."))
    if availability.blackouts_in(resource.id, start, end):
        add_error(errors, "blackout", _("The resource is closed or under maintenance then."))
    if not is_qualified(resource, user, start):
        add_error(errors, "qualification", _("You need a qualification for this resource; request a training."))
    if not resource.published and not is_company_staff(user, resource.organisation):
        add_error(errors, "resource", _("This resource is not open for booking."))
    return errors


def blocked_interval(resource: Resource, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The interval a booking keeps from others: its own time and the buffer after it."""
    return start, end + timedelta(minutes=resource.buffer_minutes)


def clashes(resource_id: int, blocked_from: datetime, blocked_until: datetime,
            statuses=OCCUPYING_BOOKING_STATUSES, exclude_id: int | None = None) -> list[Booking]:
    found = availability.occupying_bookings(resource_id, blocked_from, blocked_until, statuses)
    return [b for b in found if b.id != exclude_id]


def week_bounds(resource: Resource, moment: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 to Monday 00:00 of the local week containing `moment`, in UTC."""
    zone = ZoneInfo(resource.timezone)
    local_day = moment.astimezone(zone).date()
    monday = local_day - timedelta(days=local_day.weekday())
    return (availability.local_to_utc(monday, time(0), zone),
            availability.local_to_utc(monday + timedelta(days=7), time(0), zone))


def quota_error(resource: Resource, user: User, organisation: Organisation | None,
                start: datetime, end: datetime, extra_minutes: int = 0) -> str | None:
    """Minutes per startup (or per person without one) per local week; pending requests count."""
    if not resource.quota_minutes_per_week or acts_for_company(user, resource.organisation):
        return None
    week_start, week_end = week_bounds(resource, start)
    stmt = select(Booking).where(Booking.resource_id == resource.id, Booking.start_at >= week_start,
                                 Booking.start_at < week_end,
                                 Booking.status.in_(OCCUPYING_BOOKING_STATUSES + (BookingStatus.PENDING,)))
    if organisation is not None:
        stmt = stmt.where(Booking.organisation_id == organisation.id)
    else:
        stmt = stmt.where(Booking.user_id == user.id, Booking.organisation_id.is_(None))
    used = sum(b.minutes for b in db.session.scalars(stmt))
    wanted = int((end - start).total_seconds() // 60) + extra_minutes
    if used + wanted > resource.quota_minutes_per_week:
        return _("Weekly quota exceeded: %(used)d of %(quota)d minutes already booked this week.",
                 used=used, quota=resource.quota_minutes_per_week)
    return None


def step_minutes(resource: Resource) -> int:
    """The step a selection on the booking grid snaps to: the largest that divides the hour, the shortest
    booking and the buffer (so every allowed length and every free start after a buffer lies on the grid),
    at least 5 minutes. A lab with 60-minute bookings and a 30-minute buffer snaps to 30 minutes."""
    return max(5, math.gcd(60, resource.min_minutes or 0, resource.buffer_minutes or 0))


def snap(resource: Resource, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """`start` down and `end` up to the resource's step, counted from local midnight of the resource (UTC in,
    UTC out); an interval shorter than one step becomes one step long."""
    zone, step = ZoneInfo(resource.timezone), step_minutes(resource)

    def floor(moment: datetime) -> datetime:
        local = moment.astimezone(zone)
        minutes = local.hour * 60 + local.minute
        minutes -= minutes % step
        return availability.local_to_utc(local.date(), time(minutes // 60, minutes % 60), zone)

    snapped_start, snapped_end = floor(start), floor(end)
    if snapped_end != end:
        snapped_end += timedelta(minutes=step)
    if snapped_end <= snapped_start:
        snapped_end = snapped_start + timedelta(minutes=step)
    return snapped_start, snapped_end


def occurrences(resource: Resource, request: Request, repeat: int) -> list[tuple[datetime, datetime]]:
    """Weekly repeats at the same local wall-clock time (so 09:00 stays 09:00 across DST)."""
    zone = ZoneInfo(resource.timezone)
    local_start, local_end = request.start.astimezone(zone), request.end.astimezone(zone)
    result = []
    for week in range(repeat):
        s = availability.local_to_utc(local_start.date() + timedelta(weeks=week), local_start.timetz().replace(
            tzinfo=None), zone)
        e = availability.local_to_utc(local_end.date() + timedelta(weeks=week), local_end.timetz().replace(
            tzinfo=None), zone)
        result.append((s, e))
    return result


def preview(resource: Resource, user: User, cmd: NewBooking) -> list[dict[str, Any]]:
    """Each occurrence of a (weekly) request with the rules it breaks and the bookings it clashes with."""
    request, repeat = clean_request(resource, user, cmd)
    rows, minutes_so_far = [], {}
    audience = audience_for(request.organisation, resource)
    credit_left: dict[str, int] = {}
    for start, end in occurrences(resource, request, repeat):
        problems = rule_errors(resource, user, start, end)
        blocked_from, blocked_until = blocked_interval(resource, start, end)
        clash = clashes(resource.id, blocked_from, blocked_until)
        week = week_bounds(resource, start)[0]
        quota = quota_error(resource, user, request.organisation, start, end, minutes_so_far.get(week, 0))
        if quota:
            problems.setdefault("quota", []).append(quota)
        if not problems and not clash:
            minutes_so_far[week] = minutes_so_far.get(week, 0) + int((end - start).total_seconds() // 60)
        unit, amount, currency = quote(resource, audience, int((end - start).total_seconds() // 60))
        if currency not in credit_left:
            credit_left[currency] = available_credit(request.organisation, resource, currency)
        credit = min(amount, credit_left[currency]) if not problems and not clash else 0
        credit_left[currency] -= credit
        rows.append({"start": start, "end": end, "ok": not problems and not clash, "problems": problems,
                     "conflicts": [b.id for b in clash], "price_unit": unit, "price": amount, "credit": credit,
                     "due": amount - credit, "currency": currency})
    return rows
