"""Projects: who sees drafts, creating through the API, submitting once."""

from __future__ import annotations

from sqlalchemy import func, select

from incubation.models import Project, ProjectStatus
from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from tests.incubation.factories import ProjectFactory


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _startup_with_founder(factories):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    return founder, startup


def test_draft_is_invisible_to_other_users_in_pages_and_api(client, factories, login, bearer):
    founder, startup = _startup_with_founder(factories)
    draft = ProjectFactory(organisation=startup, title="Secret draft ventilator", status=ProjectStatus.DRAFT)
    ProjectFactory(organisation=startup, title="Public composter", status=ProjectStatus.SUBMITTED)
    stranger = factories.UserFactory(roles=[Role.FOUNDER, Role.BACKER])

    # anonymous
    page = client.get("/projects/").get_data(as_text=True)
    assert "Public composter" in page and "Secret draft ventilator" not in page
    assert client.get(f"/api/v1/projects/{draft.id}").status_code == 401
    titles = [p["title"] for p in client.get("/api/v1/projects").json["items"]]
    assert "Public composter" in titles and "Secret draft ventilator" not in titles

    # another logged-in user
    headers = bearer(stranger)
    assert client.get(f"/api/v1/projects/{draft.id}", headers=headers).status_code == 403
    listed = client.get("/api/v1/projects?status=draft", headers=headers).json
    assert listed["total"] == 0 and listed["items"] == []
    login(stranger)
    assert client.get(f"/projects/{draft.id}").status_code == 403
    assert "Secret draft ventilator" not in client.get("/projects/").get_data(as_text=True)


def test_members_and_admins_see_their_drafts(client, factories, login, bearer):
    founder, startup = _startup_with_founder(factories)
    draft = ProjectFactory(organisation=startup, title="Secret draft ventilator", status=ProjectStatus.DRAFT)
    admin = factories.UserFactory(roles=[Role.ADMIN])

    response = client.get(f"/api/v1/projects/{draft.id}", headers=bearer(founder))
    assert response.status_code == 200 and response.json["status"] == "draft"
    assert [p["id"] for p in client.get("/api/v1/projects", headers=bearer(founder)).json["items"]] == [draft.id]
    assert client.get(f"/api/v1/projects/{draft.id}", headers=bearer(admin)).status_code == 200

    login(founder)
    page = client.get("/projects/").get_data(as_text=True)
    assert "Secret draft ventilator" in page
    detail = client.get(f"/projects/{draft.id}").get_data(as_text=True)
    assert "Submit for screening" in detail


def test_create_project_through_the_api(client, factories, bearer):
    founder, startup = _startup_with_founder(factories)
    response = client.post("/api/v1/projects", headers=bearer(founder), json={
        "organisation_id": startup.id, "title": "静音智能新风机 Quiet Ventilator", "summary": "23 dB fresh air",
        "industry": "Smart home", "stage": "prototype", "mode": "crowdfunding",
        "description": "Wall-mounted, H13 filter", "funding_sought": {"amount": 150000000, "currency": "CNY"}})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "draft"
    assert body["funding_sought"] == {"amount": 150000000, "currency": "CNY"}
    assert body["organisation_id"] == startup.id and body["description"] == "Wall-mounted, H13 filter"
    project = db.session.get(Project, body["id"])
    assert project.title == "静音智能新风机 Quiet Ventilator"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "project.created",
                                                      AuditEvent.object_id == str(project.id))) is not None


def test_create_project_refuses_non_members_and_writes_nothing(client, factories, bearer):
    _founder, startup = _startup_with_founder(factories)
    outsider = factories.UserFactory(roles=[Role.FOUNDER])
    before = _count(Project)
    response = client.post("/api/v1/projects", headers=bearer(outsider), json={
        "organisation_id": startup.id, "title": "Not mine", "summary": "x", "industry": "x",
        "stage": "idea", "mode": "open_source"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert _count(Project) == before
    # anonymous
    assert client.post("/api/v1/projects", json={"organisation_id": startup.id}).status_code == 401


def test_create_project_with_bad_input_names_the_fields_and_writes_nothing(client, factories, bearer):
    founder, startup = _startup_with_founder(factories)
    headers = bearer(founder)
    before = _count(Project)
    response = client.post("/api/v1/projects", headers=headers, json={
        "organisation_id": startup.id, "summary": "x", "industry": "x", "stage": "someday", "mode": "open_source",
        "funding_sought": {"amount": -5, "currency": "CNY"}})
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert {"title", "stage", "funding_sought.amount"} <= set(error["fields"])
    assert _count(Project) == before

    not_json = client.post("/api/v1/projects", headers=headers, data="title=x",
                           content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 400
    assert _count(Project) == before


def test_projects_belong_to_startups_not_companies(client, factories, bearer):
    staff = factories.UserFactory(roles=[Role.COMPANY])
    company = factories.OrganisationFactory(kind="company", owner=staff)
    response = client.post("/api/v1/projects", headers=bearer(staff), json={
        "organisation_id": company.id, "title": "x", "summary": "x", "industry": "x", "stage": "idea",
        "mode": "internal"})
    assert response.status_code == 400
    assert "organisation_id" in response.json["error"]["fields"]


def test_submit_works_once_then_conflicts(client, factories, bearer):
    founder, startup = _startup_with_founder(factories)
    draft = ProjectFactory(organisation=startup, status=ProjectStatus.DRAFT)
    headers = bearer(founder)

    first = client.post(f"/api/v1/projects/{draft.id}/submit", headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["status"] == "submitted"
    second = client.post(f"/api/v1/projects/{draft.id}/submit", headers=headers)
    assert second.status_code == 409
    assert second.json["error"]["code"] == "conflict"
    assert db.session.get(Project, draft.id).status == "submitted"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "project.submitted",
                                                         AuditEvent.object_id == str(draft.id))).all()
    assert len(events) == 1 and events[0].after == {"status": "submitted"}


def test_only_members_may_submit(client, factories, bearer):
    _founder, startup = _startup_with_founder(factories)
    draft = ProjectFactory(organisation=startup, status=ProjectStatus.DRAFT)
    public = ProjectFactory(organisation=startup, status=ProjectStatus.NEEDS_INFO)
    outsider = factories.UserFactory(roles=[Role.FOUNDER])
    assert client.post(f"/api/v1/projects/{draft.id}/submit", headers=bearer(outsider)).status_code == 403
    assert client.post(f"/api/v1/projects/{public.id}/submit", headers=bearer(outsider)).status_code == 403
    assert db.session.get(Project, draft.id).status == "draft"


def test_api_filters_projects(client, factories):
    ProjectFactory(title="Vent", industry="Smart home", mode="crowdfunding", status="incubating")
    ProjectFactory(title="Compost", industry="Cleantech", mode="open_source", status="submitted")
    def titles(query):
        return sorted(p["title"] for p in client.get(f"/api/v1/projects?{query}").json["items"])
    assert titles("industry=Cleantech") == ["Compost"]
    assert titles("mode=crowdfunding") == ["Vent"]
    assert titles("status=incubating") == ["Vent"]
    bad = client.get("/api/v1/projects?mode=sideways")
    assert bad.status_code == 400 and "mode" in bad.json["error"]["fields"]


def test_founder_creates_and_submits_a_project_in_the_browser(client, factories, login):
    founder, startup = _startup_with_founder(factories)
    login(founder)
    assert client.get("/projects/new").status_code == 200
    response = client.post("/projects/new", data={
        "organisation_id": startup.id, "title": "Balcony herb garden", "summary": "Waters itself",
        "industry": "Agritech", "stage": "idea", "mode": "open_source", "funding_sought_amount": "1234.50",
        "currency": "CNY"})
    assert response.status_code == 302, response.get_data(as_text=True)
    project = db.session.scalar(select(Project).where(Project.title == "Balcony herb garden"))
    assert project.status == "draft" and project.funding_sought_amount == 123450
    client.post(f"/projects/{project.id}/submit")
    assert db.session.get(Project, project.id).status == "submitted"


def test_user_without_startup_is_sent_to_create_one(client, factories, login):
    login(factories.UserFactory(roles=[Role.BACKER]))
    response = client.get("/projects/new")
    assert response.status_code == 302 and "/organisations/new" in response.headers["Location"]


def test_an_empty_edit_form_changes_nothing(client, login):
    """Found by the authorization matrix: an empty POST used to save the funding sought a hundredfold."""
    from incubation.models import Project
    from portal.extensions import db
    from tests.incubation.factories import startup_with_founder

    founder, _startup, project = startup_with_founder(funding_sought_amount=50_000_000, currency="CNY")
    login(founder)
    response = client.post(f"/projects/{project.id}/edit", data={})
    assert response.status_code in (200, 400)
    db.session.expire_all()
    assert db.session.get(Project, project.id).funding_sought_amount == 50_000_000
