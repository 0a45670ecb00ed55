"""Issue 10 for the core: accounts, organisations and administration read typed commands, answer what
their response models say, and a refusal a page handles leaves nothing behind."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from portal import audit, jobs
from portal.auth.schemas import TokenCreatedOut, TokenOut, UserOut
from portal.db import attempt
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations import services as organisations
from portal.organisations.models import Invitation, Organisation
from portal.organisations.schemas import InvitationOut, OrganisationOut
from tests.conftest import PASSWORD


def exactly(model: type[BaseModel], body: dict) -> BaseModel:
    """`body` is valid for `model` and has no key the model does not describe (nested models too)."""
    parsed = model.model_validate(body)
    undescribed = set(body) - set(model.model_fields)
    assert not undescribed, f"{model.__name__} does not describe {undescribed}"
    for name, value in body.items():
        nested = getattr(parsed, name)
        if isinstance(nested, BaseModel) and isinstance(value, dict):
            exactly(type(nested), value)
        elif isinstance(nested, list) and nested and isinstance(nested[0], BaseModel):
            for item_model, item in zip(nested, value, strict=True):
                exactly(type(item_model), item)
    return parsed


def fields(response) -> set[str]:
    assert response.status_code == 400, response.get_data(as_text=True)
    return set(response.get_json()["error"]["fields"])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# ---- typed refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"email": ["a"], "password": "a-long-password-1", "name": "A", "roles": ["founder"]}, "email"),
    ({"email": "a@example.com", "password": 1234567890123, "name": "A", "roles": ["founder"]}, "password"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": True, "roles": ["founder"]}, "name"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": "A", "roles": "founder"}, "roles"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": "A", "roles": ["admin"]}, "roles"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": "A", "roles": []}, "roles"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": "A", "roles": ["founder"],
      "locale": "xx"}, "locale"),
    ({"email": "a@example.com", "password": "a-long-password-1", "name": "A\nB", "roles": ["founder"]}, "name"),
])
def test_registration_refuses_the_wrong_types_naming_the_field(client, body, field):
    before = count(Organisation), db.session.scalar(select(func.count()).select_from(audit.AuditEvent))
    assert field in fields(client.post("/api/v1/auth/register", json=body))
    assert (count(Organisation), db.session.scalar(select(func.count()).select_from(audit.AuditEvent))) == before


def test_token_and_organisation_bodies_are_typed(client, factories, bearer):
    user = factories.UserFactory()
    assert fields(client.post("/api/v1/auth/tokens", json={"email": 5, "password": PASSWORD})) == {"email"}
    assert fields(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": [PASSWORD]})) == {
        "password"}
    headers = bearer(user)
    assert fields(client.post("/api/v1/organisations", headers=headers, json={"name": 5, "kind": "startup"})) == {
        "name"}
    assert fields(client.post("/api/v1/organisations", headers=headers,
                              json={"name": "A", "kind": "startup", "website": "javascript:alert(1)"})) == {"website"}
    assert fields(client.post("/api/v1/organisations", headers=headers,
                              json={"name": "A", "kind": "startup", "city": {"a": 1}})) == {"city"}
    assert fields(client.get("/api/v1/organisations", query_string={"kind": "guild"})) == {"kind"}
    organisation = factories.OrganisationFactory(owner=user)
    url = f"/api/v1/organisations/{organisation.id}/members"
    assert fields(client.post(url, headers=headers, json={"email": "x@example.com", "role": "boss"})) == {"role"}
    assert fields(client.post(url, headers=headers, json={"email": ["x@example.com"], "role": "member"})) == {
        "email"}
    assert count(Invitation) == 0


def test_verification_takes_a_json_boolean(client, factories, bearer):
    admin = factories.UserFactory(roles=["admin"])
    company = factories.OrganisationFactory(kind="company", verified_at=None)
    url = f"/api/v1/admin/organisations/{company.id}/verification"
    for verified in ("true", 1, None, ["true"]):
        assert fields(client.post(url, headers=bearer(admin), json={"verified": verified})) == {"verified"}
    assert fields(client.post(url, headers=bearer(admin), json={"verified": True, "note": 7})) == {"note"}
    response = client.post(url, headers=bearer(admin), json={"verified": True, "note": "checked the licence"})
    assert response.status_code == 200 and exactly(OrganisationOut, response.get_json()).verified is True


@pytest.mark.parametrize("args, field", [
    ({"price_min": 2**31}, "price_min"), ({"rating": "nan"}, "rating"), ({"rating": 6}, "rating"),
    ({"free_from": "tomorrow"}, "free_from"), ({"per_page": 0}, "per_page"), ({"limit": 21}, None),
])
def test_search_query_strings_are_typed(client, args, field):
    if field is None:
        assert fields(client.get("/api/v1/search/suggest", query_string={"q": "la", **args})) == {"limit"}
    else:
        assert fields(client.get("/api/v1/search", query_string=args)) == {field}


# ---- response models match the serialisers ---------------------------------------------------------

def test_account_responses_match_their_models(client, factories, bearer):
    registered = client.post("/api/v1/auth/register", json={
        "email": "Model@Example.com", "password": "a-long-password-1", "name": " Model ", "roles": ["founder"],
        "locale": "zh_CN"})
    assert registered.status_code == 201
    user = exactly(UserOut, registered.get_json())
    assert (user.email, user.name, user.roles, user.locale, user.organisations) == (
        "model@example.com", "Model", ["founder"], "zh_CN", [])
    created = client.post("/api/v1/auth/tokens", json={"email": "model@example.com", "password": "a-long-password-1"})
    assert created.status_code == 201
    token = exactly(TokenCreatedOut, created.get_json())
    headers = {"Authorization": f"Bearer {token.token}"}
    listed = client.get("/api/v1/auth/tokens", headers=headers).get_json()
    assert [exactly(TokenOut, item).id for item in listed["items"]] == [token.id]
    owner = factories.UserFactory()
    factories.OrganisationFactory(owner=owner, name="Model Works")
    me = exactly(UserOut, client.get("/api/v1/me", headers=bearer(owner)).get_json())
    assert [o.name for o in me.organisations] == ["Model Works"]


def test_organisation_responses_match_their_models(client, factories, bearer, mail_outbox):
    owner, invitee = factories.UserFactory(), factories.UserFactory(locale="zh_CN")
    created = client.post("/api/v1/organisations", headers=bearer(owner), json={
        "name": " 净风科技 AirCare ", "kind": "startup", "website": "https://aircare.example.com"})
    assert created.status_code == 201
    organisation = exactly(OrganisationOut, created.get_json())
    assert organisation.name == "净风科技 AirCare" and organisation.members[0].role == "owner"
    public = exactly(OrganisationOut, client.get(f"/api/v1/organisations/{organisation.id}").get_json())
    assert public.members is None
    for item in client.get("/api/v1/organisations", query_string={"kind": "startup"}).get_json()["items"]:
        assert exactly(OrganisationOut, item).kind == "startup"
    invited = client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                          json={"email": invitee.email.upper(), "role": "member"})
    assert invited.status_code == 201
    invitation = exactly(InvitationOut, invited.get_json())
    assert (invitation.status, invitation.email) == ("invited", invitee.email)
    assert mail_outbox[-1]["To"] == invitee.email and "邀请" in mail_outbox[-1]["Subject"]  # their language
    stranger = "nobody-yet@example.com"
    client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                json={"email": stranger, "role": "owner"})
    assert mail_outbox[-1]["To"] == stranger  # an address without an account is mailed too (in English)
    mine = client.get("/api/v1/me/invitations", headers=bearer(invitee)).get_json()
    assert [exactly(InvitationOut, item).id for item in mine["items"]] == [invitation.id]
    accepted = client.post(f"/api/v1/invitations/{invitation.id}/accept", headers=bearer(invitee))
    assert exactly(InvitationOut, accepted.get_json()).status == "accepted"


# ---- a refusal the page handles leaves nothing behind ---------------------------------------------------

def test_a_refused_service_call_caught_by_a_page_leaves_no_row(client, factories, login, monkeypatch):
    """The service flushes the organisation (and its audit row), then refuses; the page shows the form
    again with the error (200, which commits): nothing of the refused call may be committed."""
    real = organisations.create_organisation

    def flush_then_refuse(owner, cmd):
        real(owner, cmd)
        raise ValidationFailed.field("name", "refused after the flush")

    monkeypatch.setattr(organisations, "create_organisation", flush_then_refuse)
    login(factories.UserFactory())
    events = db.session.scalar(select(func.count()).select_from(audit.AuditEvent))
    response = client.post("/organisations/new", data={"name": "Half Made", "kind": "startup"})
    assert response.status_code == 200 and "refused after the flush" in response.get_data(as_text=True)
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Half Made")) is None
    assert db.session.scalar(select(func.count()).select_from(audit.AuditEvent)) == events


def test_a_refused_invitation_sends_no_mail(client, factories, login, monkeypatch, mail_outbox):
    real = organisations.add_member

    def invite_then_refuse(organisation, cmd, inviter):
        real(organisation, cmd, inviter)  # flushes the invitation and queues its mail
        raise Conflict("refused after the mail was queued", {"email": ["no"]})

    monkeypatch.setattr(organisations, "add_member", invite_then_refuse)
    owner = login(factories.UserFactory())
    organisation = factories.OrganisationFactory(owner=owner)
    response = client.post(f"/organisations/{organisation.id}", data={"email": "new@example.com", "role": "member"})
    assert response.status_code == 200 and "no" in response.get_data(as_text=True)
    assert count(Invitation) == 0 and mail_outbox == []


def test_attempt_keeps_what_came_before_the_call(app, db_session, factories):
    owner = factories.UserFactory()
    kept = factories.OrganisationFactory(owner=owner, name="Kept")
    jobs.enqueue("portal.mail.deliver", "kept@example.com", "s", "b")
    with pytest.raises(ValidationFailed):
        with attempt():
            factories.OrganisationFactory(owner=owner, name="Dropped")
            jobs.enqueue("portal.mail.deliver", "dropped@example.com", "s", "b")
            raise ValidationFailed.field("name", "no")
    names = set(db.session.scalars(select(Organisation.name)))
    assert "Kept" in names and "Dropped" not in names and kept.name == "Kept"
    assert [job.args[0] for job in db.session.info[jobs.PENDING]] == ["kept@example.com"]
    with attempt():
        factories.OrganisationFactory(owner=owner, name="Also kept")
    assert "Also kept" in set(db.session.scalars(select(Organisation.name)))
    db.session.info.pop(jobs.PENDING, None)


def test_the_documented_response_schemas_are_the_models(client):
    """A core answer that carries `items` next to other keys is one object (SearchOut), not a list of them."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    def schema(path, method="get", status="200"):
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert schema("/search") == {"$ref": "#/components/schemas/SearchOut"}
    assert schema("/search/suggest") == {"$ref": "#/components/schemas/SuggestOut"}
    assert schema("/me") == {"$ref": "#/components/schemas/UserOut"}
    assert schema("/auth/register", "post", "201") == {"$ref": "#/components/schemas/UserOut"}
    assert schema("/organisations/{organisation_id}") == {"$ref": "#/components/schemas/OrganisationOut"}
    assert schema("/organisations")["properties"]["items"]["items"] == {"$ref": "#/components/schemas/OrganisationOut"}
    assert schema("/auth/tokens")["properties"]["items"]["items"] == {"$ref": "#/components/schemas/TokenOut"}
