"""The company staff's dashboard panel and the home-page count."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.main.dashboard import Panel, panel, stat
from resources import services
from resources.models import Resource


@panel
def company_resources_panel(user) -> Panel | None:
    companies = services.publishable_organisations(user)
    if not companies:
        return None
    return Panel(_l("Your labs and equipment"), "resources/panels/company.html",
                 {"resources": services.resources_of_member(user), "companies": companies}, order=20)


@stat
def resource_stat() -> tuple[str, int]:
    count = db.session.scalar(select(func.count()).select_from(Resource).where(Resource.published.is_(True)))
    return str(_l("labs and machines")), count or 0


@panel
def upcoming_bookings_panel(user) -> Panel | None:
    from portal.db import utcnow
    from resources.models import OPEN_BOOKING_STATUSES, Booking

    rows = db.session.scalars(select(Booking).where(
        Booking.user_id == user.id, Booking.end_at > utcnow(), Booking.status.in_(OPEN_BOOKING_STATUSES))
        .order_by(Booking.start_at).limit(5)).all()
    if not rows:
        return None
    return Panel(_l("Your upcoming bookings"), "resources/panels/bookings.html", {"bookings": rows}, order=21)
