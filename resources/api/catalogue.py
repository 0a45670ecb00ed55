"""JSON API of resources: catalogue."""


from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import doc, page_args, paged, read_body, read_query, require_login
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.paging import page_of
from portal.permissions import Permission, load, require
from resources import bookings, services
from resources.api.common import bp, resource_json
from resources.models import Resource
from resources.policies import PUBLISH_RESOURCES
from resources.schemas import NewResource, PriceTable, ResourceFilter, ResourceOut


@bp.get("/resources")
@doc("List published labs and equipment with their public prices", auth=False, query=ResourceFilter,
     response=ResourceOut)
def resource_list():
    args = read_query(ResourceFilter)
    stmt = services.resources_query(kind=args.kind, city=args.city, organisation_id=args.organisation_id,
                                    viewer=current_user)
    found = page_of(stmt, *page_args())
    ratings = bookings.ratings_of([r.id for r in found.items])  # one grouped statement for the page
    return jsonify(paged([resource_json(r, ratings[r.id]) for r in found.items], found.total, found.page,
                         found.per_page))


@bp.post("/resources")
@doc("Publish a resource with its prices (minor units, e.g. fen) and opening hours (local time); "
     "company staff of that organisation only. Optional: address, capacity, terms_text, "
     "specifications (an object of names and values), published (default true; false saves a draft).",
     body=NewResource, response=ResourceOut,
     responses={201: "Published", 400: "A field is not valid (named in error.fields)",
                403: "Not staff of that anchor company",
                409: "organisation_unverified: publishing waits until the company is verified"})
def resource_create():
    require_login()
    cmd = read_body(NewResource)
    organisation = db.session.get(Organisation, cmd.organisation_id)
    if organisation is None:
        raise ValidationFailed.field("organisation_id", _("No such organisation."))
    require(PUBLISH_RESOURCES, organisation)
    resource = services.create_resource(organisation, cmd, current_user)
    return jsonify(resource_json(resource)), 201


@bp.get("/resources/<int:resource_id>")
@doc("One resource with its public price table and opening hours", auth=False, response=ResourceOut)
def resource_get(resource_id: int):
    return jsonify(resource_json(load(Resource, resource_id, Permission.VIEW)))


@bp.put("/resources/<int:resource_id>/prices")
@doc("Replace the public price table (company staff)", body=PriceTable, response=ResourceOut,
     responses={200: "Saved; the resource with its new prices"})
def resource_prices_update(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    services.update_prices(resource, read_body(PriceTable), current_user)
    return jsonify(resource_json(resource))
