from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.api import api_blueprint, doc, paginate, parse, require_login
from portal.organisations import services
from portal.organisations.forms import MemberForm, OrganisationForm
from portal.organisations.models import Invitation, Organisation
from portal.permissions import Permission, load

bp = api_blueprint("organisations_api", __name__)


def organisation_json(organisation: Organisation) -> dict:
    data = {
        "id": organisation.id,
        "name": organisation.name,
        "kind": organisation.kind,
        "description": organisation.description,
        "city": organisation.city,
        "website": organisation.website,
        "verified": organisation.is_verified,
    }
    if current_user.is_authenticated and services.role_in(current_user, organisation.id) is not None:
        data["members"] = [
            {"user_id": m.user_id, "name": m.user.name, "email": m.user.email, "role": m.role}
            for m in organisation.memberships
        ]
    return data


@bp.get("/organisations")
@doc("List organisations", auth=False, query={"kind": "startup or company"})
def organisation_list():
    from flask import request

    stmt = select(Organisation).order_by(Organisation.name)
    if request.args.get("kind"):
        stmt = stmt.where(Organisation.kind == request.args["kind"])
    return jsonify(paginate(stmt, organisation_json))


@bp.post("/organisations")
@doc("Create an organisation; the caller becomes its owner", form=OrganisationForm)
def organisation_create():
    require_login()
    form = parse(OrganisationForm)
    organisation = services.create_organisation(current_user, form.name.data, form.kind.data,
                                                form.description.data, form.city.data, form.website.data)
    return jsonify(organisation_json(organisation)), 201


@bp.get("/organisations/<int:organisation_id>")
@doc("One organisation (members are listed for members)", auth=False)
def organisation_get(organisation_id: int):
    return jsonify(organisation_json(load(Organisation, organisation_id, Permission.VIEW)))


@bp.post("/organisations/<int:organisation_id>/members")
@doc("Add a member by email (owners only); unknown addresses are invited by mail", form=MemberForm,
     responses={201: "Member added or invited", 409: "Already a member or invited"})
def member_add(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, Permission.MANAGE)
    form = parse(MemberForm)
    result = services.add_member(organisation, form.email.data, form.role.data, current_user)
    if isinstance(result, Invitation):
        return jsonify({"status": "invited", "email": result.email, "role": result.role}), 201
    return jsonify({"status": "added", "user_id": result.user_id, "role": result.role}), 201


