"""Platform administration over the JSON API: organisation verification."""

from flask import jsonify
from flask_login import current_user

from portal.admin.forms import VerificationForm
from portal.api import api_blueprint, doc, json_body, json_bool, parse, require_login
from portal.organisations.api import organisation_json
from portal.organisations.models import Organisation
from portal.organisations.services import set_verification
from portal.permissions import Permission, load

bp = api_blueprint("admin_api", __name__)


@bp.post("/admin/organisations/<int:organisation_id>/verification")
@doc("Verify or unverify an organisation (platform admins); audited with the note", form=VerificationForm,
     responses={200: "The organisation", 403: "Not a platform admin"})
def organisation_verification(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, Permission.ADMIN)
    body = json_body()
    verified = json_bool(body, "verified")  # a JSON boolean here; the HTML form sends "true"/"false"
    form = parse(VerificationForm, body | {"verified": "true" if verified else "false"})
    set_verification(organisation, verified, current_user, form.note.data or "")
    return jsonify(organisation_json(organisation))
