"""Calendar feeds: tokens and the iCal (RFC 5545) rendering of bookings."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from portal.auth.models import User
from portal.db import utcnow
from portal.extensions import db
from resources.models import OCCUPYING_BOOKING_STATUSES, Booking, BookingCalendar, BookingStatus, Resource

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


def ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n"))


def fold_line(line: str) -> str:
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
             f"X-WR-CALNAME:{ics_text(name)}"]
    for booking in bookings:
        summary = booking.resource.name
        if show_booker:
            who = booking.organisation.name if booking.organisation else booking.user.name
            summary = f"{summary} · {who}"
        lines += ["BEGIN:VEVENT", f"UID:booking-{booking.id}@haichuang-portal", f"DTSTAMP:{stamp}",
                  f"DTSTART:{booking.start_at.strftime('%Y%m%dT%H%M%SZ')}",
                  f"DTEND:{booking.end_at.strftime('%Y%m%dT%H%M%SZ')}",
                  f"SUMMARY:{ics_text(summary)}",
                  f"LOCATION:{ics_text(booking.resource.address or booking.resource.city)}",
                  "STATUS:" + ("TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED"),
                  f"DESCRIPTION:{ics_text(booking.purpose or '')}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold_line(line) for line in lines) + "\r\n"


def feed_bookings(*, resource_id: int | None = None, user_id: int | None = None) -> list[Booking]:
    """Open and occupying bookings from 30 days ago on (a feed stays small however old the account)."""
    stmt = select(Booking).where(Booking.end_at > utcnow() - timedelta(days=30),
                                 Booking.status.in_(OCCUPYING_BOOKING_STATUSES + (BookingStatus.PENDING,)))
    if resource_id is not None:
        stmt = stmt.where(Booking.resource_id == resource_id)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    return list(db.session.scalars(stmt.order_by(Booking.start_at).limit(2000)))
