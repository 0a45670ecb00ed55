"""Issue 9, point 6: open-source resource credits are a visible balance that booking prices draw on.

Credits granted on acceptance into an open-source program are spent on the granting company's resources
when a member books for the credited startup: quote, booking, statement, project page and API show them;
a cancelled or declined booking gives them back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from incubation.models import ApplicationStatus, IncubationMode, ProjectStatus, ResourceCredit
from portal.audit import AuditEvent
from portal.extensions import db
from resources.models import Booking
from tests.incubation.factories import ApplicationFactory, ProgramFactory, ProjectFactory
from tests.resources.helpers import body, next_weekday

CREDIT = 200_00  # 200.00 CNY; the incubatee price is 80.00 per hour


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(
        organisation=organisation, name="Maker lab", min_minutes=60, max_minutes=240,
        prices=[("incubatee", "hour", 8000), ("startup", "hour", 15000), ("external", "hour", 30000)])


@pytest.fixture
def credited(factories, company):
    """A startup accepted into the company's open-source program, with 200.00 of credits."""
    organisation, _staff = company
    founder = factories.UserFactory(roles=["founder"])
    startup = factories.OrganisationFactory(kind="startup", name="GreenBrew", owner=founder)
    project = ProjectFactory(organisation=startup, mode=IncubationMode.OPEN_SOURCE, status=ProjectStatus.ACCEPTED)
    program = ProgramFactory(organisation=organisation, mode=IncubationMode.OPEN_SOURCE, credit_amount=CREDIT)
    application = ApplicationFactory(program=program, project=project, status=ApplicationStatus.ACCEPTED)
    db.session.add(ResourceCredit(organisation_id=startup.id, application_id=application.id, amount=CREDIT,
                                  currency="CNY"))
    db.session.flush()
    return founder, startup, project


def _book(client, headers, resource, payload):
    return client.post(f"/api/v1/resources/{resource.id}/bookings", json=payload, headers=headers)


def _available(client, headers, project) -> int:
    credits = client.get(f"/api/v1/projects/{project.id}", headers=headers).json["resource_credits"]
    assert len(credits) == 1
    return credits[0]["available"]["amount"]


def test_bookings_draw_on_the_credits_and_give_them_back(client, bearer, login, lab, credited):
    founder, startup, project = credited
    headers = bearer(founder)
    day = next_weekday(0)
    preview = client.post(f"/api/v1/resources/{lab.id}/bookings/preview", headers=headers,
                          json=body(day, "09:00", "12:00", organisation_id=startup.id))
    row = preview.json["occurrences"][0]
    assert row["price"]["amount"] == 240_00 and row["credit_applied"]["amount"] == CREDIT
    assert row["amount_due"]["amount"] == 40_00

    first = _book(client, headers, lab, body(day, "09:00", "11:00", organisation_id=startup.id))
    assert first.status_code == 201, first.json
    assert first.json["price"]["amount"] == 160_00
    assert first.json["credit_applied"]["amount"] == 160_00 and first.json["amount_due"]["amount"] == 0
    assert _available(client, headers, project) == 40_00
    second = _book(client, headers, lab, body(day, "13:00", "15:00", organisation_id=startup.id))
    assert second.json["credit_applied"]["amount"] == 40_00 and second.json["amount_due"]["amount"] == 120_00
    third = _book(client, headers, lab, body(next_weekday(1), "09:00", "10:00", organisation_id=startup.id))
    assert third.json["credit_applied"]["amount"] == 0 and third.json["amount_due"]["amount"] == 80_00
    assert _available(client, headers, project) == 0

    # the statement shows price, credit and due per booking, the total due and the balance
    month = next_weekday(0).strftime("%Y-%m")
    statement = client.get(f"/api/v1/organisations/{startup.id}/resource-statement?month={month}",
                           headers=headers).json
    lines = {line["booking_id"]: line for line in statement["lines"]}
    if first.json["id"] in lines:  # the three days may straddle two months
        assert lines[first.json["id"]]["credit_applied"]["amount"] == 160_00
        assert lines[first.json["id"]]["amount"]["amount"] == 0
    assert statement["credit_balances"][0]["granted"]["amount"] == CREDIT
    assert statement["credit_balances"][0]["available"]["amount"] == 0

    # cancelling gives the credit back (audited); the booking then shows none
    cancelled = client.post(f"/api/v1/bookings/{first.json['id']}/cancel", headers=headers, json={})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["credit_applied"]["amount"] == 0
    assert _available(client, headers, project) == 160_00
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.cancelled"))
    assert event.after["credit_released"] == 160_00

    login(founder)
    page = client.get(f"/resources/bookings/{second.json['id']}").get_data(as_text=True)
    assert 'id="booking-credit"' in page and 'id="booking-due"' in page
    project_page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'id="credit-balances"' in project_page and lab.organisation.name in project_page
    statement_page = client.get(f"/resources/statements/{startup.id}?month={month}").get_data(as_text=True)
    assert 'id="credit-balances"' in statement_page


def test_a_declined_request_gives_the_credit_back(client, bearer, lab, credited, company):
    founder, startup, project = credited
    _organisation, staff = company
    lab.requires_approval = True
    db.session.flush()
    booked = _book(client, bearer(founder), lab, body(next_weekday(2), "09:00", "11:00", organisation_id=startup.id))
    assert booked.json["status"] == "pending" and booked.json["credit_applied"]["amount"] == 160_00
    assert _available(client, bearer(founder), project) == 40_00  # a pending request holds the credit
    rejected = client.post(f"/api/v1/bookings/{booked.json['id']}/reject", headers=bearer(staff),
                           json={"reason": "Closed for calibration"})
    assert rejected.status_code == 200, rejected.json
    assert _available(client, bearer(founder), project) == CREDIT


def test_credits_apply_only_to_the_granting_company_and_only_for_the_startup(
        client, bearer, factories, resource_factories, lab, credited):
    founder, startup, project = credited
    elsewhere = resource_factories.ResourceFactory(name="Other company's lab", min_minutes=60, max_minutes=240)
    other = _book(client, bearer(founder), elsewhere, body(next_weekday(3), "09:00", "11:00",
                                                          organisation_id=startup.id))
    assert other.status_code == 201 and other.json["credit_applied"]["amount"] == 0
    # a stranger cannot book "for" the startup, and sees no balance
    stranger = factories.UserFactory()
    refused = _book(client, bearer(stranger), lab, body(next_weekday(3), "13:00", "15:00",
                                                        organisation_id=startup.id))
    assert refused.status_code == 400 and "organisation_id" in refused.json["error"]["fields"]
    assert "resource_credits" not in client.get(f"/api/v1/projects/{project.id}", headers=bearer(stranger)).json
    assert db.session.scalar(select(Booking.credit_amount).where(Booking.id == other.json["id"])) == 0


def test_a_weekly_series_draws_in_order(client, bearer, lab, credited):
    founder, startup, project = credited
    series = _book(client, bearer(founder), lab, body(next_weekday(4), "09:00", "11:00", organisation_id=startup.id,
                                                      repeat_weeks=3))
    assert series.status_code == 201, series.json
    credits = [b["credit_applied"]["amount"] for b in series.json["bookings"]]
    assert credits == [160_00, 40_00, 0]
    assert [b["amount_due"]["amount"] for b in series.json["bookings"]] == [0, 120_00, 160_00]
