"""HTML pages of resources: calendar."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.db import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.money import format_money
from portal.permissions import Permission, can, load
from portal.schemas import from_form
from resources import availability, bookings
from resources.forms import (
    BookingForm,
    CalendarFeedForm,
    CancelForm,
    DecisionForm,
    FinishForm,
    ReviewForm,
    weekday_names,
)
from resources.models import (
    OCCUPYING_BOOKING_STATUSES,
    Booking,
    BookingCalendar,
    BookingStatus,
    Resource,
    Review,
    WaitlistEntry,
)
from resources.policies import (
    CANCEL_BOOKING,
    REVIEW_BOOKING,
)
from resources.schemas import CalendarRotation, Cancellation, Decision, NewBooking, NewReview
from resources.views.common import bp

# ---- calendar, booking, my bookings, approvals -------------------------------------------------------

def _calendar_context(resource: Resource, view: str, anchor: date) -> dict:
    """Days of the week (or month) around `anchor` with free slots and bookings, in local time."""
    zone = ZoneInfo(resource.timezone)
    if view == "month":
        first = anchor.replace(day=1)
        start_day = first - timedelta(days=first.weekday())
        last = (first + timedelta(days=32)).replace(day=1)
        days = (last - start_day).days
        days += (7 - days % 7) % 7
        previous, following = (first - timedelta(days=1)).replace(day=1), last
    else:
        start_day = anchor - timedelta(days=anchor.weekday())
        days = 7
        previous, following = start_day - timedelta(days=7), start_day + timedelta(days=7)
    start = availability.local_to_utc(start_day, time(0), zone)
    end = availability.local_to_utc(start_day + timedelta(days=days), time(0), zone)
    now = utcnow()
    free = availability.free_intervals(resource, max(start, now), end) if end > now else []  # past is not free
    booked = availability.occupying_bookings(resource.id, start, end,
                                             OCCUPYING_BOOKING_STATUSES + (BookingStatus.PENDING,))
    blackouts = availability.blackouts_in(resource.id, start, end)
    staff = can(current_user, Permission.EDIT, resource)
    grid = []
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        day_start = availability.local_to_utc(day, time(0), zone)
        day_end = availability.local_to_utc(day + timedelta(days=1), time(0), zone)
        slots = [(max(a, day_start).astimezone(zone), min(b, day_end).astimezone(zone))
                 for a, b in free if a < day_end and b > day_start]
        entries = [b for b in booked if b.start_at < day_end and b.end_at > day_start]
        grid.append({"day": day, "slots": slots, "in_month": view != "month" or day.month == anchor.month,
                     "free_minutes": availability.total_minutes(slots),
                     "bookings": [{"booking": b, "start": b.start_at.astimezone(zone), "end": b.end_at.astimezone(zone),
                                   "mine": current_user.is_authenticated and b.user_id == current_user.id,
                                   "visible": staff or (current_user.is_authenticated
                                                        and b.user_id == current_user.id)} for b in entries],
                     "blackouts": [x for x in blackouts if x.starts_at < day_end and x.ends_at > day_start]})
    return {"grid": grid, "view": view, "anchor": anchor, "previous": previous, "following": following,
            "today": now.astimezone(zone).date()}


def _show_errors(form, error: PortalError) -> dict[str, list[str]]:
    """Field errors next to their fields, the message as a flash; returns the broken rules that are no field."""
    rules = {}
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            rules[name] = messages
    flash(error.message, "danger")
    return rules


def _calendar_page(resource: Resource, form: BookingForm | None = None, preview_rows=None, status: int = 200,
                   rules: dict | None = None):
    view = request.args.get("view") if request.args.get("view") in ("week", "month") else "week"
    zone = ZoneInfo(resource.timezone)
    try:
        anchor = date.fromisoformat(request.args.get("date") or "")
    except ValueError:
        anchor = utcnow().astimezone(zone).date()
    organisations = []
    if current_user.is_authenticated:
        from portal.organisations.services import organisations_of

        organisations = organisations_of(current_user)
    if form is None:
        form = BookingForm(formdata=None, accept_terms_version=None)
        if organisations:
            startups = [o for o in organisations if o.kind == "startup"]
            form.organisation_id.data = (startups or organisations)[0].id
    context = _calendar_context(resource, view, anchor)
    return render_template("resources/calendar.html", resource=resource, form=form, organisations=organisations,
                           preview_rows=preview_rows, weekday_names=weekday_names(), rules=rules or {},
                           can_edit=can(current_user, Permission.EDIT, resource), **context), status


@bp.get("/<int:resource_id>/calendar")
def calendar(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    return _calendar_page(resource)


@bp.post("/<int:resource_id>/book")
@login_required
@bookings.serialised_write
def book(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = BookingForm()
    if not form.validate():
        return _calendar_page(resource, form, status=400)
    try:
        cmd = from_form(NewBooking, form)
        if request.form.get("action") == "preview":
            rows = bookings.preview(resource, current_user, cmd)
            return _calendar_page(resource, form, preview_rows=rows)
        created = bookings.create_booking(resource, current_user, cmd)
    except PortalError as error:
        db.session.rollback()
        return _calendar_page(resource, form, status=error.status, rules=_show_errors(form, error))
    first = created[0]
    if first.status == BookingStatus.PENDING:
        flash(_("Request sent: the company will confirm it."), "success")
    else:
        flash(_("Booked: %(n)d slot(s) confirmed.", n=len(created)), "success")
    local_day = first.start_at.astimezone(ZoneInfo(resource.timezone)).date()
    return redirect(url_for("resources.calendar", resource_id=resource.id, date=local_day.isoformat()))


@bp.post("/<int:resource_id>/waitlist")
@login_required
@bookings.serialised_write
def waitlist(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = BookingForm()
    try:
        if not form.validate():
            raise ValidationFailed(_("Some fields are not valid."), form.errors)
        bookings.join_waitlist(resource, current_user, from_form(NewBooking, form))
    except PortalError as error:
        db.session.rollback()
        return _calendar_page(resource, form, status=error.status, rules=_show_errors(form, error))
    flash(_("You are on the waitlist; we book the slot for you if it frees."), "success")
    return redirect(url_for("resources.calendar", resource_id=resource.id))


@bp.get("/bookings")
@login_required
def my_bookings():
    rows = db.session.scalars(bookings.visible_bookings_stmt(current_user, True).limit(200)).all()
    reviewed = set(db.session.scalars(select(Review.booking_id).where(Review.user_id == current_user.id)))
    feed = db.session.get(BookingCalendar, current_user.id)
    from portal.organisations.services import organisations_of

    now = utcnow()
    # Bookings cancelled because the resource went down: offer free resources of the same kind.
    alternatives = {b.id: (b.start_at.astimezone(ZoneInfo(b.resource.timezone)).date().isoformat(),
                           bookings.alternatives_for(b)) for b in rows
                    if b.status == BookingStatus.CANCELLED and b.start_at > now
                    and availability.blackouts_in(b.resource_id, b.start_at, b.end_at)}
    return render_template("resources/my_bookings.html", bookings=rows, reviewed=reviewed, alternatives=alternatives,
                           waiting=bookings.waiting_entries(current_user),
                           startups=organisations_of(current_user, "startup"),
                           feed_url=url_for("resources_api.user_calendar_feed", token=feed.token, _external=True)
                           if feed else None, review_form=ReviewForm(formdata=None),
                           fees={b.id: bookings.cancellation_fee(b) for b in rows if b.is_open})


HISTORY_LABELS = {
    "booking.created": _l("Booked"), "booking.approved": _l("Approved"), "booking.rejected": _l("Rejected"),
    "booking.cancelled": _l("Cancelled"), "booking.completed": _l("Completed"), "booking.no_show": _l("No-show"),
    "booking.late_cancel_fee": _l("Late-cancel fee charged"),
    "booking.cancelled_by_outage": _l("Cancelled: the resource is unavailable"),
    "booking.promoted_from_waitlist": _l("Booked from the waitlist"),
}


@bp.get("/bookings/<int:booking_id>")
@login_required
def booking_detail(booking_id: int):
    booking = load(Booking, booking_id, Permission.VIEW)
    return render_template("resources/booking.html", booking=booking, resource=booking.resource,
                           history=bookings.booking_history(booking), history_labels=HISTORY_LABELS,
                           staff=can(current_user, Permission.EDIT, booking),
                           fee=bookings.cancellation_fee(booking) if booking.is_open else 0)


@bp.post("/waitlist/<int:entry_id>/withdraw")
@login_required
def waitlist_withdraw(entry_id: int):
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    bookings.withdraw_waitlist(entry, current_user)
    flash(_("You left the waitlist."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.post("/bookings/calendar-feed")
@login_required
def my_calendar_feed():
    bookings.user_calendar_token(current_user, rotate=from_form(CalendarRotation, CalendarFeedForm()).rotate)
    flash(_("Your calendar feed address is ready."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
@bookings.serialised_write
def booking_cancel(booking_id: int):
    booking = load(Booking, booking_id, CANCEL_BOOKING)
    form = CancelForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    booking = bookings.cancel_booking(booking, current_user, from_form(Cancellation, form))
    if booking.cancel_fee_amount:
        flash(_("Cancelled. Late-cancel fee: %(fee)s.", fee=format_money(booking.cancel_fee_amount, booking.currency)),
              "warning")
    else:
        flash(_("Cancelled, free of charge."), "success")
    return redirect(request.form.get("next") if request.form.get("next") == url_for("resources.approvals")
                    else url_for("resources.my_bookings"))


@bp.post("/bookings/<int:booking_id>/review")
@login_required
def booking_review(booking_id: int):
    booking = load(Booking, booking_id, REVIEW_BOOKING)
    form = ReviewForm()
    if not form.validate():
        raise ValidationFailed(_("Rate from 1 to 5."), {"rating": [_("Rate from 1 to 5.")]})
    bookings.add_review(booking, current_user, from_form(NewReview, form))
    flash(_("Thank you for your review."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.get("/approvals")
@login_required
def approvals():
    queue = [(b, bookings.pending_clashes(b)) for b in bookings.approval_queue(current_user)]
    return render_template("resources/approvals.html", queue=queue, form=DecisionForm(formdata=None))


@bp.post("/bookings/<int:booking_id>/approve")
@login_required
@bookings.serialised_write
def booking_approve(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    form = DecisionForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    rejected = bookings.approve_booking(booking, current_user, from_form(Decision, form))
    flash(_("Approved. %(n)d clashing request(s) rejected.", n=len(rejected)), "success")
    return redirect(url_for("resources.approvals"))


@bp.post("/bookings/<int:booking_id>/reject")
@login_required
@bookings.serialised_write
def booking_reject(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    form = DecisionForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    bookings.reject_booking(booking, current_user, from_form(Decision, form))
    flash(_("Request rejected."), "success")
    return redirect(url_for("resources.approvals"))


@bp.post("/bookings/<int:booking_id>/finish")
@login_required
@bookings.serialised_write
def booking_finish(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    form = FinishForm()
    if not form.validate():
        raise ValidationFailed(_("Choose completed or no_show."), form.errors)
    bookings.finish_booking(booking, current_user, form.status.data)
    flash(_("Booking updated."), "success")
    return redirect(url_for("resources.manage", resource_id=booking.resource_id))
