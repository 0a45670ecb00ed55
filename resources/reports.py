"""Charges and reports: a startup's monthly statement, a company's utilisation per resource, and the
public idle-capacity list (open windows in the next 14 days across every anchor company)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.cache import cached_slice
from portal.db import utcnow
from portal.exports import csv_safe
from portal.extensions import db
from portal.organisations.models import Organisation, OrganisationKind
from resources import availability
from resources.models import Booking, BookingStatus, OpeningHours, Resource

STATEMENT_ZONE = "Asia/Shanghai"  # months of a statement are calendar months in China time
CHARGED = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


@dataclass
class StatementLine:
    booking: Booking
    kind: str  # "booking" or "late_cancel_fee"
    amount: int  # due: the price less the open-source credits it drew
    currency: str
    price: int = 0
    credit: int = 0


@dataclass
class Statement:
    organisation: Organisation
    month: date
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # amounts due per currency
    credit_totals: dict[str, int] = field(default_factory=dict)  # credits drawn per currency
    credit_balances: list = field(default_factory=list)  # resources.bookings.CreditBalance, as of now


def month_bounds(month: date, zone: str = STATEMENT_ZONE) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (availability.local_to_utc(first, time(0), tz), availability.local_to_utc(following, time(0), tz))


def this_month() -> date:
    """The first day of the current month in China time (the default statement month)."""
    return utcnow().astimezone(ZoneInfo(STATEMENT_ZONE)).date().replace(day=1)


def monthly_statement(organisation: Organisation, month: date) -> Statement:
    """Charges of the bookings starting in the month: the stored price of confirmed, completed and
    no-show bookings less the open-source credits each drew, and the late-cancel fee of cancelled ones
    (paid in money: a cancelled booking gave its credit back). Also the credit balances as of now."""
    from resources.bookings import credit_balances

    start, end = month_bounds(month)
    statement = Statement(organisation, month, credit_balances=credit_balances(organisation.id))
    bookings = db.session.scalars(select(Booking).options(selectinload(Booking.resource)).where(
        Booking.organisation_id == organisation.id, Booking.start_at >= start, Booking.start_at < end)
        .order_by(Booking.start_at)).all()
    for booking in bookings:
        if booking.status in CHARGED:
            line = StatementLine(booking, "booking", booking.amount_due, booking.currency,
                                 booking.price_amount, booking.credit_amount or 0)
        elif booking.status == BookingStatus.CANCELLED and booking.cancel_fee_amount:
            line = StatementLine(booking, "late_cancel_fee", booking.cancel_fee_amount, booking.currency,
                                 booking.cancel_fee_amount)
        else:
            continue
        statement.lines.append(line)
        statement.totals[line.currency] = statement.totals.get(line.currency, 0) + line.amount
        if line.credit:
            statement.credit_totals[line.currency] = statement.credit_totals.get(line.currency, 0) + line.credit
    return statement


def statement_csv(statement: Statement) -> str:
    """The statement as CSV for the startup's bookkeeping: one row per charge, then a total per currency.
    Amounts in minor units (`amount_minor` is due: `price_minor` less `credit_minor`); text cells that a
    spreadsheet would run as formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["booking_id", "resource", "company", "start_utc", "end_utc", "timezone", "booked_by",
                     "item", "status", "audience", "price_unit", "terms_version", "amount_minor", "currency",
                     "price_minor", "credit_minor"])
    for line in statement.lines:
        booking, resource = line.booking, line.booking.resource
        writer.writerow([booking.id, csv_safe(resource.name), csv_safe(resource.organisation.name),
                         booking.start_at.isoformat(), booking.end_at.isoformat(), resource.timezone,
                         csv_safe(booking.user.name), line.kind, booking.status, booking.audience,
                         booking.price_unit or "", booking.terms_version or "", line.amount, line.currency,
                         line.price, line.credit])
    for currency, amount in sorted(statement.totals.items()):
        writer.writerow(["", "", "", "", "", "", "", "total", "", "", "", "", amount, currency, "",
                         statement.credit_totals.get(currency, 0)])
    return out.getvalue()


@dataclass
class Utilisation:
    resource: Resource
    open_minutes: int
    booked_minutes: int

    @property
    def idle_minutes(self) -> int:
        return max(0, self.open_minutes - self.booked_minutes)

    @property
    def ratio(self) -> float:
        return self.booked_minutes / self.open_minutes if self.open_minutes else 0.0


def utilisation(organisation: Organisation, start: datetime, end: datetime) -> list[Utilisation]:
    """Booked hours / open hours per resource of a company (blackouts are not open time)."""
    rows = []
    for resource in db.session.scalars(select(Resource).where(Resource.organisation_id == organisation.id)
                                       .order_by(Resource.name)):
        opened = availability.open_intervals(resource, start, end)
        opened = availability.subtract(opened, [(b.starts_at, b.ends_at)
                                                for b in availability.blackouts_in(resource.id, start, end)])
        booked = [(b.start_at, b.end_at) for b in availability.occupying_bookings(resource.id, start, end)]
        booked_in_open = []
        for a, b in opened:
            for s, e in booked:
                if s < b and e > a:
                    booked_in_open.append((max(a, s), min(b, e)))
        rows.append(Utilisation(resource, availability.total_minutes(opened),
                                availability.total_minutes(availability.merge(booked_in_open))))
    return rows


def utilisation_chart(rows: list[Utilisation], booked_label: str, idle_label: str) -> dict:
    """A stacked bar chart (Chart.js config) of booked and idle hours per resource."""
    return {
        "type": "bar",
        "data": {
            "labels": [row.resource.name[:40] for row in rows],
            "datasets": [
                {"label": booked_label, "data": [round(r.booked_minutes / 60, 1) for r in rows],
                 "backgroundColor": "#0d6efd"},
                {"label": idle_label, "data": [round(r.idle_minutes / 60, 1) for r in rows],
                 "backgroundColor": "#adb5bd"},
            ],
        },
        "options": {"indexAxis": "y", "scales": {"x": {"stacked": True}, "y": {"stacked": True}}},
    }


@dataclass
class IdleResource:
    resource: Resource
    windows: list[tuple[datetime, datetime]]
    free_minutes: int


IDLE_DAYS = 14
IDLE_WINDOWS = 6  # free windows shown per resource
IDLE_CACHE_SECONDS = 60


def _idle_rows(days: int, per_resource: int) -> list[dict]:
    """Every published company resource with free time, most free first, as plain values (cacheable).

    Five statements whatever the number of resources: their scheduling columns, their opening hours, and
    (availability.free_intervals_many) the exceptions, closures and bookings of the window, each one
    query over the same SELECT of ids. No entity of the page is loaded here (its prices and photos would
    be loaded too): light records carry what the calendar arithmetic reads."""
    now = utcnow().astimezone(UTC).replace(second=0, microsecond=0)
    end = now + timedelta(days=days)
    eligible = (select(Resource.id).join(Organisation, Resource.organisation_id == Organisation.id)
                .where(Resource.published.is_(True), Organisation.kind == OrganisationKind.COMPANY))
    hours: dict[int, list[OpeningHours]] = {}
    for row in db.session.scalars(select(OpeningHours).where(OpeningHours.resource_id.in_(eligible))):
        hours.setdefault(row.resource_id, []).append(row)
    calendars = [SimpleNamespace(id=row.id, timezone=row.timezone, buffer_minutes=row.buffer_minutes,
                                 min_minutes=row.min_minutes, opening_hours=hours.get(row.id, []))
                 for row in db.session.execute(
                     select(Resource.id, Resource.timezone, Resource.buffer_minutes, Resource.min_minutes)
                     .where(Resource.id.in_(eligible)).order_by(Resource.id))]
    free = availability.free_intervals_many(calendars, now, end, among=eligible)
    rows = []
    for resource in calendars:
        windows = [(a, b) for a, b in free[resource.id] if (b - a) >= timedelta(minutes=resource.min_minutes)]
        if windows:
            rows.append({"id": resource.id, "free": availability.total_minutes(windows),
                         "windows": [[a.isoformat(), b.isoformat()] for a, b in windows[:per_resource]]})
    rows.sort(key=lambda row: (-row["free"], row["id"]))
    return rows


def idle_capacity(page: int = 1, per_page: int = 20, days: int = IDLE_DAYS,
                  per_resource: int = IDLE_WINDOWS) -> tuple[list[IdleResource], int]:
    """One page of published resources of anchor companies with their free windows (at least the minimum
    booking length) from now to `days` ahead, most free time first, and how many there are. The ranking
    is a public aggregate over every calendar, kept for IDLE_CACHE_SECONDS (shared through Redis when
    configured); a page then loads only its own resources."""
    window, total = cached_slice(f"resources:idle:{days}:{per_resource}", IDLE_CACHE_SECONDS,
                                 lambda: _idle_rows(days, per_resource), (page - 1) * per_page, page * per_page)
    resources = {r.id: r for r in db.session.scalars(
        select(Resource).where(Resource.id.in_([row["id"] for row in window]))
        .options(selectinload(Resource.organisation)))} if window else {}
    items = [IdleResource(resources[row["id"]], [(datetime.fromisoformat(a), datetime.fromisoformat(b))
                                                 for a, b in row["windows"]], row["free"])
             for row in window if row["id"] in resources]
    return items, total
