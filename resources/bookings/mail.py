"""Booking mail: to bookers and company staff, each in the recipient's language (portal.mail.send_to_user)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.auth.models import User
from portal.db import utcnow
from portal.extensions import db
from portal.jobs import register_periodic
from portal.mail import send_to_user, send_to_users
from portal.organisations.models import Membership
from portal.states import label_for
from portal.urls import external_url
from resources.models import Booking, BookingStatus, Resource

# ---- mail ----------------------------------------------------------------------------------------


def mail_booker(booking: Booking, subject: Any, extra: int = 0, reason: Any = "",
                kind: str = "booking.decision") -> None:
    """The booker of `booking`, told what happened to it (`subject` and `reason` are lazy strings, rendered in
    the booker's language; `kind`: the notification kind)."""
    resource = booking.resource or db.session.get(Resource, booking.resource_id)
    user = booking.user or db.session.get(User, booking.user_id)
    zone = ZoneInfo(resource.timezone)

    def build() -> tuple[str, str]:
        text = _("%(name)s, %(start)s to %(end)s (%(zone)s). Status: %(status)s.", name=resource.name,
                 start=booking.start_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                 end=booking.end_at.astimezone(zone).strftime("%H:%M"), zone=resource.timezone,
                 status=booking_status_label(booking.status))
        if extra:
            text += "\n" + _("And %(n)d more weekly occurrence(s).", n=extra)
        if reason:
            text += "\n" + str(reason)
        return str(subject), text + "\n" + external_url("resources.my_bookings")

    send_to_user(user, build, kind=kind, link=external_url("resources.my_bookings"))


def company_staff(resource: Resource) -> list[User]:
    """The members of the company owning `resource`."""
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == resource.organisation_id)))


def mail_staff(resource: Resource, subject: Any, body: Any, kind: str = "booking.request") -> None:
    """The staff of the resource's company, each in their language (`subject`, `body`: lazy strings)."""
    send_to_users(company_staff(resource), lambda: (str(subject), str(body)), kind=kind)


# ---- reminders -----------------------------------------------------------------------------------

REMINDER_AHEAD = timedelta(hours=24)
REMINDER_EVERY_SECONDS = 15 * 60


def send_reminders(now: datetime | None = None) -> int:
    """The periodic job: each confirmed booking starting within the next 24 hours (booked before that day)
    gets one reminder, in the booker's language. Returns how many were sent."""
    from portal.notifications.services import first_time

    now = now or utcnow()
    due = db.session.scalars(select(Booking).where(
        Booking.status == BookingStatus.CONFIRMED, Booking.start_at > now, Booking.start_at <= now + REMINDER_AHEAD,
        Booking.created_at < now).order_by(Booking.start_at).limit(500))
    sent = 0
    for booking in due:
        if booking.created_at > booking.start_at - REMINDER_AHEAD:
            continue  # booked within the last day before it: the confirmation was the reminder
        if first_time(f"booking:{booking.id}:reminder"):
            mail_booker(booking, _l("Reminder: %(name)s tomorrow", name=booking.resource.name),
                        kind="booking.reminder")
            sent += 1
    return sent


register_periodic("resources.booking_reminders", "resources.bookings.mail.send_reminders", REMINDER_EVERY_SECONDS)


def booking_status_label(status: str) -> str:
    """The status as the recipient reads it (portal.states.LABELS, rendered in the current language)."""
    return label_for(status, BookingStatus)
