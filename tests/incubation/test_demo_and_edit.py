"""The demo data shows every step of the incubation flow; projects can be edited through API and page."""

from __future__ import annotations

from sqlalchemy import func, select

from incubation import services
from incubation.models import (
    Application,
    ApplicationReview,
    FormerEmployment,
    MentorSlot,
    Milestone,
    Project,
    ProjectDocument,
    ProjectEvent,
    ResourceCredit,
    SupportRequest,
)
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from tests.incubation.factories import startup_with_founder


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_demo_shows_every_step(client, login):
    seed_demo()
    db.session.flush()
    statuses = set(db.session.scalars(select(Project.status)))
    assert {"draft", "screening", "incubating", "rejected"} <= statuses
    ventilator = db.session.scalar(select(Project).where(Project.title.contains("Quiet Smart Ventilator")))
    kinds = [e.to_status or e.kind for e in services.timeline(ventilator)]
    assert kinds[:5] == ["submitted", "applied", "screening", "accepted", "incubating"]
    assert _count(select(Application).where(Application.status == "under_review")) >= 2
    assert _count(select(ApplicationReview)) >= 7
    decided = db.session.scalars(select(Application).where(Application.feedback != "")).all()
    assert {a.status for a in decided} == {"accepted", "rejected"}
    assert _count(select(Milestone)) >= 2 and _count(select(SupportRequest)) == 2
    assert {s.status for s in db.session.scalars(select(SupportRequest))} == {"open", "closed"}
    assert _count(select(MentorSlot).where(MentorSlot.booked_by_id.is_not(None))) >= 2
    assert _count(select(MentorSlot).where(MentorSlot.rating.is_not(None))) == 1
    assert _count(select(Project).where(Project.idea_id.is_not(None))) == 1
    assert _count(select(ProjectDocument).where(ProjectDocument.confidentiality == "nda")) == 1
    assert _count(select(FormerEmployment).where(FormerEmployment.verified_at.is_not(None))) == 1
    assert _count(select(ProjectEvent).where(ProjectEvent.to_status == "rejected")) == 1
    assert _count(select(ResourceCredit)) == 0  # the open-source track has not decided yet

    from portal.auth.services import get_user_by_email

    login(get_user_by_email("makerspace@demo.example.com"), DEMO_PASSWORD)
    client.post("/language", data={"locale": "en"})
    track = db.session.scalar(select(Application).where(Application.status == "under_review")).program
    page = client.get(f"/programs/{track.id}/applications").get_data(as_text=True)
    assert "data-chart=" in page
    client.post("/auth/logout")
    login(get_user_by_email("founder@demo.example.com"), DEMO_PASSWORD)
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/projects/{ventilator.id}").get_data(as_text=True)
    for text in ("Timeline", "模具开模 Tooling released", "小批量试产 500 台", "Who viewed the confidential documents",
                 "欢迎加入春季营"):
        assert text in page, text


def test_patch_project(client, factories, bearer):
    founder, _startup, project = startup_with_founder(status="submitted", title="Old title")
    headers = bearer(founder)
    response = client.patch(f"/api/v1/projects/{project.id}", headers=headers,
                            json={"title": "New title", "market": "Tier-2 cities",
                                  "funding_sought": {"amount": 100, "currency": "usd"}})
    assert response.status_code == 200, response.json
    assert response.json["title"] == "New title" and response.json["market"] == "Tier-2 cities"
    assert response.json["funding_sought"] == {"amount": 100, "currency": "USD"}
    assert response.json["summary"] == project.summary  # untouched fields stay
    bad = client.patch(f"/api/v1/projects/{project.id}", headers=headers, json={"stage": "someday"})
    assert bad.status_code == 400 and "stage" in bad.json["error"]["fields"]
    assert client.patch(f"/api/v1/projects/{project.id}", headers=bearer(factories.UserFactory()),
                        json={"title": "x"}).status_code == 403
    closed = startup_with_founder(status="rejected")
    assert client.patch(f"/api/v1/projects/{closed[2].id}", headers=bearer(closed[0]),
                        json={"title": "x"}).status_code == 409


def test_edit_page(client, login):
    founder, startup, project = startup_with_founder(status="draft", title="Draft title", funding_sought_amount=12345)
    login(founder)
    page = client.get(f"/projects/{project.id}/edit").get_data(as_text=True)
    assert "Draft title" in page and "123.45" in page
    response = client.post(f"/projects/{project.id}/edit", data={
        "organisation_id": startup.id, "title": "Better title", "summary": "s", "industry": "i", "stage": "mvp",
        "mode": "open_source", "funding_sought_amount": "200", "currency": "CNY"})
    assert response.status_code == 302
    project = db.session.get(Project, project.id)
    assert project.title == "Better title" and project.funding_sought_amount == 20000 and project.stage == "mvp"
