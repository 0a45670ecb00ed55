"""Booking rules: create (single or weekly series), approve, reject, cancel, complete, waitlist,
qualifications, outages, reviews. Flush, never commit (the request or job commits once).

The no-overlap guarantee:
- PostgreSQL: the exclusion constraint `booking_no_overlap` (see models.py) refuses a second occupying
  booking whose blocked interval (buffer included) overlaps; the IntegrityError is turned into a
  409 `Conflict` here. Quota checks read other bookings, so they take a row lock on the resource
  first (`SELECT ... FOR UPDATE`), which serialises bookings of that resource.
- SQLite has no exclusion constraints but only one writer at a time, so the booking unit of work is
  serialised: its first statement is a write (an UPDATE that changes nothing), which takes SQLite's
  write lock, waiting up to busy_timeout, exactly as BEGIN IMMEDIATE would. Every read the decision
  depends on happens after it and no other writer can interleave until the request commits. The
  engine (portal/__init__.py) emits a plain deferred BEGIN at the request's first statement, usually
  the login lookup; a transaction that read first and writes later fails with SQLITE_BUSY_SNAPSHOT if
  another writer committed in between. So views that change bookings are decorated with
  `serialised_write` (the lock before the view body runs), and when the lock statement fails that way
  the read-only transaction is rolled back and restarted with the lock as its first statement.
  `serialised()` takes the same lock (per resource row) for callers outside views (jobs, CLI).
"""

from __future__ import annotations

import secrets
import time as time_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from portal import audit
from portal.auth.models import User
from portal.auth.services import external_url
from portal.db import utcnow
from portal.errors import Conflict, PortalError, ValidationFailed
from portal.extensions import db
from portal.mail import send_mail
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.permissions import can
from resources import availability
from resources.models import (
    Audience,
    Blackout,
    BlackoutKind,
    Booking,
    BookingCalendar,
    BookingStatus,
    OpeningException,
    PriceUnit,
    ProblemReport,
    Qualification,
    Resource,
    Review,
    TrainingRequest,
    WaitlistEntry,
    WaitlistStatus,
)
from resources.policies import acts_for_company, is_company_staff

Errors = dict[str, list[str]]
T = TypeVar("T")
MAX_SERIES = 52
MAX_WINDOW_DAYS = 62


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(str(message))


# ---- locking -----------------------------------------------------------------------------------

def _dialect() -> str:
    return db.session.get_bind().dialect.name


def lock_resource(resource_id: int) -> None:
    """Serialise booking decisions on one resource until the transaction ends."""
    if _dialect() == "sqlite":
        table = Resource.__table__
        db.session.execute(update(table).where(table.c.id == resource_id)
                           .values(capacity=table.c.capacity, updated_at=table.c.updated_at))
    else:
        db.session.execute(select(Resource.id).where(Resource.id == resource_id).with_for_update())


def _sqlite_write_lock(statement) -> None:
    """Execute `statement` (a write) as the lock; on a stale snapshot restart the read-only transaction."""
    attempts = 8
    for attempt in range(attempts):
        try:
            db.session.execute(statement)
            return
        except OperationalError as error:
            if attempt + 1 == attempts:
                raise Conflict(_("The resource is busy right now. Try again.")) from error
            db.session.rollback()  # only reads happened; restart with the write lock first
            time_module.sleep(0.01 * (attempt + 1))


def begin_booking_write() -> None:
    """Start a booking unit of work on SQLite with the database's write lock (a no-op on PostgreSQL,
    where the exclusion constraint and row locks do the work). Called first thing by every view that
    changes bookings, so even the login bookkeeping of the request (a token's last use) cannot turn the
    transaction into a reader that later fails to upgrade. An UPDATE matching no row takes SQLite's
    write lock like BEGIN IMMEDIATE does."""
    if _dialect() != "sqlite":
        return
    table = Resource.__table__
    _sqlite_write_lock(update(table).where(table.c.id == -1).values(capacity=table.c.capacity))


def serialised_write(view: Callable) -> Callable:
    """Decorator for views that change bookings: `begin_booking_write()` before the view runs."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args, **kwargs):
        from flask import request

        if request.method != "GET":
            begin_booking_write()
        return view(*args, **kwargs)

    return wrapper


def serialised(resource_id: int, work: Callable[[], T], *, lock_on_postgresql: bool = True) -> T:
    """Run `work()` as the resource's booking unit of work (see the module docstring)."""
    if _dialect() == "sqlite":
        table = Resource.__table__
        _sqlite_write_lock(update(table).where(table.c.id == resource_id)
                           .values(capacity=table.c.capacity, updated_at=table.c.updated_at))
    elif lock_on_postgresql:
        lock_resource(resource_id)
    return work()


def _insert(booking: Booking) -> Booking:
    """Insert inside a savepoint so a lost race leaves the transaction usable; overlap -> 409."""
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as error:
        if not _is_overlap(error):
            raise
        raise Conflict(_("That time is already booked (buffers included)."),
                       {"start": [_("overlaps another booking")]}) from error
    return booking


def _is_overlap(error: IntegrityError) -> bool:
    """The exclusion constraint said no (SQLSTATE 23P01), not some other integrity rule."""
    return getattr(error.orig, "sqlstate", None) == "23P01" or "booking_no_overlap" in str(error.orig)


# ---- input -------------------------------------------------------------------------------------

def parse_moment(value: Any, name: str, zone: ZoneInfo, errors: Errors) -> datetime | None:
    """ISO 8601; with an offset as given, without one in the resource's local time (the HTML form)."""
    if isinstance(value, datetime):
        moment = value
    else:
        if not isinstance(value, str) or not value.strip():
            _add(errors, name, _("This field is required."))
            return None
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            _add(errors, name, _("Use an ISO 8601 date and time, e.g. 2026-12-01T09:00+08:00."))
            return None
    if not 2000 <= moment.year <= 2200:  # also keeps date arithmetic far from datetime's limits
        _add(errors, name, _("Use a date between the years 2000 and 2200."))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _int_value(data: Mapping, name: str, errors: Errors, default: int | None, low: int, high: int) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None:
        _add(errors, name, _("Must be a whole number."))
        return default
    if not low <= number <= high:
        _add(errors, name, _("Must be between %(low)d and %(high)d.", low=low, high=high))
        return default
    return number


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


# ---- prices ------------------------------------------------------------------------------------

def is_incubatee(organisation: Organisation, resource: Resource) -> bool:
    """An incubated startup: it has a project accepted into or being incubated by a program, or an
    accepted application to a program of the company that owns the resource."""
    try:
        from incubation.models import Project
    except ImportError:  # pragma: no cover - the incubation package is part of the portal
        return False
    incubating = db.session.scalar(select(func.count()).select_from(Project).where(
        Project.organisation_id == organisation.id, Project.status.in_(("accepted", "incubating"))))
    if incubating:
        return True
    try:
        from incubation.models import Application, Program
    except ImportError:  # pragma: no cover
        return False
    linked = db.session.scalar(select(func.count()).select_from(Application)
                               .join(Project, Application.project_id == Project.id)
                               .join(Program, Application.program_id == Program.id)
                               .where(Project.organisation_id == organisation.id,
                                      Program.organisation_id == resource.organisation_id,
                                      Application.status == "accepted"))
    return bool(linked)


def audience_for(organisation: Organisation | None, resource: Resource) -> str:
    """incubatee (incubated startup), startup (any other startup), external (everyone else)."""
    if organisation is None or organisation.kind != OrganisationKind.STARTUP:
        return Audience.EXTERNAL
    return Audience.INCUBATEE if is_incubatee(organisation, resource) else Audience.STARTUP


def quote(resource: Resource, audience: str, minutes: int) -> tuple[str | None, int, str]:
    """(unit, amount in minor units, currency): the hourly price pro rata if there is one, else the
    per-use price; 0 (price on request) when the table has neither for this audience."""
    currency = resource.prices[0].currency if resource.prices else "CNY"
    hourly = resource.price_for(audience, PriceUnit.HOUR)
    if hourly is not None:
        return PriceUnit.HOUR, (hourly.amount * minutes + 30) // 60, hourly.currency
    per_use = resource.price_for(audience, PriceUnit.USE)
    if per_use is not None:
        return PriceUnit.USE, per_use.amount, per_use.currency
    return None, 0, currency


# ---- open-source resource credits ----------------------------------------------------------------
# An open-source program grants each accepted startup credits (incubation.models.ResourceCredit). They are
# spent on the resources of the company that granted them (the program's company): when a member books one
# of its resources for the credited startup, the price is reduced by the available credit, never below zero.
# The credit drawn is stored on the booking (`credit_amount`) in the booking's own transaction, and given
# back (set to 0) when the booking is cancelled or rejected. The balance is grants minus credit held by
# bookings; PostgreSQL serialises concurrent draws with a row lock on the startup's grants (SQLite booking
# writes are serial anyway).

@dataclass
class CreditBalance:
    company_id: int  # the company that granted the credits; they are spent on its resources
    company_name: str
    currency: str
    granted: int = 0
    used: int = 0

    @property
    def available(self) -> int:
        return max(0, self.granted - self.used)


def credit_balances(organisation_id: int) -> list[CreditBalance]:
    """The startup's credits per granting company and currency (two grouped queries)."""
    from incubation.models import Application, Program, ResourceCredit

    balances: dict[tuple[int, str], CreditBalance] = {}
    for company_id, name, currency, granted in db.session.execute(
            select(Program.organisation_id, Organisation.name, ResourceCredit.currency, func.sum(ResourceCredit.amount))
            .join(Application, Application.id == ResourceCredit.application_id)
            .join(Program, Program.id == Application.program_id)
            .join(Organisation, Organisation.id == Program.organisation_id)
            .where(ResourceCredit.organisation_id == organisation_id)
            .group_by(Program.organisation_id, Organisation.name, ResourceCredit.currency)):
        balances[(company_id, currency)] = CreditBalance(company_id, name, currency, int(granted or 0))
    if not balances:
        return []
    for company_id, currency, used in db.session.execute(
            select(Resource.organisation_id, Booking.currency, func.sum(Booking.credit_amount))
            .join(Resource, Resource.id == Booking.resource_id)
            .where(Booking.organisation_id == organisation_id, Booking.credit_amount > 0)
            .group_by(Resource.organisation_id, Booking.currency)):
        if (company_id, currency) in balances:
            balances[(company_id, currency)].used = int(used or 0)
    return sorted(balances.values(), key=lambda b: (b.company_name, b.currency))


def available_credit(organisation: Organisation | None, resource: Resource, currency: str) -> int:
    if organisation is None:
        return 0
    return next((b.available for b in credit_balances(organisation.id)
                 if b.company_id == resource.organisation_id and b.currency == currency), 0)


def take_credit(organisation: Organisation | None, resource: Resource, currency: str, amount: int) -> int:
    """How much of `amount` the startup's credits pay, inside the booking's transaction. Call it right before
    inserting the booking with the result as its `credit_amount`."""
    if organisation is None or amount <= 0:
        return 0
    from incubation.models import ResourceCredit

    if _dialect() != "sqlite":
        db.session.execute(select(ResourceCredit.id).where(ResourceCredit.organisation_id == organisation.id)
                           .with_for_update())
    return min(amount, available_credit(organisation, resource, currency))


def _release_credit(booking: Booking) -> int:
    """A cancelled or rejected booking gives its credit back; returns the amount released."""
    released = booking.credit_amount or 0
    booking.credit_amount = 0
    return released


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


def _booker_organisation(user: User, raw: Any, errors: Errors) -> Organisation | None:
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == user.id)
                                     .order_by(Membership.id)).all()
    if raw in (None, ""):
        startups = [m.organisation for m in memberships if m.organisation.kind == OrganisationKind.STARTUP]
        return startups[0] if startups else None
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        _add(errors, "organisation_id", _("Must be a whole number."))
        return None
    for membership in memberships:
        if membership.organisation_id == wanted:
            return membership.organisation
    _add(errors, "organisation_id", _("You can only book for an organisation you belong to."))
    return None


def clean_request(resource: Resource, user: User, data: Mapping[str, Any]) -> tuple[Request, int]:
    """The first occurrence and the number of weekly occurrences, or 400 naming every broken field."""
    errors: Errors = {}
    zone = ZoneInfo(resource.timezone)
    start = parse_moment(data.get("start"), "start", zone, errors)
    end = parse_moment(data.get("end"), "end", zone, errors)
    purpose = data.get("purpose") or ""
    if not isinstance(purpose, str) or len(purpose) > 2000:
        _add(errors, "purpose", _("At most %(max)d characters.", max=2000))
        purpose = ""
    repeat = _int_value(data, "repeat_weeks", errors, 1, 1, MAX_SERIES) or 1
    organisation = _booker_organisation(user, data.get("organisation_id"), errors)
    terms_version = None
    if resource.terms_text:
        accepted = data.get("accept_terms_version")
        try:
            terms_version = int(accepted) if accepted not in (None, "", False) else None
        except (TypeError, ValueError):
            terms_version = None
        if terms_version != resource.terms_version:
            _add(errors, "accept_terms_version", _("Accept the current terms (version %(version)d) to book.",
                                                   version=resource.terms_version))
    if start and end and end <= start:
        _add(errors, "end", _("The end must be after the start (a booking cannot be empty or reversed)."))
    if errors:
        raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
    return Request(start, end, purpose.strip(), organisation, terms_version), repeat


def rule_errors(resource: Resource, user: User, start: datetime, end: datetime,
                now: datetime | None = None) -> Errors:
    """Every rule of the resource the interval breaks (not counting other bookings)."""
    now = now or utcnow()
    errors: Errors = {}
    minutes = (end - start).total_seconds() / 60
    if start < now:
        _add(errors, "start", _("The start is in the past."))
    if minutes < resource.min_minutes:
        _add(errors, "duration", _("Too short: at least %(n)d minutes.", n=resource.min_minutes))
    if minutes > resource.max_minutes:
        _add(errors, "duration", _("Too long: at most %(n)d minutes.", n=resource.max_minutes))
    if start > now + timedelta(days=resource.advance_days):
        _add(errors, "advance_days", _("Beyond the booking window: at most %(n)d days ahead.",
                                       n=resource.advance_days))
    if "duration" not in errors or minutes <= 31 * 24 * 60:
        opened = availability.open_intervals(resource, start - timedelta(days=1), end + timedelta(days=1))
        if not any(a <= start and end <= b for a, b in opened):
            _add(errors, "opening_hours", _("Outside the opening hours."))
    if availability.blackouts_in(resource.id, start, end):
        _add(errors, "blackout", _("The resource is closed or under maintenance then."))
    if not is_qualified(resource, user, start):
        _add(errors, "qualification", _("You need a qualification for this resource; request a training."))
    if not resource.published and not is_company_staff(user, resource.organisation):
        _add(errors, "resource", _("This resource is not open for booking."))
    return errors


def _blocked(resource: Resource, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return start, end + timedelta(minutes=resource.buffer_minutes)


def clashes(resource_id: int, blocked_from: datetime, blocked_until: datetime,
            statuses=BookingStatus.OCCUPYING, exclude_id: int | None = None) -> list[Booking]:
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
                                 Booking.status.in_(BookingStatus.OCCUPYING + (BookingStatus.PENDING,)))
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


def preview(resource: Resource, user: User, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each occurrence of a (weekly) request with the rules it breaks and the bookings it clashes with."""
    request, repeat = clean_request(resource, user, data)
    rows, minutes_so_far = [], {}
    audience = audience_for(request.organisation, resource)
    credit_left: dict[str, int] = {}
    for start, end in occurrences(resource, request, repeat):
        problems = rule_errors(resource, user, start, end)
        blocked_from, blocked_until = _blocked(resource, start, end)
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


# ---- commands ----------------------------------------------------------------------------------

def create_booking(resource: Resource, user: User, data: Mapping[str, Any],
                   now: datetime | None = None) -> list[Booking]:
    """Book one slot or a weekly series. 400 for a broken rule (nothing written), 409 for an overlap.

    A series is all or nothing unless `skip_conflicts` is set, in which case the occurrences that
    break a rule or clash are left out (the preview shows which).
    """
    request, repeat = clean_request(resource, user, data)
    skip = _truthy(data.get("skip_conflicts")) and repeat > 1
    resource_id = resource.id

    def work() -> list[Booking]:
        target = db.session.get(Resource, resource_id)
        booker = db.session.get(User, user.id)
        staff = acts_for_company(booker, target.organisation)
        status = BookingStatus.PENDING if target.requires_approval and not staff else BookingStatus.CONFIRMED
        audience = audience_for(request.organisation, target)
        series_key = secrets.token_hex(8) if repeat > 1 else None
        created: list[Booking] = []
        week_minutes: dict[datetime, int] = {}
        for index, (start, end) in enumerate(occurrences(target, request, repeat)):
            label = f"occurrence.{index}" if repeat > 1 else None
            errors = rule_errors(target, booker, start, end, now)
            week = week_bounds(target, start)[0]
            quota = quota_error(target, booker, request.organisation, start, end, week_minutes.get(week, 0))
            if quota:
                _add(errors, "quota", quota)
            if errors:
                if skip:
                    continue
                if label:
                    errors = {f"{label}.{k}": v for k, v in errors.items()}
                raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
            blocked_from, blocked_until = _blocked(target, start, end)
            if clashes(target.id, blocked_from, blocked_until):
                if skip:
                    continue
                raise Conflict(_("That time is already booked (buffers included)."),
                               {(f"{label}.start" if label else "start"): [_("overlaps another booking")]})
            unit, amount, currency = quote(target, audience, int((end - start).total_seconds() // 60))
            booking = Booking(resource_id=target.id, user_id=booker.id,
                              organisation_id=request.organisation.id if request.organisation else None,
                              start_at=start, end_at=end, blocked_from=blocked_from, blocked_until=blocked_until,
                              status=status, purpose=request.purpose, audience=audience, price_unit=unit,
                              price_amount=amount, currency=currency, terms_version=request.terms_version,
                              series_key=series_key,
                              credit_amount=take_credit(request.organisation, target, currency, amount))
            if status == BookingStatus.CONFIRMED:
                booking.decided_at = utcnow()
            created.append(_insert(booking))
            week_minutes[week] = week_minutes.get(week, 0) + booking.minutes
        if not created:
            raise Conflict(_("None of the occurrences can be booked."), {"start": [_("no free occurrence")]})
        for booking in created:
            audit.record("booking.created", booking, actor_id=booker.id, after={
                "resource_id": target.id, "start": booking.start_at.isoformat(), "end": booking.end_at.isoformat(),
                "status": booking.status, "price": booking.price_amount, "currency": booking.currency,
                "credit": booking.credit_amount, "audience": booking.audience,
                "terms_version": booking.terms_version})
        _mail_booker(created[0], _l("Booking confirmed") if status == BookingStatus.CONFIRMED
                     else _l("Booking request received"), extra=len(created) - 1)
        if status == BookingStatus.PENDING:
            _mail_staff(target, _l("New booking request for %(name)s", name=target.name),
                        _l("%(who)s asks for %(name)s. Review it in the approval queue: %(url)s",
                           who=booker.name, name=target.name, url=external_url("resources.approvals")))
        return created

    needs_lock = bool(resource.quota_minutes_per_week)
    return serialised(resource_id, work, lock_on_postgresql=needs_lock)


def _transition(booking: Booking, new_status: str) -> None:
    if new_status not in BookingStatus.TRANSITIONS.get(booking.status, ()):
        raise Conflict(_("A %(status)s booking cannot become %(new)s.", status=booking.status, new=new_status),
                       {"status": [booking.status]})


def pending_clashes(booking: Booking) -> list[Booking]:
    """Other pending requests that approving `booking` would reject (their slots overlap, buffers included)."""
    return clashes(booking.resource_id, booking.blocked_from, booking.blocked_until,
                   statuses=(BookingStatus.PENDING,), exclude_id=booking.id)


def approve_booking(booking: Booking, actor: User, reject_clashing: bool = False) -> list[Booking]:
    """Confirm a pending request. Clashing pending requests are rejected, but only when the caller
    saw the warning and said so (`reject_clashing`); otherwise 409 naming them. Returns the rejected."""
    booking_id = booking.id

    def work() -> list[Booking]:
        target = db.session.get(Booking, booking_id)
        db.session.refresh(target)
        _transition(target, BookingStatus.CONFIRMED)
        if target.start_at < utcnow():
            raise Conflict(_("This request has already started; reject it instead."), {"status": ["started"]})
        others = pending_clashes(target)
        if others and not reject_clashing:
            raise Conflict(_("Approving would reject %(n)d clashing request(s): %(ids)s. Confirm to go ahead.",
                             n=len(others), ids=", ".join(f"#{b.id}" for b in others)),
                           {"reject_clashing": [str(b.id) for b in others]})
        if clashes(target.resource_id, target.blocked_from, target.blocked_until, exclude_id=target.id):
            raise Conflict(_("That time is already booked (buffers included)."), {"start": ["overlaps"]})
        with db.session.begin_nested():
            target.status = BookingStatus.CONFIRMED
            target.decided_at, target.decided_by_id = utcnow(), actor.id
            try:
                db.session.flush()
            except IntegrityError as error:
                if not _is_overlap(error):
                    raise
                raise Conflict(_("That time is already booked (buffers included)."),
                               {"start": ["overlaps"]}) from error
        audit.record("booking.approved", target, actor_id=actor.id, before={"status": BookingStatus.PENDING},
                     after={"status": BookingStatus.CONFIRMED, "rejected": [b.id for b in others]})
        _mail_booker(target, _l("Booking approved"))
        for other in others:
            _decide(other, BookingStatus.REJECTED, actor,
                    _l("Another request for the same time was approved (#%(id)d).", id=target.id))
        return others

    return serialised(booking.resource_id, work)


def _decide(booking: Booking, status: str, actor: User | None, reason: Any) -> None:
    """`reason` is the staff's own text or a lazy string: stored in the actor's language, mailed in the
    booker's."""
    before = booking.status
    _transition(booking, status)
    booking.status = status
    released = _release_credit(booking) if status in (BookingStatus.CANCELLED, BookingStatus.REJECTED) else 0
    booking.status_reason = str(reason)[:500]
    booking.decided_at = utcnow()
    booking.decided_by_id = actor.id if actor is not None else None
    db.session.flush()
    after = {"status": status, "reason": str(reason)}
    if released:
        after["credit_released"] = released
    audit.record(f"booking.{status}", booking, actor_id=booking.decided_by_id, before={"status": before},
                 after=after)
    subject = {BookingStatus.REJECTED: _l("Booking request declined"),
               BookingStatus.CANCELLED: _l("Booking cancelled")}.get(status, _l("Booking updated"))
    _mail_booker(booking, subject, reason=reason)


def reject_booking(booking: Booking, actor: User, reason: str = "") -> Booking:
    _decide(booking, BookingStatus.REJECTED, actor, reason or _l("Declined by the company."))
    return booking


def cancellation_fee(booking: Booking, now: datetime | None = None) -> int:
    """Free until `cancel_free_hours` before the start, then the late-cancel percentage of the price.
    Pending requests never cost anything."""
    now = now or utcnow()
    if booking.status != BookingStatus.CONFIRMED:
        return 0
    if now < booking.start_at - timedelta(hours=booking.resource.cancel_free_hours):
        return 0
    return booking.price_amount * booking.resource.late_cancel_fee_percent // 100


def cancel_booking(booking: Booking, actor: User, reason: str = "", now: datetime | None = None) -> Booking:
    """The booker cancels (a late-cancel fee may apply); company staff cancel without a fee."""
    now = now or utcnow()
    booking_id = booking.id

    def work() -> Booking:
        target = db.session.get(Booking, booking_id)
        db.session.refresh(target)
        _transition(target, BookingStatus.CANCELLED)
        if target.start_at <= now:
            raise Conflict(_("A booking that has started can no longer be cancelled."), {"status": ["started"]})
        staff = acts_for_company(actor, target.resource.organisation) and actor.id != target.user_id
        fee = 0 if staff else cancellation_fee(target, now)
        freed = target.status in BookingStatus.OCCUPYING
        target.cancel_fee_amount = fee
        target.cancelled_at = now
        _decide(target, BookingStatus.CANCELLED, actor,
                reason or (_l("Cancelled by the company.") if staff else _l("Cancelled by the booker.")))
        if fee:
            audit.record("booking.late_cancel_fee", target, actor_id=actor.id,
                         after={"fee": fee, "currency": target.currency})
        if freed:
            promote_waitlist(target.resource, target.start_at, target.blocked_until)
        return target

    return serialised(booking.resource_id, work)


def finish_booking(booking: Booking, actor: User | None, status: str, now: datetime | None = None) -> Booking:
    """completed (after the end) or no_show (after the start): staff, or the periodic job."""
    now = now or utcnow()
    if status not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW):
        raise ValidationFailed.field("status", _("Choose completed or no_show."))
    _transition(booking, status)
    if status == BookingStatus.COMPLETED and booking.end_at > now:
        raise Conflict(_("The booking has not ended yet."), {"status": ["not ended"]})
    if status == BookingStatus.NO_SHOW and booking.start_at > now:
        raise Conflict(_("The booking has not started yet."), {"status": ["not started"]})
    before = booking.status
    booking.status = status
    booking.decided_at = now
    booking.decided_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record(f"booking.{status}", booking, actor_id=booking.decided_by_id,
                 before={"status": before}, after={"status": status})
    return booking


def complete_past_bookings(now: datetime | None = None) -> int:
    """Periodic: confirmed bookings that have ended become completed (staff may still mark no-shows
    before that, up to the end); pending requests whose start has passed are rejected."""
    now = now or utcnow()
    done = 0
    for booking in db.session.scalars(select(Booking).where(Booking.status == BookingStatus.CONFIRMED,
                                                            Booking.end_at <= now).limit(500)):
        finish_booking(booking, None, BookingStatus.COMPLETED, now)
        done += 1
    for booking in db.session.scalars(select(Booking).where(Booking.status == BookingStatus.PENDING,
                                                            Booking.start_at <= now).limit(500)):
        _decide(booking, BookingStatus.REJECTED, None, _l("Nobody decided on the request before it started."))
        done += 1
    return done


# ---- waitlist ----------------------------------------------------------------------------------

def join_waitlist(resource: Resource, user: User, data: Mapping[str, Any]) -> WaitlistEntry:
    """Wait for a slot that is taken now. 400 for broken rules; 409 if the slot is free (book it)."""
    request, _repeat = clean_request(resource, user, data)
    errors = rule_errors(resource, user, request.start, request.end)
    if errors:
        raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
    blocked_from, blocked_until = _blocked(resource, request.start, request.end)
    if not clashes(resource.id, blocked_from, blocked_until):
        raise Conflict(_("That time is free: book it instead of waiting."), {"start": [_("free")]})
    entry = WaitlistEntry(resource_id=resource.id, user_id=user.id,
                          organisation_id=request.organisation.id if request.organisation else None,
                          start_at=request.start, end_at=request.end, purpose=request.purpose,
                          terms_version=request.terms_version)
    db.session.add(entry)
    db.session.flush()
    return entry


def withdraw_waitlist(entry: WaitlistEntry, user: User) -> WaitlistEntry:
    if entry.user_id != user.id:
        raise ValidationFailed.field("waitlist", _("Only the person waiting can withdraw."))
    if entry.status != WaitlistStatus.WAITING:
        raise Conflict(_("This waitlist entry is no longer waiting."), {"status": [entry.status]})
    entry.status = WaitlistStatus.WITHDRAWN
    db.session.flush()
    return entry


def waiting_entries(user: User) -> list[WaitlistEntry]:
    return list(db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.user_id == user.id, WaitlistEntry.status == WaitlistStatus.WAITING,
        WaitlistEntry.end_at > utcnow()).order_by(WaitlistEntry.start_at)))


def promote_waitlist(resource: Resource, start: datetime, end: datetime) -> list[Booking]:
    """Offer a freed interval to the waitlist, first come first served. Runs inside the caller's
    serialised unit of work; each attempt is a savepoint so a clash only skips that entry."""
    promoted = []
    entries = db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.resource_id == resource.id, WaitlistEntry.status == WaitlistStatus.WAITING,
        WaitlistEntry.start_at < end, WaitlistEntry.end_at > start - timedelta(minutes=resource.buffer_minutes))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
    for entry in entries:
        user = db.session.get(User, entry.user_id)
        if rule_errors(resource, user, entry.start_at, entry.end_at):
            continue
        blocked_from, blocked_until = _blocked(resource, entry.start_at, entry.end_at)
        if clashes(resource.id, blocked_from, blocked_until):
            continue
        organisation = db.session.get(Organisation, entry.organisation_id) if entry.organisation_id else None
        if quota_error(resource, user, organisation, entry.start_at, entry.end_at):
            continue
        audience = audience_for(organisation, resource)
        unit, amount, currency = quote(resource, audience, int((entry.end_at - entry.start_at).total_seconds() // 60))
        credit = take_credit(organisation, resource, currency, amount)
        status = BookingStatus.PENDING if resource.requires_approval else BookingStatus.CONFIRMED
        try:
            booking = _insert(Booking(
                resource_id=resource.id, user_id=user.id, organisation_id=entry.organisation_id,
                start_at=entry.start_at, end_at=entry.end_at, blocked_from=blocked_from,
                blocked_until=blocked_until, status=status, purpose=entry.purpose, audience=audience,
                price_unit=unit, price_amount=amount, currency=currency, terms_version=entry.terms_version,
                credit_amount=credit, decided_at=utcnow() if status == BookingStatus.CONFIRMED else None))
        except PortalError:
            continue
        entry.status, entry.booking_id = WaitlistStatus.PROMOTED, booking.id
        db.session.flush()
        audit.record("booking.promoted_from_waitlist", booking, actor_id=None,
                     after={"waitlist_entry": entry.id, "status": status, "price": amount, "credit": credit})
        _mail_booker(booking, _l("A slot you waited for is yours"))
        promoted.append(booking)
    return promoted


# ---- qualifications and training --------------------------------------------------------------

def grant_qualification(resource: Resource, user: User, expires_at: datetime | None, actor: User) -> Qualification:
    qualification = db.session.scalar(select(Qualification).where(
        Qualification.resource_id == resource.id, Qualification.user_id == user.id))
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed.field("expires_at", _("The expiry must be in the future."))
    if qualification is None:
        qualification = Qualification(resource_id=resource.id, user_id=user.id)
        db.session.add(qualification)
    qualification.granted_by_id, qualification.granted_at, qualification.expires_at = actor.id, utcnow(), expires_at
    for request in db.session.scalars(select(TrainingRequest).where(
            TrainingRequest.resource_id == resource.id, TrainingRequest.user_id == user.id,
            TrainingRequest.status == "open")):
        request.status = "granted"
    db.session.flush()
    audit.record("resource.qualification_granted", qualification, actor_id=actor.id, after={
        "resource_id": resource.id, "user_id": user.id,
        "expires_at": expires_at.isoformat() if expires_at else None})
    mail_user(user, _l("You are qualified for %(name)s", name=resource.name),
              _l("You may now book %(name)s: %(url)s", name=resource.name,
                 url=external_url("resources.detail", resource_id=resource.id)))
    return qualification


def request_training(resource: Resource, user: User, message: str) -> TrainingRequest:
    if not resource.requires_qualification:
        raise ValidationFailed.field("resource", _("This resource needs no qualification."))
    if is_qualified(resource, user, utcnow()):
        raise Conflict(_("You are already qualified."), {"resource": [_("already qualified")]})
    existing = db.session.scalar(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.user_id == user.id,
        TrainingRequest.status == "open"))
    if existing is not None:
        raise Conflict(_("You already asked for a training."), {"resource": [_("already requested")]})
    request = TrainingRequest(resource_id=resource.id, user_id=user.id, message=(message or "")[:2000])
    db.session.add(request)
    db.session.flush()
    _mail_staff(resource, _l("Training request for %(name)s", name=resource.name),
                _l("%(who)s asks for a training on %(name)s: %(message)s", who=user.name, name=resource.name,
                   message=request.message))
    return request


# ---- calendar rules: exceptions, blackouts, outages -----------------------------------------------

def add_exception(resource: Resource, day: date, opens: time | None, closes: time | None, note: str,
                  actor: User) -> OpeningException:
    _check_exception(opens, closes)
    row = OpeningException(resource_id=resource.id, day=day, opens=opens, closes=closes, note=(note or "")[:255])
    db.session.add(row)
    db.session.flush()
    audit.record("resource.opening_exception", resource, actor_id=actor.id, after=row.as_dict())
    return row


def add_blackout(resource: Resource, start: datetime, end: datetime, kind: str, reason: str,
                 actor: User) -> tuple[Blackout, list[Booking]]:
    """Close the resource for a period. Bookings in it are cancelled (no fee), their bookers mailed with
    alternatives of the same kind; for an outage that is the point of marking the resource down."""
    if kind not in BlackoutKind.ALL:
        raise ValidationFailed.field("kind", _("Choose one of: %(choices)s.", choices=", ".join(BlackoutKind.ALL)))
    if end <= start:
        raise ValidationFailed.field("end", _("The end must be after the start (a booking cannot be empty or "
                                              "reversed)."))
    resource_id = resource.id

    def work() -> tuple[Blackout, list[Booking]]:
        target = db.session.get(Resource, resource_id)
        blackout = Blackout(resource_id=target.id, kind=kind, starts_at=start, ends_at=end,
                            reason=(reason or "")[:500], created_by_id=actor.id)
        db.session.add(blackout)
        db.session.flush()
        affected = _cancel_for_blackout(target, blackout, actor)
        audit.record("resource.blackout_added", target, actor_id=actor.id, after={
            "kind": kind, "start": start.isoformat(), "end": end.isoformat(), "cancelled": [b.id for b in affected]})
        return blackout, affected

    return serialised(resource_id, work)


def _check_exception(opens: time | None, closes: time | None) -> None:
    if (opens is None) != (closes is None):
        raise ValidationFailed.field("end", _("Give both opening and closing time, or neither (closed)."))
    if opens is not None and opens >= closes:
        raise ValidationFailed.field("end", _("Closing time must be after opening time."))


def update_exception(row: OpeningException, day: date, opens: time | None, closes: time | None, note: str,
                     actor: User) -> OpeningException:
    """Change a dated exception (other hours, or closed all day). Bookings already made stay."""
    _check_exception(opens, closes)
    before = row.as_dict()
    row.day, row.opens, row.closes, row.note = day, opens, closes, (note or "")[:255]
    db.session.flush()
    audit.record("resource.opening_exception_changed", db.session.get(Resource, row.resource_id),
                 actor_id=actor.id, before=before, after=row.as_dict())
    return row


def delete_exception(row: OpeningException, actor: User) -> None:
    """Remove a dated exception: the weekly hours apply to that date again."""
    before = row.as_dict()
    resource = db.session.get(Resource, row.resource_id)
    db.session.delete(row)
    db.session.flush()
    audit.record("resource.opening_exception_deleted", resource, actor_id=actor.id, before=before)


def blackout_dict(blackout: Blackout) -> dict[str, Any]:
    return {"id": blackout.id, "kind": blackout.kind, "start": blackout.starts_at.isoformat(),
            "end": blackout.ends_at.isoformat(), "reason": blackout.reason}


def update_blackout(blackout: Blackout, start: datetime, end: datetime, kind: str, reason: str,
                    actor: User) -> tuple[Blackout, list[Booking]]:
    """Move, lengthen or shorten a closure. Open bookings the new period covers are cancelled and
    mailed as when adding one; time it no longer covers becomes bookable again."""
    if kind not in BlackoutKind.ALL:
        raise ValidationFailed.field("kind", _("Choose one of: %(choices)s.", choices=", ".join(BlackoutKind.ALL)))
    if end <= start:
        raise ValidationFailed.field("end", _("The end must be after the start (a booking cannot be empty or "
                                              "reversed)."))
    blackout_id = blackout.id

    def work() -> tuple[Blackout, list[Booking]]:
        target = db.session.get(Blackout, blackout_id)
        before = blackout_dict(target)
        target.starts_at, target.ends_at, target.kind, target.reason = start, end, kind, (reason or "")[:500]
        db.session.flush()
        affected = _cancel_for_blackout(target.resource, target, actor)
        audit.record("resource.blackout_changed", target.resource, actor_id=actor.id, before=before,
                     after={**blackout_dict(target), "cancelled": [b.id for b in affected]})
        return target, affected

    return serialised(blackout.resource_id, work)


def delete_blackout(blackout: Blackout, actor: User) -> None:
    """Remove a closure: its time is bookable again (bookings it cancelled stay cancelled)."""
    blackout_id, resource_id = blackout.id, blackout.resource_id

    def work() -> None:
        target = db.session.get(Blackout, blackout_id)
        before = blackout_dict(target)
        resource = target.resource
        db.session.delete(target)
        db.session.flush()
        audit.record("resource.blackout_deleted", resource, actor_id=actor.id, before=before)

    serialised(resource_id, work)


def _cancel_for_blackout(target: Resource, blackout: Blackout, actor: User) -> list[Booking]:
    """Cancel (no fee) the open bookings inside the blackout; mail each booker, in their language, with
    free alternatives of the same kind."""
    start, end, kind, reason = blackout.starts_at, blackout.ends_at, blackout.kind, blackout.reason
    zone = ZoneInfo(target.timezone)
    affected = [b for b in clashes(target.id, start, end, statuses=BookingStatus.OPEN)
                if b.start_at < end and b.end_at > start]
    for booking in affected:
        alternatives = alternatives_for(booking)
        lines = "\n".join(f"- {r.name} ({r.city}): {external_url('resources.calendar', resource_id=r.id)}"
                          for r in alternatives) or _l("(no other resource of this kind is free then)")
        booking.status_reason = _("%(name)s is unavailable (%(kind)s): %(reason)s", name=target.name,
                                  kind=kind, reason=reason or "-")[:500]
        before = booking.status
        booking.status, booking.cancelled_at, booking.decided_at = BookingStatus.CANCELLED, utcnow(), utcnow()
        booking.decided_by_id = actor.id
        db.session.flush()
        audit.record("booking.cancelled_by_outage", booking, actor_id=actor.id,
                     before={"status": before}, after={"status": BookingStatus.CANCELLED, "blackout": blackout.id})
        mail_user(booking.user, _l("Your booking of %(name)s is cancelled", name=target.name),
                  _l("%(name)s is unavailable from %(start)s to %(end)s (%(reason)s), so your booking #%(id)d "
                     "is cancelled without a fee. Free alternatives of the same kind at that time:\n%(lines)s",
                     name=target.name, start=start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                     end=end.astimezone(zone).strftime("%Y-%m-%d %H:%M"), reason=reason or kind,
                     id=booking.id, lines=lines))
    return affected


def alternatives_for(booking: Booking, limit: int = 5) -> list[Resource]:
    """Published resources of the same kind that are free for the whole of the booking's time."""
    result = []
    for other in db.session.scalars(select(Resource).where(
            Resource.kind == booking.resource.kind, Resource.id != booking.resource_id,
            Resource.published.is_(True)).order_by(Resource.id).limit(50)):
        free = availability.free_intervals(other, booking.start_at, booking.end_at)
        if any(a <= booking.start_at and booking.end_at <= b for a, b in free):
            result.append(other)
            if len(result) == limit:
                break
    return result


def report_problem(resource: Resource, user: User, description: str) -> ProblemReport:
    description = (description or "").strip()
    if not description:
        raise ValidationFailed.field("description", _("This field is required."))
    report = ProblemReport(resource_id=resource.id, user_id=user.id, description=description[:5000])
    db.session.add(report)
    db.session.flush()
    _mail_staff(resource, _l("Problem reported on %(name)s", name=resource.name),
                _l("%(who)s reports: %(text)s\n%(url)s", who=user.name, text=report.description,
                   url=external_url("resources.detail", resource_id=resource.id)))
    return report


def resolve_problem(report: ProblemReport, actor: User, note: str) -> ProblemReport:
    """Staff close a problem report with a note; the note is kept in the audit log (the report's
    history) and mailed to the reporter in their language."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed.field("note", _("Say what was done (the reporter is told)."))
    if report.resolved_at is not None:
        raise Conflict(_("This report is already resolved."), {"status": ["resolved"]})
    report.resolved_at = utcnow()
    db.session.flush()
    audit.record("resource.problem_resolved", report, actor_id=actor.id,
                 after={"resource_id": report.resource_id, "note": note[:2000]})
    resource = db.session.get(Resource, report.resource_id)
    if report.user is not None:
        mail_user(report.user, _l("Your problem report on %(name)s is resolved", name=resource.name),
                  _l("You reported: %(text)s\n\nThe company answers: %(note)s\n%(url)s", text=report.description,
                     note=note[:2000], url=external_url("resources.detail", resource_id=resource.id)))
    return report


def problem_notes(reports: list[ProblemReport]) -> dict[int, str]:
    """The resolution notes of `reports` (report id -> note), from their audit events."""
    from portal.audit import AuditEvent

    ids = [str(r.id) for r in reports if r.resolved_at is not None]
    if not ids:
        return {}
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "resource.problem_resolved", AuditEvent.object_type == "ProblemReport",
        AuditEvent.object_id.in_(ids)))
    return {int(e.object_id): (e.after or {}).get("note", "") for e in events}


def decline_training(request: TrainingRequest, actor: User, reason: str) -> TrainingRequest:
    """Staff decline a training request with a reason, mailed to the requester in their language."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", _("Give a reason (the requester is told)."))
    if request.status != "open":
        raise Conflict(_("This training request is no longer open."), {"status": [request.status]})
    request.status = "declined"
    db.session.flush()
    audit.record("resource.training_declined", request, actor_id=actor.id,
                 before={"status": "open"}, after={"status": "declined", "reason": reason[:2000],
                                                   "resource_id": request.resource_id, "user_id": request.user_id})
    resource = db.session.get(Resource, request.resource_id)
    mail_user(request.user, _l("Your training request for %(name)s was declined", name=resource.name),
              _l("The company declined your training request: %(reason)s\n%(url)s", reason=reason[:2000],
                 url=external_url("resources.detail", resource_id=resource.id)))
    return request


# ---- reviews -----------------------------------------------------------------------------------

def add_review(booking: Booking, user: User, rating: Any, comment: str) -> Review:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise ValidationFailed.field("rating", _("Rate from 1 to 5.")) from None
    if not 1 <= rating <= 5:
        raise ValidationFailed.field("rating", _("Rate from 1 to 5."))
    if booking.user_id != user.id:
        raise ValidationFailed.field("booking", _("Only the booker can review a booking."))
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(_("Only completed bookings can be reviewed."), {"status": [booking.status]})
    if db.session.scalar(select(Review.id).where(Review.booking_id == booking.id)):
        raise Conflict(_("You already reviewed this booking."), {"booking": [_("already reviewed")]})
    review = Review(booking_id=booking.id, resource_id=booking.resource_id, user_id=user.id, rating=rating,
                    comment=(comment or "").strip()[:2000])
    db.session.add(review)
    db.session.flush()
    return review


def rating_of(resource_id: int) -> dict[str, Any]:
    average, count = db.session.execute(select(func.avg(Review.rating), func.count(Review.id))
                                        .where(Review.resource_id == resource_id)).one()
    return {"average": round(float(average), 2) if average is not None else None, "count": count}


# ---- calendars (iCal) -------------------------------------------------------------------------

def resource_calendar_token(resource: Resource, rotate: bool = False) -> str:
    if resource.calendar_token is None or rotate:
        resource.calendar_token = secrets.token_urlsafe(32)
        db.session.flush()
    return resource.calendar_token


def user_calendar_token(user: User, rotate: bool = False) -> str:
    row = db.session.get(BookingCalendar, user.id)
    if row is None:
        row = BookingCalendar(user_id=user.id, token=secrets.token_urlsafe(32))
        db.session.add(row)
    elif rotate:
        row.token = secrets.token_urlsafe(32)
    db.session.flush()
    return row.token


def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode() for part in out)


def ical(bookings: list[Booking], name: str, show_booker: bool) -> str:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Haichuang Portal//Resources//EN", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_ics_text(name)}"]
    for booking in bookings:
        summary = booking.resource.name
        if show_booker:
            who = booking.organisation.name if booking.organisation else booking.user.name
            summary = f"{summary} · {who}"
        lines += ["BEGIN:VEVENT", f"UID:booking-{booking.id}@haichuang-portal", f"DTSTAMP:{stamp}",
                  f"DTSTART:{booking.start_at.strftime('%Y%m%dT%H%M%SZ')}",
                  f"DTEND:{booking.end_at.strftime('%Y%m%dT%H%M%SZ')}",
                  f"SUMMARY:{_ics_text(summary)}",
                  f"LOCATION:{_ics_text(booking.resource.address or booking.resource.city)}",
                  "STATUS:" + ("TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED"),
                  f"DESCRIPTION:{_ics_text(booking.purpose or '')}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def feed_bookings(*, resource_id: int | None = None, user_id: int | None = None) -> list[Booking]:
    """Open and occupying bookings from 30 days ago on (a feed stays small however old the account)."""
    stmt = select(Booking).where(Booking.end_at > utcnow() - timedelta(days=30),
                                 Booking.status.in_(BookingStatus.OCCUPYING + (BookingStatus.PENDING,)))
    if resource_id is not None:
        stmt = stmt.where(Booking.resource_id == resource_id)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    return list(db.session.scalars(stmt.order_by(Booking.start_at).limit(2000)))


# ---- mail ----------------------------------------------------------------------------------------

def mail_user(user: User, subject: Any, body: Any) -> None:
    """Mail `user` in their own language: `subject` and `body` are lazy strings (or callables returning
    text) evaluated under the recipient's locale, not the language of whoever caused the mail."""
    with force_locale(user.locale or "en"):
        send_mail(user.email, str(subject() if callable(subject) else subject),
                  str(body() if callable(body) else body))


def _mail_booker(booking: Booking, subject: Any, extra: int = 0, reason: Any = "") -> None:
    resource = booking.resource or db.session.get(Resource, booking.resource_id)
    user = booking.user or db.session.get(User, booking.user_id)
    zone = ZoneInfo(resource.timezone)

    def body() -> str:
        text = _("%(name)s, %(start)s to %(end)s (%(zone)s). Status: %(status)s.", name=resource.name,
                 start=booking.start_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                 end=booking.end_at.astimezone(zone).strftime("%H:%M"), zone=resource.timezone,
                 status=booking_status_label(booking.status))
        if extra:
            text += "\n" + _("And %(n)d more weekly occurrence(s).", n=extra)
        if reason:
            text += "\n" + str(reason)
        return text + "\n" + external_url("resources.my_bookings")

    mail_user(user, subject, body)


def _mail_staff(resource: Resource, subject: Any, body: Any) -> None:
    staff = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                               .where(Membership.organisation_id == resource.organisation_id)).all()
    for person in staff:
        mail_user(person, subject, body)


def booking_status_label(status: str) -> str:
    labels = {BookingStatus.PENDING: _("pending"), BookingStatus.CONFIRMED: _("confirmed"),
              BookingStatus.COMPLETED: _("completed"), BookingStatus.CANCELLED: _("cancelled"),
              BookingStatus.REJECTED: _("rejected"), BookingStatus.NO_SHOW: _("no-show")}
    return labels.get(status, status)


def visible_bookings_stmt(user: User, mine: bool):
    """The caller's bookings, or (not `mine`) also those of resources their companies own."""
    stmt = select(Booking).order_by(Booking.start_at.desc(), Booking.id.desc())
    if mine or not user.is_admin:
        companies = select(Membership.organisation_id).where(Membership.user_id == user.id)
        if mine:
            return stmt.where(Booking.user_id == user.id)
        return stmt.where((Booking.user_id == user.id) | Booking.resource_id.in_(
            select(Resource.id).where(Resource.organisation_id.in_(companies))))
    return stmt


def booking_history(booking: Booking) -> list[dict[str, Any]]:
    """The booking's audit trail, oldest first: what happened, when, by whom, with the recorded details."""
    from portal.audit import AuditEvent

    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Booking", AuditEvent.object_id == str(booking.id)).order_by(AuditEvent.id)).all()
    actors = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_id for e in events if e.actor_id is not None})))}
    return [{"id": e.id, "action": e.action, "at": e.created_at, "actor": actors.get(e.actor_id),
             "before": e.before or {}, "after": e.after or {}} for e in events]


def approval_queue(user: User) -> list[Booking]:
    """Pending requests for the resources of the companies `user` works for (all of them for admins)."""
    stmt = visible_bookings_stmt(user, False).where(Booking.status == BookingStatus.PENDING)
    stmt = stmt.order_by(None).order_by(Booking.start_at, Booking.id)
    return [b for b in db.session.scalars(stmt.limit(500)) if can(user, "edit", b)]
