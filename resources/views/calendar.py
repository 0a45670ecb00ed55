"""HTML pages of resources: calendar."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.db import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.money import format_money
from portal.permissions import Permission, can, load
from portal.schemas import from_form, validate
from portal.states import label_for
from resources import availability, bookings
from resources.forms import (
    UNIT_LABELS,
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
    BookingStatus,
    Resource,
    WaitlistEntry,
)
from resources.policies import (
    CANCEL_BOOKING,
    REVIEW_BOOKING,
)
from resources.schemas import CalendarRotation, Cancellation, Decision, NewBooking, NewReview, in_utc
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


def _requested_week(resource: Resource, form: BookingForm) -> date | None:
    """The local date of the start a re-shown form asks for (its week stays in view after a refusal)."""
    try:
        moment = datetime.fromisoformat(str(form.start.data or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(ZoneInfo(resource.timezone)).date() if moment.tzinfo else moment.date()


def _marks(resource: Resource, rows) -> list[dict]:
    """The occurrences of a request (rows of `bookings.preview`) as the grid and the list mark them: free
    or clashing, with the rules broken."""
    zone = ZoneInfo(resource.timezone)
    marks = []
    for row in rows or []:
        notes = [m for messages in row["problems"].values() for m in messages]
        if row["conflicts"]:
            notes.append(_("clashes with a booking"))
        marks.append({"start": row["start"].astimezone(zone), "end": row["end"].astimezone(zone), "ok": row["ok"],
                      "note": " ".join(notes)})
    return marks


def _request_marks(resource: Resource, form: BookingForm) -> list[dict]:
    """A refused request's occurrences, checked again by the preview service (nothing is written)."""
    try:
        return _marks(resource, bookings.preview(resource, current_user, from_form(NewBooking, form)))
    except PortalError:
        db.session.rollback()
        return []


def _grid_config(resource: Resource, anchor: date, marks: list[dict]) -> dict:
    """What portal/static/js/calendar.js needs to draw the booking grid (the page's JSON, read by the script)."""
    weekly = resource.opening_hours
    first = min((h.opens for h in weekly), default=time(0))
    last = max((h.closes for h in weekly), default=time(0))
    wall = "%Y-%m-%dT%H:%M:00"
    return {
        "kind": "booking", "eventsUrl": url_for("resources.calendar_events", resource_id=resource.id),
        "pageUrl": url_for("resources.calendar", resource_id=resource.id),
        "quoteUrl": url_for("resources.calendar_quote", resource_id=resource.id),
        "initialDate": anchor.isoformat(), "step": bookings.step_minutes(resource),
        "minMinutes": resource.min_minutes, "maxMinutes": resource.max_minutes,
        "slotMinTime": f"{max(first.hour - 1, 0):02d}:00:00" if weekly else "00:00:00",
        "slotMaxTime": (f"{min(last.hour + (2 if last.minute else 1), 24):02d}:00:00" if weekly else "24:00:00"),
        "canBook": current_user.is_authenticated,
        "marks": [{"start": m["start"].strftime(wall), "end": m["end"].strftime(wall), "ok": m["ok"], "note": m["note"]}
                  for m in marks],
        "labels": {"selected": _("Your selection"), "clash": _("Clash"), "requested": _("Your request"),
                   "price": _("Price"), "credit": _("Open-source credits"), "due": _("Amount due"),
                   "free": _("free"), "occurrences": _("%(ok)s of %(n)s occurrences can be booked"),
                   "priceOnRequest": _("Price on request"), "loginToBook": _("Log in to book."),
                   "failed": _("The calendar could not be loaded; use the list and the form below."),
                   "decide": _("Decide on this request")},
        "buttons": {"prev": f"‹ {_('Previous')}", "next": f"{_('Next')} ›", "today": _("Today"), "week": _("Week"),
                    "day": _("Day")},
    }


def _calendar_page(resource: Resource, form: BookingForm | None = None, preview_rows=None, status: int = 200,
                   rules: dict | None = None, marks: list[dict] | None = None):
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
    else:
        anchor = _requested_week(resource, form) or anchor  # a refused or previewed request keeps its week
    marks = marks if marks is not None else _marks(resource, preview_rows)
    context = _calendar_context(resource, view, anchor)
    for cell in context["grid"]:
        cell["requested"] = [m for m in marks if m["start"].date() == cell["day"]]
    return render_template("resources/calendar.html", resource=resource, form=form, organisations=organisations,
                           preview_rows=preview_rows, weekday_names=weekday_names(), rules=rules or {},
                           can_edit=can(current_user, Permission.EDIT, resource),
                           grid_config=_grid_config(resource, anchor, marks), decision_form=DecisionForm(formdata=None),
                           **context), status


def _window_days(resource: Resource) -> tuple[datetime, datetime]:
    """The grid's window: local dates `start` (inclusive) to `end` (exclusive), at most MAX_WINDOW_DAYS, in UTC."""
    zone = ZoneInfo(resource.timezone)
    try:
        first = date.fromisoformat((request.args.get("start") or "")[:10])
        last = date.fromisoformat((request.args.get("end") or "")[:10])
    except ValueError:
        abort(400)
    if not 0 < (last - first).days <= bookings.MAX_WINDOW_DAYS:
        abort(400)
    return availability.local_to_utc(first, time(0), zone), availability.local_to_utc(last, time(0), zone)


@bp.get("/<int:resource_id>/calendar/events")
def calendar_events(resource_id: int):
    """The booking grid's events between two local dates: opening hours, free time (past excluded), closures and
    bookings: the caller's own labelled, other people's only as "Booked" (names for the resource's staff, who
    also get the approve and reject actions of pending requests). Times are wall-clock times of the resource."""
    resource = load(Resource, resource_id, Permission.VIEW)
    zone = ZoneInfo(resource.timezone)
    start, end = _window_days(resource)
    now = utcnow()
    staff = can(current_user, Permission.EDIT, resource)
    me = current_user.id if current_user.is_authenticated else None

    def wall(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:00")

    events: list[dict] = [{"start": wall(a), "end": wall(b), "display": "background", "classNames": ["cal-open"]}
                          for a, b in availability.open_intervals(resource, start, end)]
    free = availability.free_intervals(resource, max(start, now), end) if end > now else []
    events += [{"start": wall(a), "end": wall(b), "display": "background", "groupId": "free",
                "classNames": ["cal-free"]} for a, b in free]
    for closure in availability.blackouts_in(resource.id, start, end):
        title = label_for(closure.kind, "BlackoutKind") + (f": {closure.reason}" if closure.reason else "")
        events.append({"start": wall(closure.starts_at), "end": wall(closure.ends_at), "display": "background",
                       "title": title, "classNames": ["cal-closure"]})
    for booking in availability.occupying_bookings(resource.id, start, end,
                                                   OCCUPYING_BOOKING_STATUSES + (BookingStatus.PENDING,)):
        mine, pending = booking.user_id == me, booking.status == BookingStatus.PENDING
        props: dict = {"kind": "mine" if mine else ("staff" if staff else "other")}
        if mine:
            title = _("Your request (pending)") if pending else _("Your booking")
        elif staff:
            title = booking.user.name + (f" ({booking.organisation.name})" if booking.organisation else "")
            if pending:
                title = _("Request: %(who)s", who=title)
        else:
            title = _("Requested") if pending else _("Booked")
        if mine or staff:
            props["url"] = url_for("resources.booking_detail", booking_id=booking.id)
        if staff and pending and booking.start_at > now:
            props["decide"] = {
                "approve": url_for("resources.booking_approve", booking_id=booking.id),
                "reject": url_for("resources.booking_reject", booking_id=booking.id),
                "summary": f"#{booking.id} · {title} · {format_money(booking.price_amount, booking.currency)}",
                "purpose": booking.purpose or "",
                "clashes": [f"#{b.id} {b.user.name}" for b in bookings.pending_clashes(booking)]}
        events.append({"start": wall(booking.start_at), "end": wall(booking.end_at), "title": title,
                       "classNames": ["cal-booking", f"cal-{props['kind']}"] + (["cal-pending"] if pending else []),
                       "extendedProps": props})
    return jsonify(events)


@bp.get("/<int:resource_id>/calendar/quote")
def calendar_quote(resource_id: int):
    """The price of a selection on the grid before booking, snapped to the resource's step: for a signed-in
    user the booking preview (each weekly occurrence with its price, credits, amount due and the rules it
    breaks); for a visitor the price table's external price. Nothing is written."""
    resource = load(Resource, resource_id, Permission.VIEW)
    zone = ZoneInfo(resource.timezone)
    try:
        start, end = (datetime.fromisoformat(request.args.get(name, "")) for name in ("start", "end"))
        if not (2000 <= start.year <= 2200 and 2000 <= end.year <= 2200):
            raise ValueError("implausible")
        start, end = in_utc(start, zone), in_utc(end, zone)
        repeat = min(max(int(request.args.get("repeat_weeks") or 1), 1), bookings.MAX_SERIES)
        organisation_id = int(request.args["organisation_id"]) if request.args.get("organisation_id") else None
    except ValueError:
        return jsonify({"error": _("Choose a start and an end.")}), 400
    start, end = bookings.snap(resource, start, end)
    minutes = int((end - start).total_seconds() // 60)
    if current_user.is_authenticated:
        try:
            command = validate(NewBooking, {
                "start": start, "end": end, "organisation_id": organisation_id, "repeat_weeks": repeat,
                "accept_terms_version": resource.terms_version if resource.terms_text else None}, strict=False)
            rows = bookings.preview(resource, current_user, command)
        except PortalError as error:
            return jsonify({"error": error.message,
                            "fields": {k: [str(m) for m in v] for k, v in error.fields.items()}}), error.status
    else:
        unit, amount, currency = bookings.quote(resource, bookings.audience_for(None, resource), minutes)
        rows = [{"start": start, "end": end, "ok": True, "problems": {}, "conflicts": [], "price_unit": unit,
                 "price": amount, "credit": 0, "due": amount, "currency": currency}]
    currency = rows[0]["currency"]
    marks = _marks(resource, rows)
    counted = [r for r in rows if r["ok"]] or rows
    unit = rows[0]["price_unit"]
    return jsonify({
        "start": marks[0]["start"].strftime("%Y-%m-%dT%H:%M"), "end": marks[0]["end"].strftime("%Y-%m-%dT%H:%M"),
        "minutes": minutes, "step": bookings.step_minutes(resource),
        "unit": str(UNIT_LABELS[unit]) if unit else "", "priced": unit is not None,
        "total": format_money(sum(r["price"] for r in counted), currency),
        "total_due": format_money(sum(r["due"] for r in counted), currency),
        "credit": format_money(sum(r["credit"] for r in counted), currency) if any(r["credit"] for r in counted)
        else "",
        "ok": sum(1 for r in rows if r["ok"]), "count": len(rows),
        "occurrences": [{"start": m["start"].strftime("%Y-%m-%dT%H:%M:00"), "end": m["end"].strftime("%Y-%m-%dT%H:%M:00"),
                         "ok": m["ok"], "note": m["note"], "price": format_money(r["price"], currency),
                         "due": format_money(r["due"], currency)} for m, r in zip(marks, rows, strict=True)],
    })


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
        rules = _show_errors(form, error)
        return _calendar_page(resource, form, status=error.status, rules=rules, marks=_request_marks(resource, form))
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


# My bookings: resources/views/my_bookings.py.


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
                           day=booking.start_at.astimezone(ZoneInfo(booking.resource.timezone)).date().isoformat(),
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
    days = {b.id: b.start_at.astimezone(ZoneInfo(b.resource.timezone)).date().isoformat() for b, _ in queue}
    return render_template("resources/approvals.html", queue=queue, form=DecisionForm(formdata=None), days=days)


def _back_from_decision(booking: Booking):
    """Back to the resource's calendar when the decision was taken on its grid, else to the approval queue."""
    target = request.form.get("next") or ""
    calendar_url = url_for("resources.calendar", resource_id=booking.resource_id)
    if target == calendar_url or target.startswith(calendar_url + "?"):
        return redirect(target)
    return redirect(url_for("resources.approvals"))


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
    return _back_from_decision(booking)


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
    return _back_from_decision(booking)


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
