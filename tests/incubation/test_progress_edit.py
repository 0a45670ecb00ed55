"""Founders edit and delete milestones and KPIs, and delete (archive) documents while the view log stays."""

from __future__ import annotations

import io

from sqlalchemy import select

from incubation.models import DocumentView, Kpi, Milestone, ProgressUpdate, ProjectDocument
from portal.audit import AuditEvent
from portal.extensions import db
from tests.incubation.factories import startup_with_founder

PDF = b"%PDF-1.4\n% a tiny test pdf\n%%EOF\n"


def _incubating_with_progress(client, bearer):
    founder, _startup, project = startup_with_founder(mode="open_source", status="incubating")
    headers = bearer(founder)
    milestone = client.post(f"/api/v1/projects/{project.id}/milestones", headers=headers,
                            json={"title": "Tooling", "due_at": "2027-05-01T00:00:00+08:00"}).json
    kpi = client.post(f"/api/v1/projects/{project.id}/kpis", headers=headers,
                      json={"name": "Pre-orders", "target": 3000, "unit": "units"}).json
    client.post(f"/api/v1/projects/{project.id}/kpis", headers=headers, json={"name": "Returns", "target": 10})
    posted = client.post(f"/api/v1/projects/{project.id}/progress", headers=headers, json={
        "body": "Moulds ordered", "milestone_id": milestone["id"], "progress": 40, "kpi_id": kpi["id"],
        "kpi_value": 120})
    assert posted.status_code == 201, posted.json
    return founder, headers, project, milestone, kpi


def test_founders_edit_milestones_and_kpis(client, factories, bearer):
    _founder, headers, project, milestone, kpi = _incubating_with_progress(client, bearer)
    outsider = bearer(factories.UserFactory())
    assert client.put(f"/api/v1/milestones/{milestone['id']}", headers=outsider,
                      json={"title": "Mine"}).status_code == 403
    edited = client.put(f"/api/v1/milestones/{milestone['id']}", headers=headers,
                        json={"title": "Tooling signed off", "due_at": "2027-06-01T00:00:00+08:00"})
    assert edited.status_code == 200, edited.json
    assert edited.json["title"] == "Tooling signed off" and edited.json["progress"] == 40
    assert edited.json["due_at"] == "2027-05-31T16:00:00Z"
    assert client.put(f"/api/v1/milestones/{milestone['id']}", headers=headers,
                      json={"title": ""}).status_code == 400
    kpi_edit = client.put(f"/api/v1/kpis/{kpi['id']}", headers=headers,
                          json={"name": "Pre-orders (EU)", "target": 5000, "unit": "units"})
    assert kpi_edit.status_code == 200 and kpi_edit.json["target"] == 5000 and kpi_edit.json["current"] == 120
    clash = client.put(f"/api/v1/kpis/{kpi['id']}", headers=headers, json={"name": "Returns", "target": 1})
    assert clash.status_code == 409 and "name" in clash.json["error"]["fields"]
    negative = client.put(f"/api/v1/kpis/{kpi['id']}", headers=headers, json={"name": "X", "target": -1})
    assert negative.status_code == 400 and "target" in negative.json["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Kpi, kpi["id"]).name == "Pre-orders (EU)"


def test_deleting_keeps_the_progress_updates(client, factories, bearer):
    _founder, headers, project, milestone, kpi = _incubating_with_progress(client, bearer)
    assert client.delete(f"/api/v1/milestones/{milestone['id']}",
                         headers=bearer(factories.UserFactory())).status_code == 403
    assert client.delete(f"/api/v1/milestones/{milestone['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/kpis/{kpi['id']}", headers=headers).status_code == 204
    db.session.expire_all()
    assert db.session.get(Milestone, milestone["id"]) is None and db.session.get(Kpi, kpi["id"]) is None
    (update,) = db.session.scalars(select(ProgressUpdate).where(ProgressUpdate.project_id == project.id)).all()
    assert update.body == "Moulds ordered" and update.milestone_id is None and update.kpi_id is None
    progress = client.get(f"/api/v1/projects/{project.id}/progress").json
    assert progress["milestones"] == [] and [k["name"] for k in progress["kpis"]] == ["Returns"]
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"milestone.deleted", "kpi.deleted"} <= actions


def test_milestones_of_a_closed_project_are_frozen(client, bearer):
    _founder, headers, project, milestone, _kpi = _incubating_with_progress(client, bearer)
    project.status = "graduated"
    db.session.flush()
    assert client.put(f"/api/v1/milestones/{milestone['id']}", headers=headers,
                      json={"title": "Late"}).status_code == 409
    assert client.delete(f"/api/v1/milestones/{milestone['id']}", headers=headers).status_code == 409


def test_milestones_and_kpis_in_the_page(client, bearer, login):
    founder, _headers, project, milestone, kpi = _incubating_with_progress(client, bearer)
    login(founder)
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f"/milestones/{milestone['id']}/edit" in page and f"/kpis/{kpi['id']}/delete" in page
    assert client.post(f"/milestones/{milestone['id']}/edit",
                       data={"title": "Tooling done", "due_at": ""}).status_code == 302
    assert client.post(f"/kpis/{kpi['id']}/edit", data={"name": "Orders", "target": 10, "unit": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Milestone, milestone["id"]).title == "Tooling done"
    assert db.session.get(Milestone, milestone["id"]).due_at is None
    assert db.session.get(Kpi, kpi["id"]).name == "Orders"
    assert client.post(f"/kpis/{kpi['id']}/delete").status_code == 302
    assert client.post(f"/milestones/{milestone['id']}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Kpi, kpi["id"]) is None and db.session.get(Milestone, milestone["id"]) is None


def test_a_deleted_document_is_gone_but_its_view_log_stays(client, factories, bearer, login):
    founder, _startup, project = startup_with_founder(status="submitted")
    headers = bearer(founder)
    uploaded = client.post(f"/api/v1/projects/{project.id}/documents", headers=headers,
                           data={"title": "Deck", "confidentiality": "registered",
                                 "file": (io.BytesIO(PDF), "deck.pdf")}, content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.json
    document_id = uploaded.json["id"]
    viewer = factories.UserFactory(name="Curious Investor")
    assert client.get(f"/api/v1/documents/{document_id}/file", headers=bearer(viewer)).data == PDF
    assert client.delete(f"/api/v1/documents/{document_id}", headers=bearer(viewer)).status_code == 403
    assert client.delete(f"/api/v1/documents/{document_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/documents/{document_id}", headers=headers).status_code == 409
    assert client.get(f"/api/v1/documents/{document_id}/file", headers=bearer(viewer)).status_code == 404
    assert client.get(f"/api/v1/documents/{document_id}/file", headers=headers).status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/documents", headers=headers).json["items"] == []
    log = client.get(f"/api/v1/projects/{project.id}/document-views", headers=headers).json["items"]
    assert [(v["document"], v["user"]["name"]) for v in log] == [("Deck", "Curious Investor")]
    assert db.session.get(ProjectDocument, document_id).archived_at is not None
    assert db.session.scalar(select(DocumentView.id).where(DocumentView.document_id == document_id))
    login(founder)
    client.post("/language", data={"locale": "en"})
    assert "Curious Investor" in client.get(f"/projects/{project.id}/document-views").get_data(as_text=True)
    assert client.get(f"/documents/{document_id}").status_code == 404


def test_deleting_a_document_in_the_page(client, bearer, login):
    founder, _startup, project = startup_with_founder(status="submitted")
    uploaded = client.post(f"/api/v1/projects/{project.id}/documents", headers=bearer(founder),
                           data={"title": "Drawings", "confidentiality": "public",
                                 "file": (io.BytesIO(PDF), "d.pdf")}, content_type="multipart/form-data")
    login(founder)
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f"/documents/{uploaded.json['id']}/delete" in page
    assert client.post(f"/documents/{uploaded.json['id']}/delete").status_code == 302
    assert "Drawings" not in client.get(f"/projects/{project.id}").get_data(as_text=True)
