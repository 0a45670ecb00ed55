"""Free time of a resource: opening hours (weekly rules, dated exceptions) in the resource's own time
zone, minus blackouts, maintenance and outages, minus the intervals blocked by occupying bookings.

Every query is bounded by the window asked for (bookings through the index on
`(resource_id, blocked_until)`), so the cost grows with the window, not with the number of past
bookings. Local wall-clock times are turned into UTC per date with zoneinfo, which gets the
daylight-saving changes right: a lab in Berlin that opens at 09:00 opens at 08:00Z in winter and
07:00Z in summer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.extensions import db
from resources.models import (
    OCCUPYING_BOOKING_STATUSES,
    Blackout,
    Booking,
    OpeningException,
    Resource,
)

Interval = tuple[datetime, datetime]


def local_to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (PEP 495 fold=0: a time in the spring-forward gap
    moves forward by the gap; a repeated autumn time means its first occurrence)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def subtract(free: Sequence[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """`free` minus `busy` (both any order); the result is sorted and merged."""
    result = merge(free)
    for b_start, b_end in merge(busy):
        next_result = []
        for start, end in result:
            if b_end <= start or b_start >= end:
                next_result.append((start, end))
                continue
            if start < b_start:
                next_result.append((start, b_start))
            if b_end < end:
                next_result.append((b_end, end))
        result = next_result
    return result


def total_minutes(intervals: Iterable[Interval]) -> int:
    return int(sum((end - start).total_seconds() for start, end in intervals) // 60)


def _day_range(resource: Resource, start: datetime, end: datetime) -> tuple[date, date]:
    zone = ZoneInfo(resource.timezone)
    return start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date() + timedelta(days=1)


def open_intervals(resource: Resource, start: datetime, end: datetime,
                   exception_rows: Iterable[OpeningException] | None = None) -> list[Interval]:
    """Opening hours between `start` and `end` (UTC), exceptions applied, clipped to the window.
    `exception_rows`: the resource's exceptions, when the caller loaded them for many resources at once."""
    zone = ZoneInfo(resource.timezone)
    first, last = _day_range(resource, start, end)
    exceptions: dict[date, list[OpeningException]] = {}
    if exception_rows is None:
        exception_rows = db.session.scalars(select(OpeningException).where(
            OpeningException.resource_id == resource.id, OpeningException.day >= first,
            OpeningException.day <= last))
    for row in exception_rows:
        if first <= row.day <= last:
            exceptions.setdefault(row.day, []).append(row)
    weekly: dict[int, list[tuple[time, time]]] = {}
    for hours in resource.opening_hours:
        weekly.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    intervals: list[Interval] = []
    day = first
    while day <= last:
        if day in exceptions:
            rules = [(row.opens, row.closes) for row in exceptions[day] if not row.closed]
        else:
            rules = weekly.get(day.weekday(), [])
        for opens, closes in rules:
            a, b = local_to_utc(day, opens, zone), local_to_utc(day, closes, zone)
            a, b = max(a, start), min(b, end)
            if b > a:
                intervals.append((a, b))
        day += timedelta(days=1)
    return merge(intervals)


def blackouts_in(resource_id: int, start: datetime, end: datetime) -> list[Blackout]:
    return list(db.session.scalars(select(Blackout).where(
        Blackout.resource_id == resource_id, Blackout.ends_at > start, Blackout.starts_at < end)
        .order_by(Blackout.starts_at)))


def occupying_bookings(resource_id: int, start: datetime, end: datetime,
                       statuses: Sequence[str] = OCCUPYING_BOOKING_STATUSES) -> list[Booking]:
    """Bookings whose blocked interval meets [start, end). Uses ix_booking_resource_blocked_until."""
    return list(db.session.scalars(select(Booking).where(
        Booking.resource_id == resource_id, Booking.blocked_until > start, Booking.blocked_from < end,
        Booking.status.in_(statuses)).order_by(Booking.start_at)))


def free_intervals(resource: Resource, start: datetime, end: datetime) -> list[Interval]:
    """Where a new booking [s, e) may lie: its own buffer after `e` must not reach the next booking,
    so each booking's blocked interval is widened by the buffer at its front."""
    buffer = timedelta(minutes=resource.buffer_minutes)
    return _free(resource, start, end, open_intervals(resource, start, end),
                 [(b.starts_at, b.ends_at) for b in blackouts_in(resource.id, start, end)],
                 occupying_bookings(resource.id, start - buffer, end + buffer))


def _free(resource: Resource, start: datetime, end: datetime, opened: list[Interval],
          blackouts: list[Interval], bookings: Iterable[Booking]) -> list[Interval]:
    buffer = timedelta(minutes=resource.buffer_minutes)
    busy = list(blackouts)
    busy += [(b.blocked_from - buffer, b.blocked_until) for b in bookings
             if b.blocked_until > start - buffer and b.blocked_from < end + buffer]
    return subtract(opened, busy)


def free_intervals_many(resources: Sequence[Resource], start: datetime, end: datetime,
                        among=None) -> dict[int, list[Interval]]:
    """`free_intervals` of many resources in three statements (their exceptions, closures and bookings in
    the window), however many resources there are. Load `Resource.opening_hours` with the resources.
    `among`: a SELECT of the resources' ids, used instead of a list of them (for every resource at once)."""
    if not resources:
        return {}
    ids = among if among is not None else [r.id for r in resources]
    widest = timedelta(minutes=max(r.buffer_minutes for r in resources))
    first = min(_day_range(r, start, end)[0] for r in resources)
    last = max(_day_range(r, start, end)[1] for r in resources)
    exceptions: dict[int, list[OpeningException]] = {}
    for row in db.session.scalars(select(OpeningException).where(
            OpeningException.resource_id.in_(ids), OpeningException.day >= first, OpeningException.day <= last)):
        exceptions.setdefault(row.resource_id, []).append(row)
    closures: dict[int, list[Interval]] = {}
    for row in db.session.scalars(select(Blackout).where(
            Blackout.resource_id.in_(ids), Blackout.ends_at > start, Blackout.starts_at < end)):
        closures.setdefault(row.resource_id, []).append((row.starts_at, row.ends_at))
    bookings: dict[int, list[Booking]] = {}
    for row in db.session.scalars(select(Booking).where(
            Booking.resource_id.in_(ids), Booking.blocked_until > start - widest, Booking.blocked_from < end + widest,
            Booking.status.in_(OCCUPYING_BOOKING_STATUSES)).order_by(Booking.start_at)):
        bookings.setdefault(row.resource_id, []).append(row)
    return {r.id: _free(r, start, end, open_intervals(r, start, end, exceptions.get(r.id, [])),
                        sorted(closures.get(r.id, [])), bookings.get(r.id, [])) for r in resources}
