"""The resources API blueprint and the serializers and argument readers its modules share."""


from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_blueprint, iso
from portal.errors import ValidationFailed
from portal.permissions import Permission, can
from resources import bookings
from resources.models import Resource

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


def int_filter(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed.field(name, _("Must be a whole number.")) from None


def window_arg(name: str, default: datetime) -> datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    errors: dict = {}
    moment = bookings.parse_moment(raw, name, ZoneInfo("UTC"), errors)
    if moment is None:
        raise ValidationFailed("Some fields are not valid", errors)
    return moment
