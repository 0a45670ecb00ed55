"""Booking mail: to bookers and company staff, each in the recipient's language."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.mail import send_mail
from portal.organisations.models import Membership
from portal.urls import external_url
from resources.models import Booking, BookingStatus, Resource

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
