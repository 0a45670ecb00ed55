"""JSON API of resources: catalogue."""


from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import doc, json_body, json_bool, paginate, parse, require_login
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.permissions import Permission, load, require
from resources import services
from resources.api.common import bp, int_filter, resource_json
from resources.forms import PricesForm, ResourceForm
from resources.models import Resource, ResourceKind
from resources.policies import PUBLISH_RESOURCES


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
                                    organisation_id=int_filter("organisation_id"), viewer=current_user)
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
