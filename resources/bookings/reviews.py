"""Reviews of completed bookings and resource ratings."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.auth.models import User
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from resources.models import Booking, BookingStatus, Review
from resources.schemas import NewReview

# ---- reviews -----------------------------------------------------------------------------------

def add_review(booking: Booking, user: User, cmd: NewReview) -> Review:
    """The booker rates a completed booking once (1-5, with an optional comment)."""
    if booking.user_id != user.id:
        raise ValidationFailed.field("booking", _("Only the booker can review a booking."))
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(_("Only completed bookings can be reviewed."), {"status": [booking.status]})
    if db.session.scalar(select(Review.id).where(Review.booking_id == booking.id)):
        raise Conflict(_("You already reviewed this booking."), {"booking": [_("already reviewed")]})
    review = Review(booking_id=booking.id, resource_id=booking.resource_id, user_id=user.id, rating=cmd.rating,
                    comment=cmd.comment)
    db.session.add(review)
    db.session.flush()
    return review


def rating_of(resource_id: int) -> dict[str, Any]:
    return ratings_of([resource_id])[resource_id]


def ratings_of(resource_ids: list[int]) -> dict[int, dict[str, Any]]:
    """`rating_of` for many resources in one grouped statement (a list page asks once, not per row)."""
    found = {row_id: (average, count) for row_id, average, count in db.session.execute(
        select(Review.resource_id, func.avg(Review.rating), func.count(Review.id))
        .where(Review.resource_id.in_(resource_ids)).group_by(Review.resource_id))} if resource_ids else {}
    return {row_id: {"average": round(float(found[row_id][0]), 2) if row_id in found else None,
                     "count": found[row_id][1] if row_id in found else 0} for row_id in resource_ids}
