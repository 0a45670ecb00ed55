"""The resources API blueprint and the serializers and windows its modules share."""


from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_blueprint, iso
from portal.errors import ValidationFailed
from portal.permissions import Permission, can
from resources import bookings
from resources.models import Resource
from resources.schemas import in_utc

bp = api_blueprint("resources_api", __name__)


def resource_json(resource: Resource, rating: dict | None = None) -> dict:
    """A resource as the API shows it; `rating`: from `bookings.ratings_of` when a list asked for a page."""
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
        "rating": rating if rating is not None else bookings.rating_of(resource.id),
        "photos": [url_for("resources.photo", resource_id=resource.id, photo_id=p.id) for p in resource.photos],
        "opening_hours": [h.as_dict() for h in resource.opening_hours],
        "created_at": iso(resource.created_at),
    }
    if can(current_user, Permission.EDIT, resource):
        data["can_edit"] = True
    return data


def window(start: datetime | None, end: datetime | None, *, default_start: datetime,
           default_end: Callable[[datetime], datetime], max_days: int,
           message: str | None = None) -> tuple[datetime, datetime]:
    """The window [start, end) a query asks for (`from`, `to`; without an offset in UTC), with defaults; 400
    naming `to` when it ends before it starts or is longer than `max_days`."""
    start = in_utc(start, UTC) or default_start
    end = in_utc(end, UTC) or default_end(start)
    if end <= start:
        raise ValidationFailed.field("to", message or _("The end must be after the start."))
    if end - start > timedelta(days=max_days):
        raise ValidationFailed.field("to", message or _("At most %(n)d days at a time.", n=max_days))
    return start, end
