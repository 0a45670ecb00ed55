"""The typed input layer of projects, documents, former employment, mentors, support and idea adoption:
every response matches its response model (no undescribed key, right nullability), and bodies and query
strings of the wrong type are refused with a 400 naming the field, writing nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from incubation.models import (
    ApplicationStatus,
    FormerEmployment,
    Kpi,
    MentorSlot,
    Milestone,
    Project,
    ResourceCredit,
    SupportRequest,
)
from incubation.schemas.documents import DocumentOut, DocumentViewOut, NdaAcceptanceOut, NdaOut
from incubation.schemas.mentors import MentorOut, SlotOut
from incubation.schemas.projects import EventOut, FormerEmploymentOut, ProjectOut
from incubation.schemas.support import (
    KpiOut,
    MilestoneOut,
    PostedOut,
    ProgressOut,
    SupportRequestOut,
)
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.inputs import INT_MAX
from tests.incubation.factories import (
    ApplicationFactory,
    IdeaFactory,
    MentorProfileFactory,
    MentorSlotFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)

PDF = b"%PDF-1.4\n% a tiny test pdf\n%%EOF\n"
TOO_BIG = INT_MAX + 1


def conforms(model: type[BaseModel], body: dict) -> BaseModel:
    """`body` is valid for `model` and carries no key the model does not describe."""
    described = {field.alias or name for name, field in model.model_fields.items()}
    assert set(body) <= described, f"{model.__name__}: undescribed {sorted(set(body) - described)}"
    return model.model_validate(body)


def items(model: type[BaseModel], body: dict) -> list:
    return [conforms(model, item) for item in body["items"]]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fields(response) -> set[str]:
    assert response.status_code == 400, (response.status_code, response.get_json())
    return set(response.get_json()["error"]["fields"])


def _incubating(factories):
    founder, startup, project = startup_with_founder(mode="open_source", status="incubating")
    staff, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source")
    application = ApplicationFactory(program=program, project=project, status=ApplicationStatus.ACCEPTED)
    db.session.add(ResourceCredit(organisation_id=startup.id, application_id=application.id, amount=20_000_00))
    db.session.flush()
    return founder, staff, company, project


# ---- responses match their models --------------------------------------------------------------

def test_project_responses_match_their_models(client, factories, bearer):
    founder, startup, _ = startup_with_founder()
    headers = bearer(founder)
    created = client.post("/api/v1/projects", headers=headers, json={
        "organisation_id": startup.id, "title": "Quiet Fan", "summary": "A fan", "industry": "Smart home",
        "stage": "idea", "mode": "crowdfunding", "funding_sought": {"amount": 150000, "currency": "cny"},
        "video_url": "https://video.example.com/pitch"})
    assert created.status_code == 201, created.json
    project = conforms(ProjectOut, created.json)
    assert project.funding_sought.currency == "CNY" and project.cover_image_url is None
    bare = client.post("/api/v1/projects", headers=headers, json={
        "organisation_id": startup.id, "title": "Bare", "summary": "s", "industry": "i", "stage": "idea",
        "mode": "internal"})
    assert conforms(ProjectOut, bare.json).funding_sought is None
    items(ProjectOut, client.get("/api/v1/projects", headers=headers).json)
    items(ProjectOut, client.get(f"/api/v1/projects?organisation_id={startup.id}&status=draft&mode=internal",
                                 headers=headers).json)
    patched = client.patch(f"/api/v1/projects/{project.id}", headers=headers,
                           json={"summary": "  A quieter fan  ", "funding_sought": None, "team": None})
    assert patched.status_code == 200, patched.json
    assert conforms(ProjectOut, patched.json).funding_sought is None and patched.json["summary"] == "A quieter fan"
    assert patched.json["title"] == "Quiet Fan" and patched.json["team"] == ""
    conforms(ProjectOut, client.post(f"/api/v1/projects/{project.id}/submit", headers=headers).json)
    moved = client.post(f"/api/v1/projects/{project.id}/transitions", headers=headers,
                        json={"status": "withdrawn", "note": "  Pivoting  "})
    assert moved.status_code == 200 and conforms(ProjectOut, moved.json).status == "withdrawn"
    events = items(EventOut, client.get(f"/api/v1/projects/{project.id}/timeline").json)
    assert events[-1].note == "Pivoting" and events[-1].from_ == "submitted"


def test_a_members_project_carries_its_resource_credits(client, factories, bearer):
    founder, _staff, _company, project = _incubating(factories)
    body = client.get(f"/api/v1/projects/{project.id}", headers=bearer(founder)).json
    assert conforms(ProjectOut, body).resource_credits is not None
    assert "resource_credits" not in client.get(f"/api/v1/projects/{project.id}").json


def test_document_and_nda_responses_match_their_models(client, factories, bearer):
    founder, _startup, project = startup_with_founder(status="submitted")
    headers = bearer(founder)
    assert conforms(NdaOut, client.get(f"/api/v1/projects/{project.id}/nda").json).version is None
    conforms(NdaOut, client.put(f"/api/v1/projects/{project.id}/nda", headers=headers,
                                json={"nda_text": "Keep it secret."}).json)
    uploaded = client.post(f"/api/v1/projects/{project.id}/documents", headers=headers,
                           data={"title": " Deck ", "confidentiality": "nda", "file": (io.BytesIO(PDF), "deck.pdf")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.json
    assert conforms(DocumentOut, uploaded.json).title == "Deck"
    reader = factories.UserFactory()
    reader_headers = bearer(reader)
    assert conforms(NdaOut, client.get(f"/api/v1/projects/{project.id}/nda", headers=reader_headers).json).accepted \
        is False
    accepted = client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=reader_headers,
                           json={"version": 1})
    assert accepted.status_code == 201 and conforms(NdaAcceptanceOut, accepted.json).version == 1
    assert client.get(f"/api/v1/documents/{uploaded.json['id']}/file", headers=reader_headers).status_code == 200
    items(DocumentOut, client.get(f"/api/v1/projects/{project.id}/documents", headers=reader_headers).json)
    views = items(DocumentViewOut, client.get(f"/api/v1/projects/{project.id}/document-views", headers=headers).json)
    assert views[0].user.id == reader.id and views[0].nda_version == 1


def test_former_employment_responses_match_their_model(client, factories, bearer):
    staff, company = company_with_staff()
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    created = client.post("/api/v1/former-employments", headers=bearer(founder),
                          json={"company_id": company.id, "position": " Engineer ", "years": "2019-2023"})
    assert created.status_code == 201 and conforms(FormerEmploymentOut, created.json).verified_at is None
    assert created.json["position"] == "Engineer"
    verified = client.post(f"/api/v1/former-employments/{created.json['id']}/verify", headers=bearer(staff))
    assert conforms(FormerEmploymentOut, verified.json).verified


def test_mentor_responses_match_their_models(client, factories, bearer):
    mentor = factories.UserFactory(roles=[Role.MENTOR])
    headers = bearer(mentor)
    profile = client.put("/api/v1/mentors/me", headers=headers, json={
        "bio": "Tooling", "expertise": "moulds, Moulds， tooling", "languages": ["zh", "en"]})
    assert profile.status_code == 200, profile.json
    assert conforms(MentorOut, profile.json).expertise == ["moulds", "tooling"]
    assert profile.json["organisation"] is None and profile.json["rating"] is None
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    slot = client.post("/api/v1/mentors/me/slots", headers=headers, json={
        "start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()})
    assert slot.status_code == 201 and conforms(SlotOut, slot.json).booked is False
    items(MentorOut, client.get("/api/v1/mentors?expertise=mould&language=zh").json)
    assert conforms(MentorOut, client.get(f"/api/v1/mentors/{profile.json['id']}").json).free_slots
    founder, _startup, project = startup_with_founder(status="submitted")
    booked = client.post(f"/api/v1/mentor-slots/{slot.json['id']}/book", headers=bearer(founder),
                         json={"topic": " Tooling costs ", "project_id": project.id})
    assert booked.status_code == 201 and conforms(SlotOut, booked.json).topic == "Tooling costs"
    freed = client.post(f"/api/v1/mentor-slots/{slot.json['id']}/cancel-booking", headers=bearer(founder))
    assert freed.status_code == 200 and conforms(SlotOut, freed.json).booked is False

    past = MentorSlotFactory(mentor_profile=MentorProfileFactory(user=factories.UserFactory(roles=[Role.MENTOR])),
                             starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=2, minutes=-45),
                             booked_by_id=founder.id, topic="Pricing")
    notes = client.post(f"/api/v1/mentor-slots/{past.id}/notes", headers=bearer(past.mentor_profile.user),
                        json={"notes": "Early-bird at 1,299"})
    assert notes.status_code == 200 and conforms(SlotOut, notes.json).notes == "Early-bird at 1,299"
    rated = client.post(f"/api/v1/mentor-slots/{past.id}/feedback", headers=bearer(founder),
                        json={"rating": 5})
    assert rated.status_code == 201 and conforms(SlotOut, rated.json).feedback is None


def test_support_responses_match_their_models(client, factories, bearer):
    founder, staff, _company, project = _incubating(factories)
    headers = bearer(founder)
    milestone = client.post(f"/api/v1/projects/{project.id}/milestones", headers=headers, json={"title": "Tooling"})
    assert milestone.status_code == 201 and conforms(MilestoneOut, milestone.json).due_at is None
    edited = client.put(f"/api/v1/milestones/{milestone.json['id']}", headers=headers,
                        json={"title": "Tooling released", "due_at": "2027-05-01T09:00"})
    assert conforms(MilestoneOut, edited.json).due_at is not None
    kpi = client.post(f"/api/v1/projects/{project.id}/kpis", headers=headers, json={"name": "Pre-orders", "target": 0})
    assert kpi.status_code == 201 and conforms(KpiOut, kpi.json).unit == ""
    conforms(KpiOut, client.put(f"/api/v1/kpis/{kpi.json['id']}", headers=headers,
                                json={"name": "Orders", "target": 10, "unit": "pcs"}).json)
    posted = client.post(f"/api/v1/projects/{project.id}/progress", headers=headers,
                         json={"body": "Chosen", "milestone_id": milestone.json["id"], "progress": 40})
    assert posted.status_code == 201 and conforms(PostedOut, posted.json)
    support = client.post(f"/api/v1/projects/{project.id}/support-requests", headers=headers,
                          json={"stage": "design", "title": "CFD run"})
    assert support.status_code == 201 and conforms(SupportRequestOut, support.json).assignee is None
    progress = conforms(ProgressOut, client.get(f"/api/v1/projects/{project.id}/progress", headers=headers).json)
    assert progress.support_requests and progress.updates[0].kpi_id is None
    for entry in client.get(f"/api/v1/projects/{project.id}/progress").json["updates"]:
        conforms(ProgressOut.model_fields["updates"].annotation.__args__[0], entry)
    staff_headers = bearer(staff)
    items(SupportRequestOut, client.get("/api/v1/support-requests", headers=staff_headers).json)
    taken = client.post(f"/api/v1/support-requests/{support.json['id']}/status", headers=staff_headers,
                        json={"status": "in_progress"})
    assert taken.status_code == 200 and conforms(SupportRequestOut, taken.json).resolution is None
    closed = client.post(f"/api/v1/support-requests/{support.json['id']}/status", headers=staff_headers,
                         json={"status": "closed", "resolution": "Done: 2 dB quieter"})
    assert conforms(SupportRequestOut, closed.json).closed_at is not None
    assert items(SupportRequestOut, client.get("/api/v1/support-requests?all=1", headers=staff_headers).json)
    assert client.get("/api/v1/support-requests", headers=staff_headers).json["items"] == []


def test_idea_adoption_answers_the_project(client, factories, bearer):
    founder, _startup, project = startup_with_founder(status="submitted")
    idea = IdeaFactory()
    adopted = client.post(f"/api/v1/ideas/{idea.id}/adoptions", headers=bearer(founder),
                          json={"project_id": project.id})
    assert adopted.status_code == 201 and conforms(ProjectOut, adopted.json).idea_id == idea.id


# ---- typed refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"title": 5}, "title"),
    ({"title": ["Fan"]}, "title"),
    ({"organisation_id": "1"}, "organisation_id"),
    ({"organisation_id": TOO_BIG}, "organisation_id"),
    ({"funding_sought": {"amount": TOO_BIG, "currency": "CNY"}}, "funding_sought.amount"),
    ({"funding_sought": {"amount": 1.5, "currency": "CNY"}}, "funding_sought.amount"),
    ({"funding_sought": {"amount": 100, "currency": "ZZZ"}}, "funding_sought.currency"),
    ({"funding_sought": 100}, "funding_sought"),
    ({"video_url": "not a url"}, "video_url"),
    ({"stage": ["idea"]}, "stage"),
    ({"mode": True}, "mode"),
    ({"summary": "x" * 281}, "summary"),
])
def test_a_new_project_of_the_wrong_type_is_refused(client, bearer, body, field):
    founder, startup, _ = startup_with_founder()
    before = count(Project)
    valid = {"organisation_id": startup.id, "title": "Fan", "summary": "s", "industry": "i", "stage": "idea",
             "mode": "internal"}
    response = client.post("/api/v1/projects", headers=bearer(founder), json={**valid, **body})
    assert fields(response) == {field}
    assert count(Project) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"title": ["x"]}, "title"),
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"stage": None}, "stage"),
    ({"description": 5}, "description"),
    ({"funding_sought": {"amount": TOO_BIG}}, "funding_sought.amount"),
])
def test_a_project_patch_of_the_wrong_type_is_refused(client, bearer, body, field):
    founder, _startup, project = startup_with_founder(status="draft", title="Kept")
    response = client.patch(f"/api/v1/projects/{project.id}", headers=bearer(founder), json=body)
    assert fields(response) == {field}
    db.session.refresh(project)
    assert project.title == "Kept"


def test_project_bodies_and_queries_of_the_wrong_type_are_refused(client, factories, bearer):
    founder, _startup, project = startup_with_founder(status="submitted")
    headers = bearer(founder)
    assert fields(client.post(f"/api/v1/projects/{project.id}/transitions", headers=headers,
                              json={"status": 3})) == {"status"}
    assert fields(client.post(f"/api/v1/projects/{project.id}/transitions", headers=headers,
                              json={"status": "withdrawn", "note": ["why"]})) == {"note"}
    assert fields(client.put(f"/api/v1/projects/{project.id}/nda", headers=headers,
                             json={"nda_text": ["secret"]})) == {"nda_text"}
    assert fields(client.put(f"/api/v1/projects/{project.id}/nda", headers=headers,
                             json={"nda_text": "   "})) == {"nda_text"}
    assert fields(client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers,
                              json={"version": "1"})) == {"version"}
    assert fields(client.post("/api/v1/former-employments", headers=headers,
                              json={"company_id": TOO_BIG})) == {"company_id"}
    assert fields(client.post("/api/v1/former-employments", headers=headers,
                              json={"company_id": 1, "years": 2019})) == {"years"}
    assert count(FormerEmployment) == 0
    assert fields(client.get("/api/v1/projects?status=nope")) == {"status"}
    assert fields(client.get("/api/v1/projects?mode=nope")) == {"mode"}
    assert fields(client.get("/api/v1/projects?organisation_id=abc")) == {"organisation_id"}
    assert fields(client.get(f"/api/v1/projects?organisation_id={TOO_BIG}")) == {"organisation_id"}
    assert fields(client.get("/api/v1/projects?industry=" + "x" * 81)) == {"industry"}
    idea = IdeaFactory()
    assert fields(client.post(f"/api/v1/ideas/{idea.id}/adoptions", headers=headers,
                              json={"project_id": str(project.id)})) == {"project_id"}
    document = client.post(f"/api/v1/projects/{project.id}/documents", headers=headers,
                           data={"title": "Deck", "confidentiality": "secret", "file": (io.BytesIO(PDF), "d.pdf")},
                           content_type="multipart/form-data")
    assert fields(document) == {"confidentiality"}


def test_mentor_bodies_and_queries_of_the_wrong_type_are_refused(client, factories, bearer):
    mentor = factories.UserFactory(roles=[Role.MENTOR])
    headers = bearer(mentor)
    assert fields(client.put("/api/v1/mentors/me", headers=headers, json={"bio": True})) == {"bio"}
    assert fields(client.put("/api/v1/mentors/me", headers=headers,
                             json={"bio": "x", "expertise": ["ok", 1]})) == {"expertise.1"}
    assert fields(client.put("/api/v1/mentors/me", headers=headers,
                             json={"bio": "x", "languages": {"zh": True}})) == {"languages"}
    profile = MentorProfileFactory(user=mentor)
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    assert fields(client.post("/api/v1/mentors/me/slots", headers=headers,
                              json={"start": "tomorrow", "end": start.isoformat()})) == {"start"}
    assert fields(client.post("/api/v1/mentors/me/slots", headers=headers,
                              json={"start": start.timestamp(), "end": start.isoformat()})) == {"start"}
    assert fields(client.post("/api/v1/mentors/me/slots", headers=headers,  # a 4-digit year, far from the limits
                              json={"start": "0226-03-01T14:28:27-02:59", "end": start.isoformat()})) == {"start"}
    assert fields(client.post("/api/v1/mentors/me/slots", headers=headers,
                              json={"start": start.isoformat(), "end": "9999-12-31T23:59:59-05:00"})) == {"end"}
    slot = MentorSlotFactory(mentor_profile=profile)
    founder, _startup, project = startup_with_founder(status="submitted")
    founder_headers = bearer(founder)
    assert fields(client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=founder_headers,
                              json={"topic": 5})) == {"topic"}
    assert fields(client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=founder_headers,
                              json={"topic": "x", "project_id": True})) == {"project_id"}
    assert fields(client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=founder_headers,
                              json={"topic": "x" * 201})) == {"topic"}
    db.session.refresh(slot)
    assert slot.booked_by_id is None
    assert fields(client.delete(f"/api/v1/mentor-slots/{slot.id}", headers=headers, json={"reason": 5})) == {"reason"}
    assert db.session.get(MentorSlot, slot.id) is not None
    past = MentorSlotFactory(mentor_profile=profile, starts_at=utcnow() - timedelta(days=1),
                             ends_at=utcnow() - timedelta(hours=23), booked_by_id=founder.id, topic="x")
    for rating in (6, 0, "5", 4.5):
        assert fields(client.post(f"/api/v1/mentor-slots/{past.id}/feedback", headers=founder_headers,
                                  json={"rating": rating})) == {"rating"}
    assert fields(client.post(f"/api/v1/mentor-slots/{past.id}/notes", headers=headers, json={"notes": ""})) \
        == {"notes"}
    assert fields(client.get("/api/v1/mentors?expertise=" + "x" * 81)) == {"expertise"}


def test_support_bodies_and_queries_of_the_wrong_type_are_refused(client, factories, bearer):
    founder, staff, _company, project = _incubating(factories)
    headers = bearer(founder)
    url = f"/api/v1/projects/{project.id}"
    assert fields(client.post(f"{url}/milestones", headers=headers, json={"title": "x", "due_at": 5})) == {"due_at"}
    assert fields(client.post(f"{url}/milestones", headers=headers, json={"title": " "})) == {"title"}
    assert fields(client.post(f"{url}/kpis", headers=headers, json={"name": "x", "target": TOO_BIG})) == {"target"}
    assert fields(client.post(f"{url}/kpis", headers=headers, json={"name": "x", "target": -1})) == {"target"}
    assert fields(client.post(f"{url}/kpis", headers=headers, json={"name": "x", "target": "10"})) == {"target"}
    assert count(Milestone) == 0 and count(Kpi) == 0
    assert fields(client.post(f"{url}/progress", headers=headers, json={"body": "x", "kpi_value": 5})) \
        == {"kpi_value"}
    assert fields(client.post(f"{url}/progress", headers=headers, json={"body": "x", "milestone_id": TOO_BIG})) \
        == {"milestone_id"}
    assert fields(client.post(f"{url}/progress", headers=headers, json={"body": ["x"]})) == {"body"}
    assert fields(client.post(f"{url}/support-requests", headers=headers,
                              json={"stage": "moon", "title": "x"})) == {"stage"}
    assert count(SupportRequest) == 0
    support = client.post(f"{url}/support-requests", headers=headers, json={"stage": "sales", "title": "x"}).json
    staff_headers = bearer(staff)
    status_url = f"/api/v1/support-requests/{support['id']}/status"
    assert fields(client.post(status_url, headers=staff_headers, json={"status": "closed"})) == {"resolution"}
    assert fields(client.post(status_url, headers=staff_headers, json={"status": "open"})) == {"status"}
    assert fields(client.get("/api/v1/support-requests?all=maybe", headers=staff_headers)) == {"all"}
    assert db.session.get(SupportRequest, support["id"]).status == "open"


# ---- the pages build the same commands -----------------------------------------------------------

def test_the_pages_hand_the_services_commands_and_show_their_refusals(client, factories, login):
    founder, staff, _company, project = _incubating(factories)
    login(founder)
    milestone = client.post(f"/projects/{project.id}/milestones", data={"title": "  Tooling  ",
                                                                        "due_at": "2027-05-01T09:00"})
    assert milestone.status_code == 302
    created = db.session.scalar(select(Milestone).where(Milestone.project_id == project.id))
    assert created.title == "Tooling" and created.due_at.hour == 1  # 09:00 in Shanghai
    refused = client.post(f"/projects/{project.id}/progress", data={"body": "Halfway", "progress": "50"},
                          follow_redirects=True)
    assert refused.status_code == 200 and "A percentage from 0 to 100 for a milestone." in refused.get_data(True)
    assert created.progress == 0
    client.post(f"/projects/{project.id}/progress", data={"body": "Halfway", "milestone_id": created.id,
                                                          "progress": "50"})
    db.session.refresh(created)
    assert created.progress == 50
    edit = client.post(f"/projects/{project.id}/edit", data={
        "organisation_id": project.organisation_id, "title": "Renamed", "summary": "s", "industry": "i",
        "stage": "mvp", "mode": "open_source", "funding_sought_amount": "", "currency": "CNY"})
    assert edit.status_code == 302
    db.session.refresh(project)
    assert project.title == "Renamed" and project.funding_sought_amount is None
