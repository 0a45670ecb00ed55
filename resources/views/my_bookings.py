"""My bookings: Upcoming and Past tabs, paged in the database, cards on phones (the template)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import render_template, request, url_for
from flask_babel import format_date, format_time
from flask_login import current_user, login_required
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import selectinload

from portal.db import utcnow
from portal.extensions import db
from resources import bookings
from resources.forms import ReviewForm
from resources.models import Blackout, Booking, BookingCalendar, BookingStatus, Review
from resources.views.common import bp

PER_PAGE = 20
TABS = ("upcoming", "past")
TO_REVIEW = 3  # completed bookings awaiting the booker's review, shown above the upcoming ones


def when(start: datetime, end: datetime, tz: str) -> str:
    """One date format per locale, without seconds: "Dec 1, 2026 10:00 AM – 12:00 PM CST" on one day,
    the end's date repeated only when it falls on another day."""
    zone = ZoneInfo(tz)
    start_local, end_local = start.astimezone(zone), end.astimezone(zone)
    naive_start, naive_end = start_local.replace(tzinfo=None), end_local.replace(tzinfo=None)
    text = f"{format_date(naive_start, 'medium', rebase=False)} {format_time(naive_start, 'short', rebase=False)} – "
    if naive_end.date() != naive_start.date():
        text += format_date(naive_end, "medium", rebase=False) + " "
    return text + f"{format_time(naive_end, 'short', rebase=False)} {end_local.strftime('%Z')}"


def tab_filter(tab: str, now: datetime):
    """Upcoming: not yet over (soonest first); past: over (latest first)."""
    if tab == "past":
        return Booking.end_at <= now, (Booking.start_at.desc(), Booking.id.desc())
    return Booking.end_at > now, (Booking.start_at.asc(), Booking.id.asc())


@bp.get("/bookings")
@login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    tab = tab if tab in TABS else "upcoming"
    now = utcnow()
    mine = Booking.user_id == current_user.id
    criterion, order = tab_filter(tab, now)
    # One statement counts both tabs, one pages the rows, one loads their resources: constant per page.
    counts = db.session.execute(select(
        func.count().filter(Booking.end_at > now), func.count().filter(Booking.end_at <= now)).where(mine)).one()
    page = db.paginate(select(Booking).where(mine, criterion).order_by(*order)
                       .options(selectinload(Booking.resource)), per_page=PER_PAGE, error_out=False)
    rows = list(page.items)
    ids = [b.id for b in rows]
    reviewed = set(db.session.scalars(select(Review.booking_id).where(
        Review.user_id == current_user.id, Review.booking_id.in_(ids)))) if ids else set()
    to_review = []
    if tab == "upcoming":
        to_review = list(db.session.scalars(
            select(Booking).where(mine, Booking.status == BookingStatus.COMPLETED, ~exists().where(
                Review.booking_id == Booking.id, Review.user_id == current_user.id))
            .order_by(Booking.end_at.desc()).limit(TO_REVIEW).options(selectinload(Booking.resource))))
    # Bookings cancelled because the resource went down: offer free resources of the same kind. One
    # statement finds which of the page's future cancelled bookings met a closure.
    cancelled = [b for b in rows if b.status == BookingStatus.CANCELLED and b.start_at > now]
    alternatives = {}
    if cancelled:
        hit = set(db.session.scalars(select(Booking.id).join(Blackout, and_(
            Blackout.resource_id == Booking.resource_id, Blackout.ends_at > Booking.start_at,
            Blackout.starts_at < Booking.end_at)).where(Booking.id.in_([b.id for b in cancelled]))))
        alternatives = {b.id: (b.start_at.astimezone(ZoneInfo(b.resource.timezone)).date().isoformat(),
                               bookings.alternatives_for(b)) for b in cancelled if b.id in hit}
    feed = db.session.get(BookingCalendar, current_user.id)
    from portal.organisations.services import organisations_of

    def page_url(number: int) -> str:
        return url_for("resources.my_bookings", tab=tab, page=number if number > 1 else None)

    return render_template(
        "resources/my_bookings.html", bookings=rows, page=page, tab=tab, counts=dict(zip(TABS, counts, strict=True)),
        page_url=page_url, to_review=to_review, reviewed=reviewed, alternatives=alternatives, when=when,
        waiting=bookings.waiting_entries(current_user) if tab == "upcoming" else [],
        startups=organisations_of(current_user, "startup"),
        feed_url=url_for("resources_api.user_calendar_feed", token=feed.token, _external=True) if feed else None,
        review_form=ReviewForm(formdata=None),
        fees={b.id: bookings.cancellation_fee(b, now) for b in rows if b.is_open})


__all__ = ["my_bookings"]
