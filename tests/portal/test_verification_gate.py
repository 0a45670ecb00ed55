"""Verification is the gate: the `company` role alone grants nothing; company powers come from membership
of a verified company organisation that owns the object. Unverified companies prepare drafts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from funding.models import MatchFund
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from resources.models import Resource
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import ProjectFactory
from tests.resources.factories import BookingFactory, ResourceFactory
from tests.resources.test_api import valid_body


def unverified_company(factories):
    staff = factories.UserFactory(roles=[Role.COMPANY])
    company = factories.OrganisationFactory(kind="company", owner=staff, verified_at=None, name="Haier COSMOPlat")
    return staff, company


def test_an_unverified_company_prepares_drafts_but_cannot_publish(client, factories, bearer):
    staff, company = unverified_company(factories)
    published = client.post("/api/v1/resources", headers=bearer(staff), json=valid_body(company.id))
    assert published.status_code == 409 and published.json["error"]["code"] == "organisation_unverified"
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0  # nothing half-written
    draft = client.post("/api/v1/resources", headers=bearer(staff), json=valid_body(company.id, published=False))
    assert draft.status_code == 201 and draft.json["published"] is False
    publication = f"/api/v1/resources/{draft.json['id']}/publication"
    refused = client.post(publication, headers=bearer(staff), json={"published": True})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "organisation_unverified"
    assert client.get(f"/api/v1/resources/{draft.json['id']}").status_code == 401  # not public
    company.verified_at = utcnow()
    assert client.post(publication, headers=bearer(staff), json={"published": "yes"}).status_code == 400
    done = client.post(publication, headers=bearer(staff), json={"published": True})
    assert done.status_code == 200 and done.json["published"] is True
    assert client.get(f"/api/v1/resources/{draft.json['id']}").status_code == 200


def test_the_html_form_saves_an_unverified_companys_resource_as_a_draft(client, factories, login):
    staff, company = unverified_company(factories)
    login(staff)
    page = client.post("/resources/new", data={
        "organisation_id": company.id, "name": "Anechoic chamber", "kind": "lab", "timezone": "Asia/Shanghai",
        "min_minutes": 60, "max_minutes": 240, "buffer_minutes": 0, "advance_days": 30,
        "cancel_free_hours": 24, "late_cancel_fee_percent": 50}, follow_redirects=True)
    assert page.status_code == 200
    resource = db.session.scalar(select(Resource).where(Resource.name == "Anechoic chamber"))
    assert resource is not None and resource.published is False
    assert "verified" in page.get_data(as_text=True)


def test_an_unverified_company_runs_no_program(client, factories, bearer):
    staff, company = unverified_company(factories)
    response = client.post("/api/v1/programs", headers=bearer(staff), json={
        "organisation_id": company.id, "title": "Spring cohort", "mode": "internal",
        "opens_at": "2027-03-01T09:00:00+08:00", "closes_at": "2027-04-01T18:00:00+08:00", "capacity": 10,
        "criteria": [{"name": "Team", "weight": 1}]})
    assert response.status_code == 409 and response.json["error"]["code"] == "organisation_unverified"


def test_an_unverified_company_prepares_a_draft_program_that_nobody_else_sees(client, factories, bearer, login):
    staff, company = unverified_company(factories)
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    body = {"organisation_id": company.id, "title": "Hidden cohort", "mode": "internal",
            "opens_at": "2026-01-01T09:00:00+08:00", "closes_at": "2030-04-01T18:00:00+08:00", "capacity": 10,
            "criteria": [{"name": "Team", "weight": 1}], "published": False}
    draft = client.post("/api/v1/programs", headers=bearer(staff), json=body)
    assert draft.status_code == 201 and draft.json["published"] is False
    program_id = draft.json["id"]
    assert client.get(f"/api/v1/programs/{program_id}", headers=bearer(founder)).status_code == 403
    listed = client.get("/api/v1/programs", headers=bearer(founder)).json["items"]
    assert program_id not in [p["id"] for p in listed]
    assert program_id in [p["id"] for p in client.get("/api/v1/programs", headers=bearer(staff)).json["items"]]
    assert client.put(f"/api/v1/programs/{program_id}", headers=bearer(staff), json={
        "title": "Hidden cohort, spring", "opens_at": body["opens_at"], "closes_at": body["closes_at"],
        "capacity": 12}).status_code == 200  # drafts are edited before verification
    publication = f"/api/v1/programs/{program_id}/publication"
    refused = client.post(publication, headers=bearer(staff), json={"published": True})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "organisation_unverified"
    company.verified_at = utcnow()
    assert client.post(publication, headers=bearer(staff), json={"published": True}).json["published"] is True
    assert client.get(f"/api/v1/programs/{program_id}", headers=bearer(founder)).status_code == 200


def test_the_html_form_saves_an_unverified_companys_program_as_a_draft(client, factories, login):
    from incubation.models import Program

    staff, company = unverified_company(factories)
    login(staff)
    response = client.post("/programs/new", data={
        "organisation_id": company.id, "title": "Draft cohort", "mode": "internal",
        "opens_at": "2026-01-01T09:00", "closes_at": "2030-04-01T18:00", "capacity": 5,
        "criteria_text": "Team: 1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    program = db.session.scalar(select(Program).where(Program.title == "Draft cohort"))
    assert program is not None and program.published is False
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "program-unverified" in page and "disabled" in page


def test_staff_of_an_unverified_company_approve_no_booking_and_see_no_utilisation(client, factories, bearer):
    staff, company = unverified_company(factories)
    resource = ResourceFactory(organisation=company, requires_approval=True)
    booking = BookingFactory(resource=resource, status="pending")
    assert client.post(f"/api/v1/bookings/{booking.id}/approve", headers=bearer(staff)).status_code == 403
    assert client.get(f"/api/v1/organisations/{company.id}/resource-utilisation",
                      headers=bearer(staff)).status_code == 403


def test_staff_of_another_verified_company_approve_nothing_here(client, factories, bearer):
    owner_staff = factories.UserFactory(roles=[Role.COMPANY])
    owner = factories.OrganisationFactory(kind="company", owner=owner_staff)
    other_staff = factories.UserFactory(roles=[Role.COMPANY])
    factories.OrganisationFactory(kind="company", owner=other_staff)
    booking = BookingFactory(resource=ResourceFactory(organisation=owner, requires_approval=True), status="pending")
    assert client.post(f"/api/v1/bookings/{booking.id}/approve", headers=bearer(other_staff)).status_code == 403
    approved = client.post(f"/api/v1/bookings/{booking.id}/approve", headers=bearer(owner_staff))
    assert approved.status_code == 200, approved.json


def test_an_unverified_company_does_not_matchfund(client, factories, bearer):
    staff, company = unverified_company(factories)
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    campaign = CampaignFactory(project=ProjectFactory(organisation=startup), status="live",
                               deadline=utcnow() + timedelta(days=10))
    response = client.post(f"/api/v1/campaigns/{campaign.id}/match-funds", headers=bearer(staff),
                           json={"organisation_id": company.id, "cap": 100000})
    assert response.status_code == 409 and response.json["error"]["code"] == "organisation_unverified"
    assert db.session.scalar(select(func.count()).select_from(MatchFund)) == 0
