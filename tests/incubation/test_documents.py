"""Confidential documents: public / registered / NDA-gated, versioned NDA, the view log, cover images."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from incubation.models import DocumentView, NdaAcceptance, ProjectDocument, ProjectStatus
from portal.extensions import db
from portal.uploads import StoredFile
from tests.incubation.factories import startup_with_founder

PDF = b"%PDF-1.4\n% a tiny test pdf\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
       b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _upload(client, headers, project, title, level, data=PDF, name="deck.pdf"):
    return client.post(f"/api/v1/projects/{project.id}/documents", headers=headers,
                       data={"title": title, "confidentiality": level, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _with_documents(client, bearer):
    founder, _startup, project = startup_with_founder(status=ProjectStatus.SUBMITTED)
    headers = bearer(founder)
    assert client.put(f"/api/v1/projects/{project.id}/nda", headers=headers,
                      json={"nda_text": "Keep it secret for 3 years."}).json["version"] == 1
    ids = {}
    for level in ("public", "registered", "nda"):
        response = _upload(client, headers, project, f"{level} doc", level)
        assert response.status_code == 201, response.json
        ids[level] = response.json["id"]
    return founder, project, ids


def test_levels_gate_the_file(client, factories, bearer):
    founder, project, ids = _with_documents(client, bearer)
    # anonymous: public yes, registered needs login, NDA needs login
    assert client.get(f"/api/v1/documents/{ids['public']}/file").data == PDF
    assert client.get(f"/api/v1/documents/{ids['registered']}/file").status_code == 401
    assert client.get(f"/api/v1/documents/{ids['nda']}/file").status_code == 401
    viewer = factories.UserFactory(name="Curious Investor")
    headers = bearer(viewer)
    assert client.get(f"/api/v1/documents/{ids['registered']}/file", headers=headers).data == PDF
    blocked = client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers)
    assert blocked.status_code == 403
    listing = {d["id"]: d["access"] for d in
               client.get(f"/api/v1/projects/{project.id}/documents", headers=headers).json["items"]}
    assert listing == {ids["public"]: "ok", ids["registered"]: "ok", ids["nda"]: "nda"}
    # accept the NDA, then the file opens; the founders always see their own files
    accepted = client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers, json={"version": 1})
    assert accepted.status_code == 201 and accepted.json["version"] == 1
    opened = client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers)
    assert opened.status_code == 200 and opened.data == PDF
    assert "no-store" in opened.headers["Cache-Control"]
    assert client.get(f"/api/v1/documents/{ids['nda']}/file", headers=bearer(founder)).status_code == 200
    acceptance = db.session.scalar(select(NdaAcceptance).where(NdaAcceptance.user_id == viewer.id))
    assert acceptance.version == 1 and len(acceptance.text_sha256) == 64


def test_every_gated_view_is_logged_and_listed_for_the_founder(client, factories, bearer, login):
    founder, project, ids = _with_documents(client, bearer)
    viewer = factories.UserFactory(name="Curious Investor", email="investor@example.com")
    headers = bearer(viewer)
    client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers, json={"version": 1})
    client.get(f"/api/v1/documents/{ids['public']}/file", headers=headers)
    client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers)
    client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers)
    client.get(f"/api/v1/documents/{ids['registered']}/file", headers=headers)
    # refused views are not views
    client.get(f"/api/v1/documents/{ids['nda']}/file", headers=bearer(factories.UserFactory()))
    views = client.get(f"/api/v1/projects/{project.id}/document-views", headers=bearer(founder)).json["items"]
    assert len(views) == 3
    assert {v["document"] for v in views} == {"nda doc", "registered doc"}
    assert all(v["user"]["email"] == "investor@example.com" and v["at"].endswith("Z") for v in views)
    assert [v["nda_version"] for v in views if v["document"] == "nda doc"] == [1, 1]
    # only the founders see the log
    assert client.get(f"/api/v1/projects/{project.id}/document-views", headers=headers).status_code == 403
    login(founder)
    page = client.get(f"/projects/{project.id}/document-views").get_data(as_text=True)
    assert "Curious Investor" in page and "investor@example.com" in page and "nda doc" in page


def test_a_changed_nda_is_a_new_version_to_accept_again(client, factories, bearer):
    founder, project, ids = _with_documents(client, bearer)
    viewer = factories.UserFactory()
    headers = bearer(viewer)
    client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers, json={"version": 1})
    assert client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers).status_code == 200
    changed = client.put(f"/api/v1/projects/{project.id}/nda", headers=bearer(founder),
                         json={"nda_text": "Keep it secret for 5 years."})
    assert changed.json["version"] == 2
    # same text again is not a new version
    assert client.put(f"/api/v1/projects/{project.id}/nda", headers=bearer(founder),
                      json={"nda_text": "Keep it secret for 5 years."}).json["version"] == 2
    assert client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers).status_code == 403
    stale = client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers, json={"version": 1})
    assert stale.status_code == 409
    assert client.post(f"/api/v1/projects/{project.id}/nda/acceptances", headers=headers,
                       json={"version": 2}).status_code == 201
    assert client.get(f"/api/v1/documents/{ids['nda']}/file", headers=headers).status_code == 200
    versions = db.session.scalars(select(NdaAcceptance.version).where(NdaAcceptance.user_id == viewer.id)
                                  .order_by(NdaAcceptance.version)).all()
    assert versions == [1, 2]


def test_nda_gate_in_the_browser_pages(client, factories, bearer, login):
    _founder, project, ids = _with_documents(client, bearer)
    viewer = factories.UserFactory()
    login(viewer)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Accept the NDA to open" in page
    gate = client.get(f"/documents/{ids['nda']}")
    assert gate.status_code == 302 and "/nda/accept" in gate.headers["Location"]
    nda_page = client.get(gate.headers["Location"]).get_data(as_text=True)
    assert "Keep it secret for 3 years." in nda_page
    accepted = client.post(gate.headers["Location"], data={"version": "1"})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/documents/{ids['nda']}")
    assert client.get(f"/documents/{ids['nda']}").data == PDF
    assert _count(DocumentView) == 1


def test_bad_uploads_are_refused_and_write_nothing(client, factories, bearer, app):
    founder, _startup, project = startup_with_founder(status=ProjectStatus.DRAFT)
    headers = bearer(founder)
    before = (_count(ProjectDocument), _count(StoredFile))
    # an NDA-gated document needs an NDA text first
    no_nda = _upload(client, headers, project, "deck", "nda")
    assert no_nda.status_code == 400 and "confidentiality" in no_nda.json["error"]["fields"]
    # content, not the name, decides the type
    fake = _upload(client, headers, project, "deck", "public", data=b"MZ\x90\x00 not a pdf", name="deck.pdf")
    assert fake.status_code == 400 and "file" in fake.json["error"]["fields"]
    huge = _upload(client, headers, project, "deck", "public", data=PDF + b"0" * (21 * 1024 * 1024))
    assert huge.status_code == 413
    no_title = _upload(client, headers, project, "", "public")
    assert no_title.status_code == 400 and "title" in no_title.json["error"]["fields"]
    assert (_count(ProjectDocument), _count(StoredFile)) == before
    # strangers cannot upload, and cannot see a draft's documents
    stranger = bearer(factories.UserFactory())
    assert _upload(client, stranger, project, "x", "public").status_code == 403
    assert client.get(f"/api/v1/projects/{project.id}/documents", headers=stranger).status_code == 403


def test_draft_documents_stay_private(client, factories, bearer):
    founder, _startup, project = startup_with_founder(status=ProjectStatus.DRAFT)
    document = _upload(client, bearer(founder), project, "deck", "public").json
    assert client.get(f"/api/v1/documents/{document['id']}/file").status_code == 401
    assert client.get(f"/api/v1/documents/{document['id']}/file",
                      headers=bearer(factories.UserFactory())).status_code == 403


def test_cover_image_is_checked_and_served_through_the_project(client, factories, login):
    founder, _startup, project = startup_with_founder(status=ProjectStatus.SUBMITTED)
    login(founder)
    bad = client.post(f"/projects/{project.id}/cover", data={"cover_image": (io.BytesIO(PDF), "cover.png")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "not accepted" in bad.get_data(as_text=True)
    assert db.session.get(type(project), project.id).cover_image_id is None
    client.post(f"/projects/{project.id}/cover", data={"cover_image": (io.BytesIO(PNG), "cover.png")},
                content_type="multipart/form-data")
    assert db.session.get(type(project), project.id).cover_image_id is not None
    response = client.get(f"/projects/{project.id}/cover")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert f"/projects/{project.id}/cover" in client.get(f"/projects/{project.id}").get_data(as_text=True)
