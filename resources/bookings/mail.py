"""Booking mail: to bookers and company staff, each in the recipient's language (portal.mail.send_to_user)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.mail import send_to_user, send_to_users
from portal.organisations.models import Membership
from portal.states import label_for
from portal.urls import external_url
from resources.models import Booking, BookingStatus, Resource

# ---- mail ----------------------------------------------------------------------------------------


def mail_booker(booking: Booking, subject: Any, extra: int = 0, reason: Any = "") -> None:
    """The booker of `booking`, told what happened to it (`subject` and `reason` are lazy strings, rendered in
    the booker's language)."""
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

    send_to_user(user, build)


def company_staff(resource: Resource) -> list[User]:
    """The members of the company owning `resource`."""
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == resource.organisation_id)))


def mail_staff(resource: Resource, subject: Any, body: Any) -> None:
    """The staff of the resource's company, each in their language (`subject`, `body`: lazy strings)."""
    send_to_users(company_staff(resource), lambda: (str(subject), str(body)))


def booking_status_label(status: str) -> str:
    """The status as the recipient reads it (portal.states.LABELS, rendered in the current language)."""
    return label_for(status, BookingStatus)
