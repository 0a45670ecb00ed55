from sqlalchemy import func, select

from portal.extensions import db
from portal.organisations.models import Invitation, Membership, Organisation
from tests.conftest import link_in


def test_creating_an_organisation_makes_the_caller_owner(client, factories, bearer):
    user = factories.UserFactory()
    response = client.post("/api/v1/organisations", headers=bearer(user),
                           json={"name": "净风科技 AirCare", "kind": "startup", "city": "青岛"})
    assert response.status_code == 201
    assert response.json["members"] == [
        {"user_id": user.id, "name": user.name, "email": user.email, "role": "owner"}]


def test_organisation_input_is_validated_and_nothing_written(client, factories, bearer):
    headers = bearer(factories.UserFactory())
    before = db.session.scalar(select(func.count(Organisation.id)))
    response = client.post("/api/v1/organisations", headers=headers, json={"name": "", "kind": "guild"})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"name", "kind"}
    assert db.session.scalar(select(func.count(Organisation.id))) == before


def test_only_owners_invite_and_nobody_joins_without_accepting(client, factories, bearer, mail_outbox):
    owner, member, outsider, newcomer = (factories.UserFactory() for _ in range(4))
    organisation = factories.OrganisationFactory(owner=owner)
    factories.MembershipFactory(organisation=organisation, user=member)
    url = f"/api/v1/organisations/{organisation.id}/members"
    assert client.post(url, headers=bearer(outsider), json={"email": newcomer.email, "role": "member"}).status_code == 403
    assert client.post(url, headers=bearer(member), json={"email": newcomer.email, "role": "member"}).status_code == 403
    assert client.post(url, json={"email": newcomer.email, "role": "member"}).status_code == 401
    assert client.post("/api/v1/organisations/999999/members", headers=bearer(owner),
                       json={"email": newcomer.email, "role": "member"}).status_code == 404
    invited = client.post(url, headers=bearer(owner), json={"email": newcomer.email, "role": "member"})
    assert invited.status_code == 201 and invited.json["status"] == "invited" and invited.json["id"]
    assert mail_outbox[-1]["To"] == newcomer.email
    again = client.post(url, headers=bearer(owner), json={"email": newcomer.email, "role": "member"})
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert client.get("/api/v1/me", headers=bearer(newcomer)).json["organisations"] == []  # not yet

    mine = client.get("/api/v1/me/invitations", headers=bearer(newcomer)).json["items"]
    assert [(i["id"], i["organisation"]["id"], i["role"], i["status"]) for i in mine] == [
        (invited.json["id"], organisation.id, "member", "invited")]
    accept = f"/api/v1/invitations/{invited.json['id']}/accept"
    assert client.post(accept, headers=bearer(outsider)).status_code == 403  # the invitee only
    assert client.post("/api/v1/invitations/999999/accept", headers=bearer(newcomer)).status_code == 404
    accepted = client.post(accept, headers=bearer(newcomer))
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    me = client.get("/api/v1/me", headers=bearer(newcomer)).json
    assert me["organisations"][0]["id"] == organisation.id and me["organisations"][0]["role"] == "member"
    assert client.post(accept, headers=bearer(newcomer)).status_code == 409


def test_an_invitee_may_decline(client, factories, bearer):
    owner, invitee = factories.UserFactory(), factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner)
    invited = client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                          json={"email": invitee.email, "role": "owner"}).json
    declined = client.post(f"/api/v1/invitations/{invited['id']}/decline", headers=bearer(invitee))
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=bearer(invitee)).status_code == 409
    assert db.session.scalar(select(Membership).where(Membership.user_id == invitee.id)) is None
    # Declining does not block a later invitation.
    assert client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                       json={"email": invitee.email, "role": "member"}).status_code == 201


def test_invitations_show_on_the_dashboard_and_are_answered_there(client, factories, bearer, login):
    owner = factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner, name="GreenBrew Labs")
    invitee = factories.UserFactory()
    invited = client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                          json={"email": invitee.email, "role": "member"}).json
    login(invitee)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "GreenBrew Labs" in dashboard and f"/organisations/invitations/{invited['id']}/accept" in dashboard
    assert client.post(f"/organisations/invitations/{invited['id']}/accept").status_code == 302
    assert db.session.scalar(select(Membership.role).where(Membership.user_id == invitee.id)) == "member"


def test_unknown_addresses_are_invited_by_mail_and_can_accept(client, factories, bearer, login, mail_outbox):
    owner = factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner, name="GreenBrew")
    response = client.post(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(owner),
                           json={"email": "Invitee@Example.com", "role": "owner"})
    assert response.status_code == 201
    assert (response.json["status"], response.json["email"], response.json["role"]) == (
        "invited", "invitee@example.com", "owner")
    invitation_mail = mail_outbox[-1]
    assert invitation_mail["To"] == "invitee@example.com"
    path = link_in(invitation_mail, "/organisations/invitations/")
    accept = f"/organisations/invitations/{response.json['id']}/accept"

    login(factories.UserFactory(email="someone-else@example.com"))
    wrong = client.get(path, follow_redirects=True)
    assert "sent to another email address" in wrong.get_data(as_text=True)
    assert client.post(accept).status_code == 403
    client.post("/auth/logout")

    invitee = login(factories.UserFactory(email="invitee@example.com"))
    assert "GreenBrew" in client.get(path).get_data(as_text=True)
    assert client.post(accept).status_code == 302
    membership = db.session.scalar(select(Membership).where(Membership.user_id == invitee.id))
    assert membership.organisation_id == organisation.id and membership.role == "owner"
    assert db.session.scalar(select(Invitation.accepted_at).where(Invitation.email == "invitee@example.com"))
    reused = client.get(path, follow_redirects=True)
    assert "not valid or has expired" in reused.get_data(as_text=True)


def test_members_list_is_shown_to_members_only(client, factories, login):
    owner = factories.UserFactory(name="Owner Person")
    organisation = factories.OrganisationFactory(owner=owner)
    public = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert organisation.name in public and owner.email not in public
    login(owner)
    assert owner.email in client.get(f"/organisations/{organisation.id}").get_data(as_text=True)


def test_edit_page_goes_through_the_permission_helper(client, factories, login):
    owner, outsider = factories.UserFactory(), factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner)
    login(outsider)
    assert client.get(f"/organisations/{organisation.id}/edit").status_code == 403
    assert client.get("/organisations/424242/edit").status_code == 404
    client.post("/auth/logout")
    login(owner)
    response = client.post(f"/organisations/{organisation.id}/edit",
                           data={"name": "Renamed", "city": "Qingdao", "description": "", "website": ""})
    assert response.status_code == 302 and organisation.name == "Renamed"


def test_the_last_owner_cannot_be_removed(client, factories, login):
    owner = factories.UserFactory()
    organisation = factories.OrganisationFactory(owner=owner)
    membership = organisation.memberships[0]
    login(owner)
    response = client.post(f"/organisations/{organisation.id}/members/{membership.id}/remove", follow_redirects=True)
    assert "at least one owner" in response.get_data(as_text=True)
    assert db.session.get(Membership, membership.id) is not None


def test_html_organisation_creation(client, factories, login):
    login(factories.UserFactory())
    response = client.post("/organisations/new", data={"name": "Shunde Makers", "kind": "company", "city": "Foshan",
                                                       "description": "Prototyping", "website": ""})
    assert response.status_code == 302
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == "Shunde Makers"))
    assert organisation.kind == "company"
    invalid = client.post("/organisations/new", data={"name": "", "kind": "company", "website": "not a url"})
    assert invalid.status_code == 200 and "is-invalid" in invalid.get_data(as_text=True)
