"""The waitlist: waiting for a taken slot and promotion when it frees up."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, PortalError, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from resources.bookings.locking import insert_booking
from resources.bookings.mail import mail_booker
from resources.bookings.pricing import audience_for, quote, take_credit
from resources.bookings.rules import blocked_interval, clashes, clean_request, quota_error, rule_errors
from resources.models import Booking, BookingStatus, Resource, WaitlistEntry, WaitlistStatus
from resources.schemas import NewBooking

# ---- waitlist ----------------------------------------------------------------------------------

def join_waitlist(resource: Resource, user: User, cmd: NewBooking) -> WaitlistEntry:
    """Wait for a slot that is taken now. 400 for broken rules; 409 if the slot is free (book it)."""
    request, _repeat = clean_request(resource, user, cmd)
    errors = rule_errors(resource, user, request.start, request.end)
    if errors:
        raise ValidationFailed(_("The booking breaks a rule of this resource."), errors)
    blocked_from, blocked_until = blocked_interval(resource, request.start, request.end)
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
        blocked_from, blocked_until = blocked_interval(resource, entry.start_at, entry.end_at)
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
            booking = insert_booking(Booking(
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
        mail_booker(booking, _l("A slot you waited for is yours"), kind="booking.waitlist")
        promoted.append(booking)
    return promoted
