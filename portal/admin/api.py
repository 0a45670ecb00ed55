"""Platform administration over the JSON API: organisation verification."""

from flask import jsonify
from flask_login import current_user

from portal.admin.schemas import Verification
from portal.api import api_blueprint, doc, read_body, require_login
from portal.organisations.api import organisation_json
from portal.organisations.models import Organisation
from portal.organisations.schemas import OrganisationOut
from portal.organisations.services import set_verification
from portal.permissions import Permission, load

bp = api_blueprint("admin_api", __name__)


@bp.post("/admin/organisations/<int:organisation_id>/verification")
@doc("Verify or unverify an organisation (platform admins); audited with the note", body=Verification,
     response=OrganisationOut, responses={200: "The organisation", 403: "Not a platform admin"})
def organisation_verification(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, Permission.ADMIN)
    set_verification(organisation, read_body(Verification), current_user)
    return jsonify(organisation_json(organisation))
