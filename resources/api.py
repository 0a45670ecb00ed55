"""JSON API for resources: publish (company staff), list and read (public, prices included)."""

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_blueprint, doc, iso, json_body, paginate, parse, require_login
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.permissions import Permission, can, load, require
from resources import services
from resources.forms import PricesForm, ResourceForm
from resources.models import Resource, ResourceKind
from resources.policies import PUBLISH_RESOURCES

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
     "specifications (an object of names and values).", form=ResourceForm,
     responses={201: "Published", 400: "A field is not valid (named in error.fields)",
                403: "Not staff of that anchor company"})
def resource_create():
    require_login()
    body = json_body()
    specifications = body.pop("specifications", None)
    body.pop("specifications_text", None)
    form = parse(ResourceForm, body)
    organisation = db.session.get(Organisation, form.organisation_id.data)
    if organisation is None:
        raise ValidationFailed.field("organisation_id", _("No such organisation."))
    require(PUBLISH_RESOURCES, organisation)
    data = form.resource_data()
    data["specifications"] = specifications
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
