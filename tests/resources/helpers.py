"""Shared helpers of the booking tests: future weekdays in a resource's local time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_weekday(weekday: int = 0, weeks_ahead: int = 1, zone: ZoneInfo = SHANGHAI) -> date:
    """A date on `weekday` (Monday=0) at least a week in the future, in `zone`."""
    today = datetime.now(zone).date()
    days = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=days + 7 * (weeks_ahead - 1))


def at(day: date, clock: str, zone: ZoneInfo = SHANGHAI) -> str:
    """ISO 8601 with the zone's offset, e.g. 2026-12-07T10:00:00+08:00."""
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).isoformat()


def body(day: date, start: str, end: str, **extra) -> dict:
    return {"start": at(day, start), "end": at(day, end), "purpose": "Prototype run", **extra}


def next_spring_forward_sunday(min_days_ahead: int = 16) -> date:
    """The next last Sunday of March (Europe switches to summer time) at least `min_days_ahead` away."""
    today = datetime.now(SHANGHAI).date()
    for year in (today.year, today.year + 1):
        sunday = date(year, 3, 31)
        sunday -= timedelta(days=(sunday.weekday() + 1) % 7)
        if (sunday - today).days >= min_days_ahead:
            return sunday
    raise AssertionError("unreachable")
