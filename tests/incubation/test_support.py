"""Incubation support: milestones, KPIs and progress updates; support requests routed to the anchor company."""

from __future__ import annotations

from incubation.models import Milestone, SupportRequest
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _incubating(factories):
    founder, _startup, project = startup_with_founder(mode="open_source", status="incubating")
    staff, company = company_with_staff()
    colleague = factories.UserFactory(roles=["company"], email="colleague@example.com")
    factories.MembershipFactory(organisation=company, user=colleague)
    program = program_with_criteria(company, mode="open_source")
    ApplicationFactory(program=program, project=project, status="accepted")
    return founder, staff, colleague, project


def test_milestones_kpis_and_progress(client, factories, bearer):
    founder, _staff, _colleague, project = _incubating(factories)
    headers = bearer(founder)
    milestone = client.post(f"/api/v1/projects/{project.id}/milestones", headers=headers,
                            json={"title": "Tooling released", "due_at": "2027-05-01T00:00:00+08:00"})
    assert milestone.status_code == 201 and milestone.json["due_at"] == "2027-04-30T16:00:00Z"
    kpi = client.post(f"/api/v1/projects/{project.id}/kpis", headers=headers,
                      json={"name": "Pre-orders", "target": 3000, "unit": "units"})
    assert kpi.status_code == 201
    assert client.post(f"/api/v1/projects/{project.id}/kpis", headers=headers,
                       json={"name": "Pre-orders", "target": 1}).status_code == 409
    update = client.post(f"/api/v1/projects/{project.id}/progress", headers=headers, json={
        "body": "Supplier chosen", "milestone_id": milestone.json["id"], "progress": 100,
        "kpi_id": kpi.json["id"], "kpi_value": 1280})
    assert update.status_code == 201, update.json
    progress = client.get(f"/api/v1/projects/{project.id}/progress").json
    assert progress["milestones"][0]["progress"] == 100 and progress["milestones"][0]["completed_at"]
    assert progress["kpis"][0]["current"] == 1280 and progress["updates"][0]["body"] == "Supplier chosen"
    assert "support_requests" not in progress  # only insiders see them
    bad = client.post(f"/api/v1/projects/{project.id}/progress", headers=headers,
                      json={"body": "x", "milestone_id": milestone.json["id"], "progress": 120})
    assert bad.status_code == 400 and "progress" in bad.json["error"]["fields"]
    no_milestone = client.post(f"/api/v1/projects/{project.id}/progress", headers=headers,
                               json={"body": "x", "progress": 50})
    assert no_milestone.status_code == 400
    # another project's milestone cannot be moved from here
    other_founder, _s, other = startup_with_founder(status="incubating")
    other_milestone = client.post(f"/api/v1/projects/{other.id}/milestones", headers=bearer(other_founder),
                                  json={"title": "Theirs"}).json
    assert client.post(f"/api/v1/projects/{project.id}/progress", headers=headers,
                       json={"body": "x", "milestone_id": other_milestone["id"], "progress": 5}).status_code == 403
    assert db.session.get(Milestone, other_milestone["id"]).progress == 0
    assert client.post(f"/api/v1/projects/{project.id}/milestones", headers=bearer(factories.UserFactory()),
                       json={"title": "x"}).status_code == 403


def test_only_accepted_or_incubating_projects_get_support(client, bearer):
    founder, _startup, project = startup_with_founder(status="screening")
    headers = bearer(founder)
    assert client.post(f"/api/v1/projects/{project.id}/milestones", headers=headers,
                       json={"title": "x"}).status_code == 409
    assert client.post(f"/api/v1/projects/{project.id}/support-requests", headers=headers,
                       json={"stage": "design", "title": "x"}).status_code == 409


def test_support_request_routed_to_the_anchor_company_and_tracked_to_closure(client, factories, bearer,
                                                                              mail_outbox):
    founder, staff, colleague, project = _incubating(factories)
    wrong_stage = client.post(f"/api/v1/projects/{project.id}/support-requests", headers=bearer(founder),
                              json={"stage": "magic", "title": "x"})
    assert wrong_stage.status_code == 400 and "stage" in wrong_stage.json["error"]["fields"]
    mail_outbox.clear()
    created = client.post(f"/api/v1/projects/{project.id}/support-requests", headers=bearer(founder),
                          json={"stage": "manufacturing", "title": "Pilot run of 500 units", "body": "Two days"})
    assert created.status_code == 201 and created.json["status"] == "open"
    assert sorted(m["To"] for m in mail_outbox) == sorted([staff.email, colleague.email])
    support_id = created.json["id"]
    inbox = client.get("/api/v1/support-requests", headers=bearer(colleague)).json["items"]
    assert [s["id"] for s in inbox] == [support_id]
    # the founders cannot close it themselves, other companies cannot touch it
    assert client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(founder),
                       json={"status": "closed", "resolution": "x"}).status_code == 403
    other_staff, _c = company_with_staff()
    assert client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(other_staff),
                       json={"status": "in_progress"}).status_code == 403
    taken = client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(colleague),
                        json={"status": "in_progress"})
    assert taken.status_code == 200 and taken.json["assignee"] == colleague.name
    no_resolution = client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(colleague),
                                json={"status": "closed"})
    assert no_resolution.status_code == 400 and "resolution" in no_resolution.json["error"]["fields"]
    mail_outbox.clear()
    closed = client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(colleague),
                         json={"status": "closed", "resolution": "Line booked for 3-4 May."})
    assert closed.status_code == 200 and closed.json["closed_at"]
    assert [m["To"] for m in mail_outbox] == [founder.email]
    assert client.post(f"/api/v1/support-requests/{support_id}/status", headers=bearer(colleague),
                       json={"status": "in_progress"}).status_code == 409
    assert db.session.get(SupportRequest, support_id).status == "closed"
    assert client.get("/api/v1/support-requests", headers=bearer(colleague)).json["items"] == []


def test_support_without_an_anchor_company_is_a_conflict(client, bearer):
    founder, _startup, project = startup_with_founder(status="incubating")
    response = client.post(f"/api/v1/projects/{project.id}/support-requests", headers=bearer(founder),
                           json={"stage": "rnd", "title": "Help"})
    assert response.status_code == 409


def test_support_pages(client, factories, login):
    founder, staff, _colleague, project = _incubating(factories)
    login(founder)
    client.post(f"/projects/{project.id}/milestones", data={"title": "Tooling released"})
    client.post(f"/projects/{project.id}/support-requests", data={"stage": "design", "title": "CFD run"})
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Tooling released" in page and "CFD run" in page and "Ask the anchor company" in page
    assert "New support request" in page and "Post a progress update" in page
    client.post("/auth/logout")
    login(staff)
    support = db.session.query(SupportRequest).one()
    assert "CFD run" in client.get("/support/").get_data(as_text=True)
    client.post(f"/support-requests/{support.id}/status", data={"status": "closed", "resolution": "Done: -2 dB"})
    assert db.session.get(SupportRequest, support.id).status == "closed"
