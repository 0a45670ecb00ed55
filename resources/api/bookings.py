"""JSON API of resources: bookings."""

from datetime import timedelta

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.api import doc, iso, money, paginate, read_body, read_query, require_login
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Permission, load
from resources import availability, bookings
from resources.api.common import bp, window
from resources.models import Booking, BookingStatus, Resource, Review, WaitlistEntry
from resources.policies import CANCEL_BOOKING, REVIEW_BOOKING
from resources.schemas import (
    AvailabilityOut,
    BookingFilter,
    BookingOut,
    Cancellation,
    Decision,
    HistoryEventOut,
    NewBooking,
    NewReview,
    PreviewOut,
    PublicReviewOut,
    ReviewOut,
    WaitlistOut,
    Window,
)

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


@bp.get("/resources/<int:resource_id>/availability")
@doc("Free intervals of a resource (opening hours, exceptions, blackouts, bookings and buffers applied); "
     "a booking may start and end anywhere inside one slot. `from` defaults to now, `to` to from + 7 days "
     "(at most 62 days)", auth=False, query=Window, response=AvailabilityOut)
def resource_availability(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    args = read_query(Window)
    start, end = window(args.start, args.end, default_start=utcnow().replace(second=0, microsecond=0),
                        default_end=lambda start: start + timedelta(days=7), max_days=bookings.MAX_WINDOW_DAYS)
    slots = availability.free_intervals(resource, start, end)
    return jsonify({"resource_id": resource.id, "timezone": resource.timezone, "from": iso(start), "to": iso(end),
                    "slots": [{"start": iso(a), "end": iso(b)} for a, b in slots]})


@bp.post("/resources/<int:resource_id>/bookings")
@doc("Book a resource. 201 {id, status: confirmed|pending, price}; repeat_weeks > 1 books a weekly series "
     "(all or nothing unless skip_conflicts). Broken rules -> 400 naming them (start, end, duration, "
     "opening_hours, advance_days, blackout, qualification, accept_terms_version, organisation_id, quota); "
     "overlap with a booking (buffers included) -> 409.", body=NewBooking, response=BookingOut,
     responses={201: "Booked", 400: "A rule of the resource is broken (named in error.fields)",
                409: "The time overlaps another booking"})
@bookings.serialised_write
def booking_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    created = bookings.create_booking(resource, current_user, read_body(NewBooking))
    first = booking_json(created[0])
    if len(created) > 1:
        first["bookings"] = [booking_json(b) for b in created]
    return jsonify(first), 201


@bp.post("/resources/<int:resource_id>/bookings/preview")
@doc("Preview a (weekly) booking: each occurrence with the rules it breaks, the bookings it clashes "
     "with, its price, the open-source credits it would draw and the amount due; nothing is written",
     body=NewBooking, response=PreviewOut, responses={200: "The occurrences"})
def booking_preview(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    rows = bookings.preview(resource, current_user, read_body(NewBooking))
    return jsonify({"occurrences": [{"start": iso(r["start"]), "end": iso(r["end"]), "ok": r["ok"],
                                     "problems": r["problems"], "conflicts": r["conflicts"],
                                     "price": money(r["price"], r["currency"]), "price_unit": r["price_unit"],
                                     "credit_applied": money(r["credit"], r["currency"]),
                                     "amount_due": money(r["due"], r["currency"])} for r in rows]})


@bp.post("/resources/<int:resource_id>/waitlist")
@doc("Join the waitlist for a taken slot; promoted to a booking automatically when it frees",
     body=NewBooking, response=WaitlistOut, responses={201: "Waiting", 409: "The slot is free: book it"})
@bookings.serialised_write
def waitlist_join(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    entry = bookings.join_waitlist(resource, current_user, read_body(NewBooking))
    return jsonify({"id": entry.id, "status": entry.status, "start": iso(entry.start_at),
                    "end": iso(entry.end_at)}), 201


@bp.get("/waitlist")
@doc("My waiting waitlist entries", response=WaitlistOut)
def waitlist_mine():
    require_login()
    return jsonify({"items": [{"id": e.id, "resource_id": e.resource_id, "start": iso(e.start_at),
                               "end": iso(e.end_at), "status": e.status}
                              for e in bookings.waiting_entries(current_user)]})


@bp.delete("/waitlist/<int:entry_id>")
@doc("Withdraw from the waitlist (the person waiting)", response=WaitlistOut,
     responses={200: "Withdrawn", 409: "No longer waiting"})
def waitlist_withdraw(entry_id: int):
    require_login()
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    entry = bookings.withdraw_waitlist(entry, current_user)
    return jsonify({"id": entry.id, "status": entry.status})


@bp.get("/bookings")
@doc("Bookings: mine=1 the caller's own; otherwise also those of the caller's companies' resources",
     query=BookingFilter, response=BookingOut)
def booking_list():
    require_login()
    args = read_query(BookingFilter)
    stmt = bookings.visible_bookings_stmt(current_user, args.mine)
    if args.status is not None:
        stmt = stmt.where(Booking.status == args.status)
    if args.resource_id is not None:
        stmt = stmt.where(Booking.resource_id == args.resource_id)
    return jsonify(paginate(stmt, booking_json))


@bp.get("/bookings/<int:booking_id>")
@doc("One booking (the booker or staff of the owning company)", response=BookingOut)
def booking_get(booking_id: int):
    require_login()
    return jsonify(booking_json(load(Booking, booking_id, Permission.VIEW)))


@bp.get("/bookings/<int:booking_id>/history")
@doc("A booking's history from the audit log, oldest first (the booker or staff of the owning company)",
     response=HistoryEventOut)
def booking_history(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.VIEW)
    return jsonify({"booking_id": booking.id, "items": [{
        "action": event["action"], "at": iso(event["at"]),
        "actor": {"id": event["actor"].id, "name": event["actor"].name} if event["actor"] else None,
        "before": event["before"], "after": event["after"]} for event in bookings.booking_history(booking)]})


@bp.get("/approvals")
@doc("The approval queue: pending requests for the resources of the caller's companies, each with the "
     "requests that approving it would reject", response=BookingOut)
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
     "late-cancel fee; staff: no fee). Frees the slot for the waitlist.", body=Cancellation, response=BookingOut,
     responses={200: "Cancelled", 409: "Not cancellable in its status or already started"})
@bookings.serialised_write
def booking_cancel(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, CANCEL_BOOKING)
    booking = bookings.cancel_booking(booking, current_user, read_body(Cancellation))
    return jsonify(booking_json(booking))


@bp.post("/bookings/<int:booking_id>/approve")
@doc("Approve a pending request (staff). If it clashes with other pending requests, 409 names them unless "
     "reject_clashing is true, which rejects them.", body=Decision, response=BookingOut,
     responses={200: "Confirmed; `rejected` lists the requests rejected with it", 409: "Clashes"})
@bookings.serialised_write
def booking_approve(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    rejected = bookings.approve_booking(booking, current_user, read_body(Decision))
    booking = db.session.get(Booking, booking_id)
    data = booking_json(booking)
    data["rejected"] = [b.id for b in rejected]
    return jsonify(data)


@bp.post("/bookings/<int:booking_id>/reject")
@doc("Reject a pending request (staff)", body=Decision, response=BookingOut,
     responses={200: "Rejected", 409: "Not pending"})
@bookings.serialised_write
def booking_reject(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    return jsonify(booking_json(bookings.reject_booking(booking, current_user, read_body(Decision))))


@bp.post("/bookings/<int:booking_id>/complete")
@doc("Mark a confirmed booking completed after its end (staff)", response=BookingOut,
     responses={200: "Completed", 409: "Not confirmed, or not ended yet"})
@bookings.serialised_write
def booking_complete(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    return jsonify(booking_json(bookings.finish_booking(booking, current_user, BookingStatus.COMPLETED)))


@bp.post("/bookings/<int:booking_id>/no-show")
@doc("Mark a confirmed booking as a no-show after its start (staff)", response=BookingOut,
     responses={200: "Marked", 409: "Not confirmed, or not started yet"})
@bookings.serialised_write
def booking_no_show(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, Permission.EDIT)
    return jsonify(booking_json(bookings.finish_booking(booking, current_user, BookingStatus.NO_SHOW)))


@bp.post("/bookings/<int:booking_id>/review")
@doc("Rate a completed booking, 1-5 with a comment (the booker, once)", body=NewReview, response=ReviewOut,
     responses={201: "Reviewed", 409: "Not completed or already reviewed"})
def booking_review(booking_id: int):
    require_login()
    booking = load(Booking, booking_id, REVIEW_BOOKING)
    review = bookings.add_review(booking, current_user, read_body(NewReview))
    return jsonify({"id": review.id, "rating": review.rating, "comment": review.comment,
                    "resource_rating": bookings.rating_of(booking.resource_id)}), 201


@bp.get("/resources/<int:resource_id>/reviews")
@doc("Public reviews of a resource with the average rating (`rating` next to the page)", auth=False,
     response=PublicReviewOut)
def resource_reviews(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    stmt = select(Review).where(Review.resource_id == resource.id).order_by(Review.id.desc())
    result = paginate(stmt, lambda r: {"id": r.id, "rating": r.rating, "comment": r.comment,
                                       "created_at": iso(r.created_at)})
    result["rating"] = bookings.rating_of(resource.id)
    return jsonify(result)
