"""Booking commands: create, approve, reject, cancel, finish, and the lists and history of bookings."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership
from portal.permissions import can
from portal.states import check_transition
from portal.urls import external_url
from resources.bookings.locking import insert_booking, is_overlap, serialised
from resources.bookings.mail import mail_booker, mail_staff
from resources.bookings.pricing import audience_for, quote, release_credit, take_credit
from resources.bookings.rules import (
    add_error,
    blocked_interval,
    clashes,
    clean_request,
    occurrences,
    quota_error,
    rule_errors,
    week_bounds,
)
from resources.bookings.waitlist import promote_waitlist
from resources.models import BOOKING_TRANSITIONS, OCCUPYING_BOOKING_STATUSES, Booking, BookingStatus, Resource
from resources.policies import acts_for_company
from resources.schemas import Cancellation, Decision, NewBooking

# ---- commands ----------------------------------------------------------------------------------

def create_booking(resource: Resource, user: User, cmd: NewBooking,
                   now: datetime | None = None) -> list[Booking]:
    """Book one slot or a weekly series. 400 for a broken rule (nothing written), 409 for an overlap.

    A series is all or nothing unless `skip_conflicts` is set, in which case the occurrences that
    break a rule or clash are left out (the preview shows which).
    """
    request, repeat = clean_request(resource, user, cmd)
    skip = cmd.skip_conflicts and repeat > 1
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
                add_error(errors, "quota", quota)
            if errors:
                if skip:
                    continue
                if label:
                    errors = {f"{label}.{k}": v for k, v in errors.items()}
                raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
            blocked_from, blocked_until = blocked_interval(target, start, end)
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
            created.append(insert_booking(booking))
            week_minutes[week] = week_minutes.get(week, 0) + booking.minutes
        if not created:
            raise Conflict(_("None of the occurrences can be booked."), {"start": [_("no free occurrence")]})
        for booking in created:
            audit.record("booking.created", booking, actor_id=booker.id, after={
                "resource_id": target.id, "start": booking.start_at.isoformat(), "end": booking.end_at.isoformat(),
                "status": booking.status, "price": booking.price_amount, "currency": booking.currency,
                "credit": booking.credit_amount, "audience": booking.audience,
                "terms_version": booking.terms_version})
        mail_booker(created[0], _l("Booking confirmed") if status == BookingStatus.CONFIRMED
                     else _l("Booking request received"), extra=len(created) - 1, kind="booking.confirmed")
        if status == BookingStatus.PENDING:
            mail_staff(target, _l("New booking request for %(name)s", name=target.name),
                        _l("%(who)s asks for %(name)s. Review it in the approval queue: %(url)s",
                           who=booker.name, name=target.name, url=external_url("resources.approvals")),
                        kind="booking.request")
        return created

    needs_lock = bool(resource.quota_minutes_per_week)
    return serialised(resource_id, work, lock_on_postgresql=needs_lock)


def transition_booking(booking: Booking, new_status: str) -> None:
    check_transition(booking, new_status, BOOKING_TRANSITIONS, message=lambda status, new: _(
        "A %(status)s booking cannot become %(new)s.", status=status, new=new))


def pending_clashes(booking: Booking) -> list[Booking]:
    """Other pending requests that approving `booking` would reject (their slots overlap, buffers included)."""
    return clashes(booking.resource_id, booking.blocked_from, booking.blocked_until,
                   statuses=(BookingStatus.PENDING,), exclude_id=booking.id)


def approve_booking(booking: Booking, actor: User, cmd: Decision) -> list[Booking]:
    """Confirm a pending request. Clashing pending requests are rejected, but only when the caller
    saw the warning and said so (`reject_clashing`); otherwise 409 naming them. Returns the rejected."""
    booking_id, reject_clashing = booking.id, cmd.reject_clashing

    def work() -> list[Booking]:
        target = db.session.get(Booking, booking_id)
        db.session.refresh(target)
        transition_booking(target, BookingStatus.CONFIRMED)
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
                if not is_overlap(error):
                    raise
                raise Conflict(_("That time is already booked (buffers included)."),
                               {"start": ["overlaps"]}) from error
        audit.record("booking.approved", target, actor_id=actor.id, before={"status": BookingStatus.PENDING},
                     after={"status": BookingStatus.CONFIRMED, "rejected": [b.id for b in others]})
        mail_booker(target, _l("Booking approved"), kind="booking.decision")
        for other in others:
            decide(other, BookingStatus.REJECTED, actor,
                    _l("Another request for the same time was approved (#%(id)d).", id=target.id))
        return others

    return serialised(booking.resource_id, work)


def decide(booking: Booking, status: str, actor: User | None, reason: Any) -> None:
    """`reason` is the staff's own text or a lazy string: stored in the actor's language, mailed in the
    booker's."""
    before = booking.status
    transition_booking(booking, status)
    booking.status = status
    released = release_credit(booking) if status in (BookingStatus.CANCELLED, BookingStatus.REJECTED) else 0
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
    mail_booker(booking, subject, reason=reason, kind="booking.decision")


def reject_booking(booking: Booking, actor: User, cmd: Decision) -> Booking:
    decide(booking, BookingStatus.REJECTED, actor, cmd.reason or _l("Declined by the company."))
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


def cancel_booking(booking: Booking, actor: User, cmd: Cancellation, now: datetime | None = None) -> Booking:
    """The booker cancels (a late-cancel fee may apply); company staff cancel without a fee."""
    now = now or utcnow()
    reason = cmd.reason
    booking_id = booking.id

    def work() -> Booking:
        target = db.session.get(Booking, booking_id)
        db.session.refresh(target)
        transition_booking(target, BookingStatus.CANCELLED)
        if target.start_at <= now:
            raise Conflict(_("A booking that has started can no longer be cancelled."), {"status": ["started"]})
        staff = acts_for_company(actor, target.resource.organisation) and actor.id != target.user_id
        fee = 0 if staff else cancellation_fee(target, now)
        freed = target.status in OCCUPYING_BOOKING_STATUSES
        target.cancel_fee_amount = fee
        target.cancelled_at = now
        decide(target, BookingStatus.CANCELLED, actor,
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
    transition_booking(booking, status)
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
        decide(booking, BookingStatus.REJECTED, None, _l("Nobody decided on the request before it started."))
        done += 1
    return done


# ---- lists and history ---------------------------------------------------------------------


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
