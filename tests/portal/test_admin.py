from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db


def test_only_admins_enter_the_admin_area(client, factories, login):
    assert client.get("/admin/").status_code == 302  # to the login page
    login(factories.UserFactory(roles=["founder", "company"]))
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_admin_grants_and_revokes_roles(client, factories, login):
    admin = login(factories.UserFactory(roles=["admin"]))
    person = factories.UserFactory(roles=["backer"], name="Li Lei")
    page = client.get("/admin/users?q=li lei").get_data(as_text=True)
    assert person.email in page and admin.email not in page
    client.post(f"/admin/users/{person.id}/roles", data={"role": "mentor", "action": "grant"})
    assert person.roles == ["backer", "mentor"]
    client.post(f"/admin/users/{person.id}/roles", data={"role": "backer", "action": "revoke"})
    assert person.roles == ["mentor"]
    own = client.post(f"/admin/users/{admin.id}/roles", data={"role": "admin", "action": "revoke"},
                      follow_redirects=True)
    assert "cannot remove your own admin role" in own.get_data(as_text=True)
    assert admin.is_admin


def test_deactivated_people_cannot_use_their_tokens(client, factories, login, bearer):
    person = factories.UserFactory()
    headers = bearer(person)
    login(factories.UserFactory(roles=["admin"]))
    client.post(f"/admin/users/{person.id}/active")
    assert db.session.get(User, person.id).is_active_account is False
    assert client.application.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_admin_verifies_companies_and_sees_the_audit_chain(client, factories, login):
    login(factories.UserFactory(roles=["admin"]))
    company = factories.OrganisationFactory(kind="company", name="Shunde Makers", verified_at=None)
    overview = client.get("/admin/").get_data(as_text=True)
    assert "Shunde Makers" in overview and "data-chart" in overview and "chart.umd.min.js" in overview
    client.post(f"/admin/organisations/{company.id}/verification", data={"verified": "true",
                                                                        "note": "business licence checked"})
    assert company.is_verified
    assert "verified-badge" in client.get(f"/organisations/{company.id}").get_data(as_text=True)
    audit_page = client.get("/admin/audit?verify=1").get_data(as_text=True)
    assert "organisation.verified" in audit_page and "Chain intact" in audit_page


def test_verification_api_is_for_admins_and_audited(client, factories, bearer):
    from portal import audit

    admin = factories.UserFactory(roles=["admin"])
    staff = factories.UserFactory(roles=["company"])
    company = factories.OrganisationFactory(kind="company", owner=staff, verified_at=None)
    url = f"/api/v1/admin/organisations/{company.id}/verification"
    assert client.post(url, json={"verified": True}).status_code == 401
    assert client.post(url, headers=bearer(staff), json={"verified": True}).status_code == 403
    assert client.post(url, headers=bearer(admin), json={"verified": "maybe"}).status_code == 400
    assert client.post(url, headers=bearer(admin), json={}).status_code == 400
    done = client.post(url, headers=bearer(admin), json={"verified": True, "note": "licence 9137"})
    assert done.status_code == 200 and done.json["verified"] is True
    withdrawn = client.post(url, headers=bearer(admin), json={"verified": False, "note": "licence revoked"})
    assert withdrawn.status_code == 200 and withdrawn.json["verified"] is False
    actions = [(e.action, (e.after or {}).get("note")) for e in db.session.scalars(
        select(audit.AuditEvent).where(audit.AuditEvent.object_id == str(company.id),
                                       audit.AuditEvent.action.like("organisation.%verified"))
        .order_by(audit.AuditEvent.id))]
    assert actions == [("organisation.verified", "licence 9137"), ("organisation.unverified", "licence revoked")]
