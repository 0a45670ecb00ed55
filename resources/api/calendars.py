"""JSON API of resources: calendars."""

import hmac

from flask import abort, jsonify, make_response, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.api import doc, read_body, read_query, require_login
from portal.extensions import db
from portal.permissions import Permission, load
from resources import bookings
from resources.api.common import bp
from resources.models import BookingCalendar, Resource
from resources.schemas import CalendarRotation, CalendarTokenOut, FeedQuery

# ---- calendars --------------------------------------------------------------------------------------

def _ics_response(text: str):
    response = make_response(text)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/resources/<int:resource_id>/calendar.ics")
@doc("iCalendar feed of a resource's bookings, behind its secret token (staff get it from "
     "POST /resources/{id}/calendar-token)", auth=False, query=FeedQuery)
def resource_calendar_feed(resource_id: int):
    resource = db.session.get(Resource, resource_id)
    token = read_query(FeedQuery).token
    # Compared as bytes: compare_digest refuses non-ASCII text (a crafted `?token=é` was a 500).
    if resource is None or not resource.calendar_token or not hmac.compare_digest(
            resource.calendar_token.encode(), token.encode()):
        abort(404)
    return _ics_response(bookings.ical(bookings.feed_bookings(resource_id=resource.id), resource.name, True))


@bp.post("/resources/<int:resource_id>/calendar-token")
@doc("Create or rotate (rotate=true) the secret token of the resource's iCal feed (staff)",
     body=CalendarRotation, response=CalendarTokenOut, responses={201: "{token, url}"})
def resource_calendar_token(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    token = bookings.resource_calendar_token(resource, rotate=read_body(CalendarRotation).rotate)
    return jsonify({"token": token, "url": url_for("resources_api.resource_calendar_feed", resource_id=resource.id,
                                                   token=token, _external=True)}), 201


@bp.get("/bookings/calendar.ics")
@doc("iCalendar feed of one user's bookings, behind their secret token (POST /me/booking-calendar)",
     auth=False, query=FeedQuery)
def user_calendar_feed():
    token = read_query(FeedQuery).token
    row = db.session.scalar(select(BookingCalendar).where(BookingCalendar.token == token)) if token else None
    if row is None:
        abort(404)
    return _ics_response(bookings.ical(bookings.feed_bookings(user_id=row.user_id), _("My bookings"), False))


@bp.post("/me/booking-calendar")
@doc("Create or rotate (rotate=true) the secret token of my bookings' iCal feed", body=CalendarRotation,
     response=CalendarTokenOut, responses={201: "{token, url}"})
def my_calendar_token():
    require_login()
    token = bookings.user_calendar_token(current_user, rotate=read_body(CalendarRotation).rotate)
    return jsonify({"token": token, "url": url_for("resources_api.user_calendar_feed", token=token,
                                                   _external=True)}), 201
