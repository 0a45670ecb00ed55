from flask import jsonify
from flask_login import current_user

from portal.api import api_blueprint, doc, read_body, require_login
from portal.auth import services
from portal.auth.models import ApiToken
from portal.auth.schemas import Registration, TokenCreatedOut, TokenOut, TokenRequest, UserOut
from portal.errors import Unauthorized
from portal.extensions import login_budget, register_budget
from portal.permissions import Permission, load

bp = api_blueprint("auth_api", __name__)


def user_json(user, with_organisations: bool = False) -> dict:
    data = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": user.roles,
        "locale": user.locale,
        "email_confirmed": user.is_confirmed,
    }
    if with_organisations:
        from portal.organisations.services import memberships_of

        data["organisations"] = [
            {"id": m.organisation.id, "name": m.organisation.name, "kind": m.organisation.kind, "role": m.role}
            for m in memberships_of(user)
        ]
    return data


@bp.post("/auth/register")
@register_budget
@doc("Register an account; a confirmation link is mailed", body=Registration, response=UserOut, auth=False,
     responses={201: "The new user", 409: "Email already registered"})
def register():
    user = services.register_user(read_body(Registration))
    return jsonify(user_json(user, with_organisations=True)), 201


@bp.post("/auth/tokens")
@login_budget
@doc("Exchange email and password for a personal API token (shown once)", body=TokenRequest,
     response=TokenCreatedOut, auth=False, responses={201: "{id, token}", 401: "Wrong credentials"})
def token_create():
    cmd = read_body(TokenRequest)
    user = services.authenticate(cmd)
    if user is None:
        raise Unauthorized("Wrong email or password")
    token, raw = services.create_api_token(user, cmd.name)
    return jsonify({"id": token.id, "token": raw, "name": token.name}), 201


@bp.get("/auth/tokens")
@doc("List the caller's active API tokens (never the secrets)", response=TokenOut)
def token_list():
    require_login()
    return jsonify({"items": [
        {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at.isoformat(),
         "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None}
        for t in services.active_tokens(current_user)]})


@bp.delete("/auth/tokens/<int:token_id>")
@doc("Revoke an API token", responses={204: "Revoked"})
def token_delete(token_id: int):
    require_login()
    token = load(ApiToken, token_id, Permission.EDIT)
    services.revoke_api_token(token)
    return "", 204


@bp.get("/me")
@doc("The current user with roles and organisations", response=UserOut)
def me():
    require_login()
    return jsonify(user_json(current_user, with_organisations=True))
