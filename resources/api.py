"""JSON API for resources: publish (company staff), list and read (public, prices included),
availability, bookings and their life cycle, calendars, qualifications, outages and reports."""

import hmac
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, jsonify, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.api import api_blueprint, doc, iso, json_body, json_bool, money, paginate, parse, require_login
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.exports import csv_download
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.permissions import Permission, can, load, require
from resources import availability, bookings, reports, services
from resources.forms import (
    BlackoutForm,
    BookingForm,
    BookingPolicyForm,
    DecisionForm,
    DeclineTrainingForm,
    ExceptionForm,
    PricesForm,
    ProblemForm,
    QualificationForm,
    ResolveProblemForm,
    ResourceForm,
    ReviewForm,
    TermsForm,
    TrainingRequestForm,
    WaitlistForm,
    clean_blackout,
    clean_exception,
    clean_qualification,
)
from resources.models import (
    Blackout,
    Booking,
    BookingCalendar,
    BookingStatus,
    OpeningException,
    ProblemReport,
    Resource,
    ResourceKind,
    Review,
    TrainingRequest,
    WaitlistEntry,
)
from resources.policies import (
    CANCEL_BOOKING,
    PUBLISH_RESOURCES,
    REVIEW_BOOKING,
    VIEW_STATEMENTS,
    VIEW_UTILISATION,
)

bp = api_blueprint("resources_api", __name__)


def resource_json(resource: Resource) -> dict:
    data = {
        "id": resource.id,
        "organisation_id": resource.organisation_id,
        "organisation": {"id": resource.organisation_id, "name": resource.organisation.name},
        "name": resource.name,
        "kind": resource.kind,
        "description": resource.description,
        "specifications": resource.specifications or {},
        "city": resource.city,
        "address": resource.address,
        "timezone": resource.timezone,
        "capacity": resource.capacity,
        "min_minutes": resource.min_minutes,
        "max_minutes": resource.max_minutes,
        "buffer_minutes": resource.buffer_minutes,
        "advance_days": resource.advance_days,
        "requires_approval": resource.requires_approval,
        "requires_qualification": resource.requires_qualification,
        "terms_version": resource.terms_version,
        "terms_text": resource.terms_text,
        "published": resource.published,
        "prices": [p.as_dict() for p in resource.prices],
        "cancel_free_hours": resource.cancel_free_hours,
        "late_cancel_fee_percent": resource.late_cancel_fee_percent,
        "quota_minutes_per_week": resource.quota_minutes_per_week,
        "rating": bookings.rating_of(resource.id),
        "photos": [url_for("resources.photo", resource_id=resource.id, photo_id=p.id) for p in resource.photos],
        "opening_hours": [h.as_dict() for h in resource.opening_hours],
        "created_at": iso(resource.created_at),
    }
    if can(current_user, Permission.EDIT, resource):
        data["can_edit"] = True
    return data


def _int_filter(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed.field(name, _("Must be a whole number.")) from None


@bp.get("/resources")
@doc("List published labs and equipment with their public prices", auth=False, query={
    "kind": "lab, equipment, workshop or production_line",
    "city": "part of the city name, e.g. Qingdao or 青岛",
    "organisation_id": "resources of one anchor company",
    "page": "page number, from 1", "per_page": "items per page, at most 100"})
def resource_list():
    kind = request.args.get("kind") or None
    if kind is not None and kind not in ResourceKind.ALL:
        raise ValidationFailed.field("kind", _("Choose one of: %(choices)s.", choices=", ".join(ResourceKind.ALL)))
    stmt = services.resources_query(kind=kind, city=request.args.get("city") or None,
                                    organisation_id=_int_filter("organisation_id"), viewer=current_user)
    return jsonify(paginate(stmt, resource_json))


@bp.post("/resources")
@doc("Publish a resource with its prices (minor units, e.g. fen) and opening hours (local time); "
     "company staff of that organisation only. Optional: address, capacity, terms_text, "
     "specifications (an object of names and values), published (default true; false saves a draft).",
     form=ResourceForm,
     responses={201: "Published", 400: "A field is not valid (named in error.fields)",
                403: "Not staff of that anchor company",
                409: "organisation_unverified: publishing waits until the company is verified"})
def resource_create():
    require_login()
    body = json_body()
    specifications = body.pop("specifications", None)
    body.pop("specifications_text", None)
    published = json_bool(body, "published", default=True)
    body.pop("published", None)
    form = parse(ResourceForm, body)
    organisation = db.session.get(Organisation, form.organisation_id.data)
    if organisation is None:
        raise ValidationFailed.field("organisation_id", _("No such organisation."))
    require(PUBLISH_RESOURCES, organisation)
    data = form.resource_data()
    data["specifications"] = specifications
    data["published"] = published
    resource = services.create_resource(organisation, data, current_user)
    return jsonify(resource_json(resource)), 201


@bp.get("/resources/<int:resource_id>")
@doc("One resource with its public price table and opening hours", auth=False)
def resource_get(resource_id: int):
    return jsonify(resource_json(load(Resource, resource_id, Permission.VIEW)))


@bp.put("/resources/<int:resource_id>/prices")
@doc("Replace the public price table (company staff)", form=PricesForm,
     responses={200: "Saved; the resource with its new prices"})
def resource_prices_update(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(PricesForm)
    services.update_prices(resource, [dict(p) for p in form.prices.data], current_user)
    return jsonify(resource_json(resource))


# ---- availability and bookings ---------------------------------------------------------------------

def booking_json(booking: Booking) -> dict:
    return {
        "id": booking.id,
        "resource_id": booking.resource_id,
        "resource": {"id": booking.resource_id, "name": booking.resource.name, "timezone": booking.resource.timezone},
        "user_id": booking.user_id,
        "organisation_id": booking.organisation_id,
        "start": iso(booking.start_at),
        "end": iso(booking.end_at),
        "blocked_until": iso(booking.blocked_until),
        "status": booking.status,
        "status_reason": booking.status_reason,
        "purpose": booking.purpose,
        "audience": booking.audience,
        "price": money(booking.price_amount, booking.currency),
        "price_unit": booking.price_unit,
        "credit_applied": money(booking.credit_amount or 0, booking.currency),
        "amount_due": money(booking.amount_due, booking.currency),
        "cancel_fee": money(booking.cancel_fee_amount, booking.currency),
        "terms_version": booking.terms_version,
        "series": booking.series_key,
        "created_at": iso(booking.created_at),
    }


def _window_arg(name: str, default: datetime) -> datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    errors: dict = {}
    moment = bookings.parse_moment(raw, name, ZoneInfo("UTC"), errors)
    if moment is None:
        raise ValidationFailed("Some fields are not valid", errors)
    return moment


def window_from_args(max_days: int = bookings.MAX_WINDOW_DAYS) -> tuple[datetime, datetime]:
    now = utcnow().replace(second=0, microsecond=0)
    start = _window_arg("from", now)
    end = _window_arg("to", start + timedelta(days=7))
    if end <= start:
        raise ValidationFailed.field("to", _("The end must be after the start."))
    if end - start > timedelta(days=max_days):
        raise ValidationFailed.field("to", _("At most %(n)d days at a time.", n=max_days))
    return start, end


@bp.get("/resources/<int:resource_id>/availability")
@doc("Free intervals of a resource (opening hours, exceptions, blackouts, bookings and buffers applied); "
     "a booking may start and end anywhere inside one slot", auth=False,
     query={"from": "ISO 8601 start (default now)", "to": "ISO 8601 end (default from + 7 days, at most 62 days)"})
def resource_availability(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    start, end = window_from_args()
    slots = availability.free_intervals(resource, start, end)
    return jsonify({"resource_id": resource.id, "timezone": resource.timezone, "from": iso(start), "to": iso(end),
                    "slots": [{"start": iso(a), "end": iso(b)} for a, b in slots]})


@bp.post("/resources/<int:resource_id>/bookings")
@doc("Book a resource. 201 {id, status: confirmed|pending, price}; repeat_weeks > 1 books a weekly series "
     "(all or nothing unless skip_conflicts). Broken rules -> 400 naming them (start, end, duration, "
     "opening_hours, advance_days, blackout, qualification, accept_terms_version, organisation_id, quota); "
     "overlap with a booking (buffers included) -> 409.", form=BookingForm,
     responses={201: "Booked", 400: "A rule of the resource is broken (named in error.fields)",
                409: "The time overlaps another booking"})
@bookings.serialised_write
def booking_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    body = json_body()
    parse(BookingForm, body)
    created = bookings.create_booking(resource, current_user, body)
    first = booking_json(created[0])
    if len(created) > 1:
        first["bookings"] = [booking_json(b) for b in created]
    return jsonify(first), 201


@bp.post("/resources/<int:resource_id>/bookings/preview")
@doc("Preview a (weekly) booking: each occurrence with the rules it breaks, the bookings it clashes "
     "with, its price, the open-source credits it would draw and the amount due; nothing is written", form=BookingForm, responses={200: "The occurrences"})
def booking_preview(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    body = json_body()
    parse(BookingForm, body)
    rows = bookings.preview(resource, current_user, body)
    return jsonify({"occurrences": [{"start": iso(r["start"]), "end": iso(r["end"]), "ok": r["ok"],
                                     "problems": r["problems"], "conflicts": r["conflicts"],
                                     "price": money(r["price"], r["currency"]), "price_unit": r["price_unit"],
                                     "credit_applied": money(r["credit"], r["currency"]),
                                     "amount_due": money(r["due"], r["currency"])} for r in rows]})


@bp.post("/resources/<int:resource_id>/waitlist")
@doc("Join the waitlist for a taken slot; promoted to a booking automatically when it frees",
     form=WaitlistForm, responses={201: "Waiting", 409: "The slot is free: book it"})
@bookings.serialised_write
def waitlist_join(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    body = json_body()
    parse(WaitlistForm, body)
    entry = bookings.join_waitlist(resource, current_user, body)
    return jsonify({"id": entry.id, "status": entry.status, "start": iso(entry.start_at),
                    "end": iso(entry.end_at)}), 201


@bp.get("/waitlist")
@doc("My waiting waitlist entries")
def waitlist_mine():
    require_login()
    return jsonify({"items": [{"id": e.id, "resource_id": e.resource_id, "start": iso(e.start_at),
                               "end": iso(e.end_at), "status": e.status}
                              for e in bookings.waiting_entries(current_user)]})


@bp.delete("/waitlist/<int:entry_id>")
@doc("Withdraw from the waitlist (the person waiting)", responses={200: "Withdrawn", 409: "No longer waiting"})
def waitlist_withdraw(entry_id: int):
    require_login()
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    entry = bookings.withdraw_waitlist(entry, current_user)
    return jsonify({"id": entry.id, "status": entry.status})


@bp.get("/bookings")
@doc("Bookings: mine=1 the caller's own; otherwise also those of the caller's companies' resources",
     query={"mine": "1: only my bookings", "status": "filter by status", "resource_id": "filter by resource",
            "page": "page number", "per_page": "items per page, at most 100"})
def booking_list():
    require_login()
    stmt = bookings.visible_bookings_stmt(current_user, request.args.get("mine") in ("1", "true"))
    status = request.args.get("status")
    if status:
        if status not in BookingStatus.ALL:
            raise ValidationFailed.field("status", _("Choose one of: %(choices)s.",
                                                    choices=", ".join(BookingStatus.ALL)))
        stmt = stmt.where(Booking.status == status)
    resource_filter = _int_filter("resource_id")
    if resource_filter is not None:
        stmt = stmt.where(Booking.resource_id == resource_filter)
    return jsonify(paginate(stmt, booking_json))


@bp.get("/bookings/<int:booking_id>")
@doc("One booking (the booker or staff of the owning company)")
def booking_get(booking_id: int):
    require_login()
    return jsonify(booking_json(load(Booking, booking_id, Permission.VIEW)))


@bp.get("/bookings/<int:booking_id>/history")
@doc("A booking's history from the audit log, oldest first (the booker or staff of the owning company)")
def booking_history(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.VIEW)
    return jsonify({"booking_id": booking.id, "items": [{
        "action": event["action"], "at": iso(event["at"]),
        "actor": {"id": event["actor"].id, "name": event["actor"].name} if event["actor"] else None,
        "before": event["before"], "after": event["after"]} for event in bookings.booking_history(booking)]})


@bp.get("/approvals")
@doc("The approval queue: pending requests for the resources of the caller's companies, each with the "
     "requests that approving it would reject")
def approval_queue():
    require_login()
    items = []
    for booking in bookings.approval_queue(current_user):
        data = booking_json(booking)
        data["would_reject"] = [b.id for b in bookings.pending_clashes(booking)]
        items.append(data)
    return jsonify({"items": items, "total": len(items)})


@bp.post("/bookings/<int:booking_id>/cancel")
@doc("Cancel a booking (the booker: free until the resource's free-cancellation limit, then the "
     "late-cancel fee; staff: no fee). Frees the slot for the waitlist.",
     responses={200: "Cancelled", 409: "Not cancellable in its status or already started"})
@bookings.serialised_write
def booking_cancel(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, CANCEL_BOOKING)
    body = json_body()
    booking = bookings.cancel_booking(booking, current_user, str(body.get("reason") or "")[:500])
    return jsonify(booking_json(booking))


@bp.post("/bookings/<int:booking_id>/approve")
@doc("Approve a pending request (staff). If it clashes with other pending requests, 409 names them unless "
     "reject_clashing is true, which rejects them.", form=DecisionForm,
     responses={200: "Confirmed; `rejected` lists the requests rejected with it", 409: "Clashes"})
@bookings.serialised_write
def booking_approve(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    form = parse(DecisionForm)
    rejected = bookings.approve_booking(booking, current_user, bool(form.reject_clashing.data))
    booking = db.session.get(Booking, booking_id)
    data = booking_json(booking)
    data["rejected"] = [b.id for b in rejected]
    return jsonify(data)


@bp.post("/bookings/<int:booking_id>/reject")
@doc("Reject a pending request (staff)", form=DecisionForm, responses={200: "Rejected", 409: "Not pending"})
@bookings.serialised_write
def booking_reject(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    form = parse(DecisionForm)
    return jsonify(booking_json(bookings.reject_booking(booking, current_user, form.reason.data or "")))


@bp.post("/bookings/<int:booking_id>/complete")
@doc("Mark a confirmed booking completed after its end (staff)",
     responses={200: "Completed", 409: "Not confirmed, or not ended yet"})
@bookings.serialised_write
def booking_complete(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    return jsonify(booking_json(bookings.finish_booking(booking, current_user, BookingStatus.COMPLETED)))


@bp.post("/bookings/<int:booking_id>/no-show")
@doc("Mark a confirmed booking as a no-show after its start (staff)",
     responses={200: "Marked", 409: "Not confirmed, or not started yet"})
@bookings.serialised_write
def booking_no_show(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    return jsonify(booking_json(bookings.finish_booking(booking, current_user, BookingStatus.NO_SHOW)))


@bp.post("/bookings/<int:booking_id>/review")
@doc("Rate a completed booking, 1-5 with a comment (the booker, once)", form=ReviewForm,
     responses={201: "Reviewed", 409: "Not completed or already reviewed"})
def booking_review(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, REVIEW_BOOKING)
    form = parse(ReviewForm)
    review = bookings.add_review(booking, current_user, form.rating.data, form.comment.data or "")
    return jsonify({"id": review.id, "rating": review.rating, "comment": review.comment,
                    "resource_rating": bookings.rating_of(booking.resource_id)}), 201


@bp.get("/resources/<int:resource_id>/reviews")
@doc("Public reviews of a resource with the average rating", auth=False)
def resource_reviews(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    stmt = select(Review).where(Review.resource_id == resource.id).order_by(Review.id.desc())
    result = paginate(stmt, lambda r: {"id": r.id, "rating": r.rating, "comment": r.comment,
                                       "created_at": iso(r.created_at)})
    result["rating"] = bookings.rating_of(resource.id)
    return jsonify(result)


# ---- calendars --------------------------------------------------------------------------------------

def _ics_response(text: str):
    response = make_response(text)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/resources/<int:resource_id>/calendar.ics")
@doc("iCalendar feed of a resource's bookings, behind its secret token (staff get it from "
     "POST /resources/{id}/calendar-token)", auth=False, query={"token": "the feed's secret token"})
def resource_calendar_feed(resource_id: int):
    resource = db.session.get(Resource, resource_id)
    token = request.args.get("token") or ""
    # Compared as bytes: compare_digest refuses non-ASCII text (a crafted `?token=é` was a 500).
    if resource is None or not resource.calendar_token or not hmac.compare_digest(
            resource.calendar_token.encode(), token.encode()):
        abort(404)
    return _ics_response(bookings.ical(bookings.feed_bookings(resource_id=resource.id), resource.name, True))


@bp.post("/resources/<int:resource_id>/calendar-token")
@doc("Create or rotate (rotate=true) the secret token of the resource's iCal feed (staff)",
     responses={201: "{token, url}"})
def resource_calendar_token(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    token = bookings.resource_calendar_token(resource, rotate=bool(json_body().get("rotate")))
    return jsonify({"token": token, "url": url_for("resources_api.resource_calendar_feed", resource_id=resource.id,
                                                   token=token, _external=True)}), 201


@bp.get("/bookings/calendar.ics")
@doc("iCalendar feed of one user's bookings, behind their secret token", auth=False,
     query={"token": "the feed's secret token (POST /me/booking-calendar)"})
def user_calendar_feed():
    token = request.args.get("token") or ""
    row = db.session.scalar(select(BookingCalendar).where(BookingCalendar.token == token)) if token else None
    if row is None:
        abort(404)
    return _ics_response(bookings.ical(bookings.feed_bookings(user_id=row.user_id), _("My bookings"), False))


@bp.post("/me/booking-calendar")
@doc("Create or rotate (rotate=true) the secret token of my bookings' iCal feed", responses={201: "{token, url}"})
def my_calendar_token():
    require_login()
    token = bookings.user_calendar_token(current_user, rotate=bool(json_body().get("rotate")))
    return jsonify({"token": token, "url": url_for("resources_api.user_calendar_feed", token=token,
                                                   _external=True)}), 201


# ---- rules of the calendar, qualifications, outages ------------------------------------------------

@bp.post("/resources/<int:resource_id>/publication")
@doc("Publish or withdraw a resource (staff); publishing needs a verified company",
     responses={200: "Saved", 409: "organisation_unverified: the company is not verified yet"})
def resource_publication(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    published = json_bool(json_body(), "published")
    return jsonify(resource_json(services.set_published(resource, published, current_user)))


@bp.put("/resources/<int:resource_id>/booking-policy")
@doc("Cancellation policy and weekly quota (staff)", form=BookingPolicyForm, responses={200: "Saved"})
def resource_booking_policy(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    body = json_body()
    parse(BookingPolicyForm, body)
    return jsonify(resource_json(services.update_booking_policy(resource, body, current_user)))


@bp.post("/resources/<int:resource_id>/exceptions")
@doc("A dated exception to the weekly hours (staff): other hours on that local date, or closed (no times)",
     form=ExceptionForm, responses={201: "Added"})
def exception_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(ExceptionForm)
    day, opens, closes = clean_exception(form)
    row = bookings.add_exception(resource, day, opens, closes, form.note.data or "", current_user)
    return jsonify(row.as_dict()), 201



@bp.post("/resources/<int:resource_id>/blackouts")
@doc("Close the resource for a period (staff): kind blackout, maintenance or outage (marks it down). "
     "Open bookings in the period are cancelled without a fee and their bookers mailed with alternatives.",
     form=BlackoutForm, responses={201: "{id, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(BlackoutForm)
    start, end = clean_blackout(form, resource)
    blackout, cancelled = bookings.add_blackout(resource, start, end, form.kind.data, form.reason.data or "",
                                                current_user)
    return jsonify({"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at),
                    "end": iso(blackout.ends_at), "cancelled": [b.id for b in cancelled]}), 201


def _child(model, child_id: int, resource: Resource):
    """A row belonging to `resource` (exception, blackout, report, request), or 404."""
    row = db.session.get(model, child_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return row


@bp.put("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Change a dated exception (staff): other date, hours, or closed (no times)", form=ExceptionForm,
     responses={200: "Saved"})
def exception_update(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(OpeningException, exception_id, resource)
    form = parse(ExceptionForm)
    day, opens, closes = clean_exception(form)
    return jsonify(bookings.update_exception(row, day, opens, closes, form.note.data or "", current_user).as_dict())


@bp.delete("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Remove a dated exception (staff): the weekly hours apply again", responses={204: "Removed"})
def exception_delete(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_exception(_child(OpeningException, exception_id, resource), current_user)
    return "", 204


@bp.get("/resources/<int:resource_id>/blackouts")
@doc("Closures, maintenance and outages from now on (staff)")
def blackout_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    now = utcnow()
    rows = availability.blackouts_in(resource.id, now, now + timedelta(days=730))
    return jsonify({"items": [_blackout_json(b) for b in rows],
                    "exceptions": [e.as_dict() for e in db.session.scalars(
                        select(OpeningException).where(OpeningException.resource_id == resource.id,
                                                       OpeningException.day >= now.date() - timedelta(days=1))
                        .order_by(OpeningException.day))]})


def _blackout_json(blackout: Blackout, cancelled: list[Booking] | None = None) -> dict:
    data = {"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at), "end": iso(blackout.ends_at),
            "reason": blackout.reason}
    if cancelled is not None:
        data["cancelled"] = [b.id for b in cancelled]
    return data



@bp.put("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Change a closure (staff). Open bookings the new period covers are cancelled without a fee and "
     "mailed; time it no longer covers is bookable again", form=BlackoutForm,
     responses={200: "{id, kind, start, end, reason, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_update(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(Blackout, blackout_id, resource)
    form = parse(BlackoutForm)
    start, end = clean_blackout(form, resource)
    blackout, cancelled = bookings.update_blackout(row, start, end, form.kind.data, form.reason.data or "",
                                                   current_user)
    return jsonify(_blackout_json(blackout, cancelled))


@bp.delete("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Remove a closure (staff): its time is bookable again", responses={204: "Removed"})
@bookings.serialised_write
def blackout_delete(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_blackout(_child(Blackout, blackout_id, resource), current_user)
    return "", 204


def _problem_json(report: ProblemReport, note: str | None = None) -> dict:
    return {"id": report.id, "resource_id": report.resource_id, "user_id": report.user_id,
            "description": report.description, "created_at": iso(report.created_at),
            "resolved_at": iso(report.resolved_at), "resolution_note": note}


@bp.get("/resources/<int:resource_id>/problems")
@doc("Problem reports of a resource, newest first, with their resolution notes (staff)")
def problem_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    rows = db.session.scalars(select(ProblemReport).where(ProblemReport.resource_id == resource.id)
                              .order_by(ProblemReport.id.desc()).limit(200)).all()
    notes = bookings.problem_notes(rows)
    return jsonify({"items": [_problem_json(r, notes.get(r.id)) for r in rows]})


@bp.post("/resources/<int:resource_id>/problems/<int:report_id>/resolve")
@doc("Resolve a problem report with a note (staff); the reporter is mailed", form=ResolveProblemForm,
     responses={200: "Resolved", 409: "Already resolved"})
def problem_resolve(resource_id: int, report_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    report = _child(ProblemReport, report_id, resource)
    form = parse(ResolveProblemForm)
    bookings.resolve_problem(report, current_user, form.note.data)
    return jsonify(_problem_json(report, form.note.data.strip()))


@bp.get("/resources/<int:resource_id>/training-requests")
@doc("Open training requests of a resource (staff)")
def training_request_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    rows = db.session.scalars(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.status == "open")
        .order_by(TrainingRequest.id)).all()
    return jsonify({"items": [{"id": t.id, "user": {"id": t.user_id, "name": t.user.name, "email": t.user.email},
                               "message": t.message, "status": t.status, "created_at": iso(t.created_at)}
                              for t in rows]})


@bp.post("/resources/<int:resource_id>/training-requests/<int:request_id>/decline")
@doc("Decline a training request with a reason (staff); the requester is mailed", form=DeclineTrainingForm,
     responses={200: "Declined", 409: "No longer open"})
def training_request_decline(resource_id: int, request_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    training = _child(TrainingRequest, request_id, resource)
    form = parse(DeclineTrainingForm)
    bookings.decline_training(training, current_user, form.reason.data)
    return jsonify({"id": training.id, "status": training.status})


@bp.post("/resources/<int:resource_id>/problems")
@doc("Report a problem with a resource (any logged-in user); staff are mailed", form=ProblemForm,
     responses={201: "Reported"})
def problem_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    form = parse(ProblemForm)
    report = bookings.report_problem(resource, current_user, form.description.data)
    return jsonify({"id": report.id, "created_at": iso(report.created_at)}), 201


@bp.post("/resources/<int:resource_id>/qualifications")
@doc("Qualify a user (by email) on a resource, optionally until a date (staff)", form=QualificationForm,
     responses={201: "Granted"})
def qualification_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(QualificationForm)
    user, expires_at = clean_qualification(form, resource)
    qualification = bookings.grant_qualification(resource, user, expires_at, current_user)
    return jsonify({"id": qualification.id, "user_id": user.id,
                    "expires_at": iso(qualification.expires_at)}), 201



@bp.post("/resources/<int:resource_id>/training-requests")
@doc("Ask for the training a qualification-only resource requires", form=TrainingRequestForm,
     responses={201: "Requested", 409: "Already qualified or already asked"})
def training_request_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    form = parse(TrainingRequestForm)
    training = bookings.request_training(resource, current_user, form.message.data or "")
    return jsonify({"id": training.id, "status": training.status}), 201


# ---- reports ------------------------------------------------------------------------------------------

@bp.get("/resources/idle-capacity")
@doc("Public: open windows in the next 14 days across all anchor companies' resources", auth=False)
def idle_capacity():
    rows = reports.idle_capacity()
    return jsonify({"items": [{
        "resource": {"id": r.resource.id, "name": r.resource.name, "kind": r.resource.kind,
                     "city": r.resource.city, "organisation": r.resource.organisation.name},
        "free_hours": round(r.free_minutes / 60, 1),
        "windows": [{"start": iso(a), "end": iso(b)} for a, b in r.windows]} for r in rows]})


@bp.get("/organisations/<int:organisation_id>/resource-statement")
@doc("Monthly statement of a startup's resource charges (members of the startup): each charge with its price, "
     "the open-source credits it drew and the amount due; totals due; the current credit balances",
     query={"month": "YYYY-MM (default: this month, China time)"})
def statement(organisation_id: int):
    require_login()
    organisation, month = statement_scope(organisation_id)
    result = reports.monthly_statement(organisation, month)
    return jsonify({"organisation_id": organisation.id, "month": month.strftime("%Y-%m"),
                    "lines": [{"booking_id": line.booking.id, "resource": line.booking.resource.name,
                               "start": iso(line.booking.start_at), "end": iso(line.booking.end_at),
                               "kind": line.kind, "status": line.booking.status,
                               "price": money(line.price, line.currency),
                               "credit_applied": money(line.credit, line.currency),
                               "amount": money(line.amount, line.currency)} for line in result.lines],
                    "totals": [money(amount, currency) for currency, amount in sorted(result.totals.items())],
                    "credits_applied": [money(amount, currency)
                                        for currency, amount in sorted(result.credit_totals.items())],
                    "credit_balances": [credit_balance_json(b) for b in result.credit_balances]})


def credit_balance_json(balance: bookings.CreditBalance) -> dict:
    """Open-source credits a startup holds for one company's resources (granted, used, available)."""
    return {"company_id": balance.company_id, "company": balance.company_name,
            "granted": money(balance.granted, balance.currency), "used": money(balance.used, balance.currency),
            "available": money(balance.available, balance.currency)}


@bp.get("/organisations/<int:organisation_id>/resource-statement.csv")
@doc("The monthly statement as CSV (members of the startup): one row per charge, amounts in minor units",
     query={"month": "YYYY-MM (default: this month, China time)"}, responses={200: "text/csv"})
def statement_csv(organisation_id: int):
    require_login()
    organisation, month = statement_scope(organisation_id)
    return csv_download(reports.statement_csv(reports.monthly_statement(organisation, month)),
                        f"resource-statement-{organisation.id}-{month:%Y-%m}.csv")


def statement_scope(organisation_id: int) -> tuple[Organisation, date]:
    """The organisation (the caller must belong to it) and the month asked for, or 403/400."""
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    return organisation, reports.month_arg(request.args.get("month"))


@bp.get("/organisations/<int:organisation_id>/resource-utilisation")
@doc("Utilisation per resource of a company: booked hours / open hours and idle hours (company staff)",
     query={"from": "ISO 8601 (default 30 days ago)", "to": "ISO 8601 (default now)"})
def utilisation(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, VIEW_UTILISATION)
    now = utcnow()
    start = _window_arg("from", now - timedelta(days=30))
    end = _window_arg("to", now)
    if end <= start or end - start > timedelta(days=366):
        raise ValidationFailed.field("to", _("Give a window of at most a year, ending after it starts."))
    rows = reports.utilisation(organisation, start, end)
    return jsonify({"from": iso(start), "to": iso(end), "items": [{
        "resource_id": r.resource.id, "name": r.resource.name, "open_hours": round(r.open_minutes / 60, 2),
        "booked_hours": round(r.booked_minutes / 60, 2), "idle_hours": round(r.idle_minutes / 60, 2),
        "utilisation": round(r.ratio, 4)} for r in rows]})


@bp.put("/resources/<int:resource_id>/terms")
@doc("Replace the IP/NDA terms (staff); a changed text gets the next version number, which bookers then "
     "accept with accept_terms_version", form=TermsForm, responses={200: "Saved; the resource"})
def resource_terms(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(TermsForm)
    return jsonify(resource_json(services.update_terms(resource, form.terms_text.data or "", current_user)))
