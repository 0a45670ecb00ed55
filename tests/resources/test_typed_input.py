"""The typed input layer of resources (issue 10): every body and query string is a command or query model
(resources.schemas), so a wrong type is a 400 naming the field before any service runs; and every response
model describes exactly what its endpoint answers (all keys, their types and nullability)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from resources import schemas
from resources.models import Blackout, Booking, OpeningException, ProblemReport, Resource, TrainingRequest
from tests.resources.helpers import at, body, next_weekday

TOO_BIG = 2**31


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(organisation=organisation, name="Typed lab", min_minutes=60,
                                              requires_approval=True, requires_qualification=False)


def fields(response) -> set[str]:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "validation_error"
    return set(response.json["error"]["fields"])


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def matches(model, data: dict) -> None:
    """`data` validates against `model` and has no key the model does not describe."""
    model.model_validate(data)
    known = {field.alias or name for name, field in model.model_fields.items()}
    assert set(data) <= known, (model.__name__, set(data) - known)


# ---- typed refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"name": ["a", "list"]}, "name"),
    ({"description": 5}, "description"),
    ({"organisation_id": "1"}, "organisation_id"),
    ({"capacity": "3"}, "capacity"),
    ({"published": "yes"}, "published"),
    ({"requires_approval": 1}, "requires_approval"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": TOO_BIG, "currency": "CNY"}]}, "prices.0.amount"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": "100", "currency": "CNY"}]}, "prices.0.amount"),
    ({"prices": [{"audience": "startup", "unit": "hour", "amount": 100, "currency": "CNY"},
                 {"audience": "external", "unit": "hour", "amount": 100, "currency": "USD"}]}, "prices.1.currency"),
    ({"opening_hours": [{"weekday": 1, "start": 900, "end": "18:00"}]}, "opening_hours.0.start"),
    ({"specifications": {"Spindle": ["a"]}}, "specifications.Spindle"),
    ({"quota_minutes_per_week": TOO_BIG}, "quota_minutes_per_week"),
])
def test_publishing_refuses_wrong_types_naming_the_field(client, db_session, bearer, company, changes, field):
    organisation, staff = company
    payload = {"organisation_id": organisation.id, "name": "Laser", "kind": "equipment", **changes}
    before = count(db_session, Resource)
    response = client.post("/api/v1/resources", json=payload, headers=bearer(staff))
    assert field in fields(response)
    assert count(db_session, Resource) == before


def test_null_is_absent_for_optional_fields(client, bearer, company):
    organisation, staff = company
    response = client.post("/api/v1/resources", headers=bearer(staff), json={
        "organisation_id": organisation.id, "name": "Laser", "kind": "equipment", "description": None,
        "timezone": None, "quota_minutes_per_week": None, "prices": None})
    assert response.status_code == 201, response.json
    assert response.json["timezone"] == "Asia/Shanghai" and response.json["quota_minutes_per_week"] is None


@pytest.mark.parametrize("changes, field", [
    ({"purpose": ["a"]}, "purpose"),
    ({"purpose": 12}, "purpose"),
    ({"organisation_id": "abc"}, "organisation_id"),
    ({"organisation_id": TOO_BIG}, "organisation_id"),
    ({"accept_terms_version": "1"}, "accept_terms_version"),
    ({"repeat_weeks": TOO_BIG}, "repeat_weeks"),
    ({"repeat_weeks": "2"}, "repeat_weeks"),
    ({"skip_conflicts": "yes"}, "skip_conflicts"),
    ({"start": True}, "start"),
    ({"end": ["2026-12-01T10:00:00+08:00"]}, "end"),
])
def test_booking_refuses_wrong_types_naming_the_field(client, db_session, bearer, lab, factories, changes, field):
    user = factories.UserFactory()
    before = count(db_session, Booking)
    for path in ("bookings", "bookings/preview", "waitlist"):
        response = client.post(f"/api/v1/resources/{lab.id}/{path}", headers=bearer(user),
                               json={**body(next_weekday(0), "10:00", "12:00"), **changes})
        assert field in fields(response), path
    assert count(db_session, Booking) == before


def test_decisions_reviews_and_tokens_refuse_wrong_types(client, bearer, lab, company, factories, resource_factories):
    _organisation, staff = company
    booker = factories.UserFactory()
    pending = client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(booker),
                          json=body(next_weekday(0), "10:00", "12:00"))
    assert pending.status_code == 201, pending.json
    booking_id = pending.json["id"]
    assert fields(client.post(f"/api/v1/bookings/{booking_id}/approve", headers=bearer(staff),
                              json={"reject_clashing": "yes"})) == {"reject_clashing"}
    assert fields(client.post(f"/api/v1/bookings/{booking_id}/reject", headers=bearer(staff),
                              json={"reason": ["no"]})) == {"reason"}
    assert fields(client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=bearer(booker),
                              json={"reason": 5})) == {"reason"}
    assert fields(client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=bearer(booker),
                              json={"reason": "x" * 501})) == {"reason"}
    past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    done = resource_factories.BookingFactory(resource=lab, user=booker, start_at=past,
                                             end_at=past + timedelta(hours=2), status="completed")
    for rating in ("5", 6, 0, TOO_BIG, True):
        assert fields(client.post(f"/api/v1/bookings/{done.id}/review", headers=bearer(booker),
                                  json={"rating": rating})) == {"rating"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/calendar-token", headers=bearer(staff),
                              json={"rotate": "yes"})) == {"rotate"}
    assert fields(client.post("/api/v1/me/booking-calendar", headers=bearer(booker), json={"rotate": 1})) == {"rotate"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/publication", headers=bearer(staff),
                              json={"published": "false"})) == {"published"}
    assert fields(client.put(f"/api/v1/resources/{lab.id}/booking-policy", headers=bearer(staff),
                             json={"cancel_free_hours": 24, "late_cancel_fee_percent": TOO_BIG})) == {
        "late_cancel_fee_percent"}
    assert fields(client.put(f"/api/v1/resources/{lab.id}/terms", headers=bearer(staff),
                             json={"terms_text": {"text": "NDA"}})) == {"terms_text"}


def test_staff_tools_refuse_wrong_types(client, db_session, bearer, lab, company):
    _organisation, staff = company
    headers = bearer(staff)
    monday = next_weekday(0)
    blackouts = f"/api/v1/resources/{lab.id}/blackouts"
    assert fields(client.post(blackouts, headers=headers, json={
        "start": at(monday, "09:00"), "end": at(monday, "12:00"), "kind": "flood"})) == {"kind"}
    assert fields(client.post(blackouts, headers=headers, json={
        "start": at(monday, "09:00"), "end": at(monday, "12:00"), "reason": ["x"]})) == {"reason"}
    assert fields(client.post(blackouts, headers=headers, json={
        "start": at(monday, "12:00"), "end": at(monday, "09:00")})) == {"end"}
    exceptions = f"/api/v1/resources/{lab.id}/exceptions"
    assert fields(client.post(exceptions, headers=headers, json={"date": "soon"})) == {"date"}
    assert fields(client.post(exceptions, headers=headers, json={"date": str(monday), "start": "10:00"})) == {"end"}
    assert fields(client.post(exceptions, headers=headers, json={"date": str(monday), "note": 7})) == {"note"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/qualifications", headers=headers,
                              json={"email": ["a@example.com"]})) == {"email"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/qualifications", headers=headers,
                              json={"email": staff.email, "expires_on": 20261201})) == {"expires_on"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/problems", headers=headers,
                              json={"description": {"what": "broken"}})) == {"description"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/problems", headers=headers,
                              json={"description": "   "})) == {"description"}
    assert fields(client.post(f"/api/v1/resources/{lab.id}/training-requests", headers=headers,
                              json={"message": False})) == {"message"}
    assert count(db_session, Blackout) == 0 and count(db_session, OpeningException) == 0
    assert count(db_session, ProblemReport) == 0 and count(db_session, TrainingRequest) == 0


@pytest.mark.parametrize("query, field", [
    ("/api/v1/bookings?resource_id=abc", "resource_id"),
    ("/api/v1/bookings?resource_id=99999999999", "resource_id"),
    ("/api/v1/bookings?status=lost", "status"),
    ("/api/v1/bookings?mine=perhaps", "mine"),
    ("/api/v1/resources?kind=spaceship", "kind"),
    ("/api/v1/resources?organisation_id=-1", "organisation_id"),
])
def test_query_strings_are_typed(client, bearer, factories, query, field):
    assert fields(client.get(query, headers=bearer(factories.UserFactory()))) == {field}


def test_windows_and_months_are_typed(client, bearer, lab, company):
    organisation, staff = company
    assert fields(client.get(f"/api/v1/resources/{lab.id}/availability?from=soon")) == {"from"}
    assert fields(client.get(f"/api/v1/resources/{lab.id}/availability?to=1999-01-01T00:00:00Z")) == {"to"}
    utilisation = f"/api/v1/organisations/{organisation.id}/resource-utilisation"
    assert fields(client.get(f"{utilisation}?from=yesterday", headers=bearer(staff))) == {"from"}
    founder = lab.organisation  # any organisation the caller belongs to may ask for its statement
    statement = f"/api/v1/organisations/{founder.id}/resource-statement"
    assert fields(client.get(f"{statement}?month=2026-13", headers=bearer(staff))) == {"month"}
    assert client.get(f"{statement}?month=2026-11", headers=bearer(staff)).json["month"] == "2026-11"


# ---- response models match the real responses ----------------------------------------------------------

def test_response_models_describe_the_booking_life_cycle(client, bearer, lab, company, factories,
                                                         resource_factories):
    organisation, staff = company
    booker = factories.UserFactory()
    startup = factories.OrganisationFactory(kind="startup", owner=booker)
    monday = next_weekday(0)
    detail = client.get(f"/api/v1/resources/{lab.id}", headers=bearer(staff)).json
    matches(schemas.ResourceOut, detail)
    assert detail["can_edit"] is True
    for item in client.get("/api/v1/resources").json["items"]:
        matches(schemas.ResourceOut, item)
    matches(schemas.AvailabilityOut, client.get(f"/api/v1/resources/{lab.id}/availability").json)
    preview = client.post(f"/api/v1/resources/{lab.id}/bookings/preview", headers=bearer(booker),
                          json=body(monday, "10:00", "12:00", repeat_weeks=2, organisation_id=startup.id))
    assert preview.status_code == 200, preview.json
    matches(schemas.PreviewOut, preview.json)
    for occurrence in preview.json["occurrences"]:
        matches(schemas.OccurrenceOut, occurrence)
    series = client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(booker),
                         json=body(monday, "10:00", "12:00", repeat_weeks=2))
    assert series.status_code == 201, series.json
    matches(schemas.BookingOut, series.json)
    for booking in series.json["bookings"]:
        matches(schemas.BookingOut, booking)
    other = client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(factories.UserFactory()),
                        json=body(monday, "11:00", "13:00"))
    queue = client.get("/api/v1/approvals", headers=bearer(staff)).json
    for item in queue["items"]:
        matches(schemas.BookingOut, item)
    approved = client.post(f"/api/v1/bookings/{series.json['id']}/approve", headers=bearer(staff),
                           json={"reject_clashing": True})
    assert approved.status_code == 200, approved.json
    matches(schemas.BookingOut, approved.json)
    assert approved.json["rejected"] == [other.json["id"]]
    waiting = client.post(f"/api/v1/resources/{lab.id}/waitlist", headers=bearer(staff),
                          json=body(monday, "10:00", "12:00"))
    assert waiting.status_code == 201, waiting.json
    matches(schemas.WaitlistOut, waiting.json)
    for item in client.get("/api/v1/waitlist", headers=bearer(staff)).json["items"]:
        matches(schemas.WaitlistOut, item)
    matches(schemas.WaitlistOut, client.delete(f"/api/v1/waitlist/{waiting.json['id']}", headers=bearer(staff)).json)
    for item in client.get("/api/v1/bookings", headers=bearer(booker)).json["items"]:
        matches(schemas.BookingOut, item)
    history = client.get(f"/api/v1/bookings/{series.json['id']}/history", headers=bearer(booker)).json
    for event in history["items"]:
        matches(schemas.HistoryEventOut, event)
    cancelled = client.post(f"/api/v1/bookings/{series.json['id']}/cancel", headers=bearer(booker), json={})
    matches(schemas.BookingOut, cancelled.json)
    past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    done = resource_factories.BookingFactory(resource=lab, user=booker, start_at=past,
                                             end_at=past + timedelta(hours=2), status="completed",
                                             organisation=startup)
    review = client.post(f"/api/v1/bookings/{done.id}/review", headers=bearer(booker), json={"rating": 4})
    assert review.status_code == 201, review.json
    matches(schemas.ReviewOut, review.json)
    reviews = client.get(f"/api/v1/resources/{lab.id}/reviews").json
    for item in reviews["items"]:
        matches(schemas.PublicReviewOut, item)
    matches(schemas.RatingOut, reviews["rating"])
    matches(schemas.CalendarTokenOut, client.post("/api/v1/me/booking-calendar", headers=bearer(booker)).json)
    matches(schemas.CalendarTokenOut, client.post(f"/api/v1/resources/{lab.id}/calendar-token",
                                                  headers=bearer(staff), json={"rotate": True}).json)
    statement = client.get(f"/api/v1/organisations/{startup.id}/resource-statement?month={past:%Y-%m}",
                           headers=bearer(booker)).json
    matches(schemas.StatementOut, statement)
    assert statement["lines"]
    for line in statement["lines"]:
        matches(schemas.StatementLineOut, line)
    utilisation = client.get(f"/api/v1/organisations/{organisation.id}/resource-utilisation",
                             headers=bearer(staff)).json
    assert utilisation["items"]
    for row in utilisation["items"]:
        matches(schemas.UtilisationOut, row)
    for row in client.get("/api/v1/resources/idle-capacity").json["items"]:
        matches(schemas.IdleOut, row)


def test_response_models_describe_the_staff_tools(client, bearer, lab, company, factories):
    _organisation, staff = company
    headers = bearer(staff)
    monday = next_weekday(0)
    for path, payload in ((f"/api/v1/resources/{lab.id}/publication", {"published": True}),
                          (f"/api/v1/resources/{lab.id}/terms", {"terms_text": "NDA v2"})):
        matches(schemas.ResourceOut, client.post(path, headers=headers, json=payload).json
                if path.endswith("publication") else client.put(path, headers=headers, json=payload).json)
    matches(schemas.ResourceOut, client.put(f"/api/v1/resources/{lab.id}/booking-policy", headers=headers, json={
        "cancel_free_hours": 12, "late_cancel_fee_percent": 20, "quota_minutes_per_week": None}).json)
    matches(schemas.ResourceOut, client.put(f"/api/v1/resources/{lab.id}/prices", headers=headers, json={
        "prices": [{"audience": "external", "unit": "use", "amount": 9900, "currency": "CNY"}]}).json)
    closed = client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=headers, json={"date": str(monday)})
    assert closed.status_code == 201, closed.json
    matches(schemas.ExceptionOut, closed.json)
    hours = client.put(f"/api/v1/resources/{lab.id}/exceptions/{closed.json['id']}", headers=headers,
                       json={"date": str(monday), "start": "10:00", "end": "12:00", "note": "short day"})
    matches(schemas.ExceptionOut, hours.json)
    added = client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=headers,
                        json={"start": at(monday, "13:00"), "end": at(monday, "15:00"), "kind": "outage"})
    assert added.status_code == 201, added.json
    matches(schemas.BlackoutOut, added.json)
    changed = client.put(f"/api/v1/resources/{lab.id}/blackouts/{added.json['id']}", headers=headers,
                         json={"start": "2030-01-07T13:00", "end": "2030-01-07T16:00"})
    assert changed.status_code == 200, changed.json
    matches(schemas.BlackoutOut, changed.json)
    assert changed.json["start"] == "2030-01-07T05:00:00Z"  # no offset: the resource's local time
    listing = client.get(f"/api/v1/resources/{lab.id}/blackouts", headers=headers).json
    for item in listing["items"]:
        matches(schemas.BlackoutOut, item)
    for item in listing["exceptions"]:
        matches(schemas.ExceptionOut, item)
    user = factories.UserFactory()
    reported = client.post(f"/api/v1/resources/{lab.id}/problems", headers=bearer(user),
                           json={"description": "The chiller leaks"})
    matches(schemas.ProblemCreatedOut, reported.json)
    matches(schemas.ProblemOut, client.post(f"/api/v1/resources/{lab.id}/problems/{reported.json['id']}/resolve",
                                            headers=headers, json={"note": "Hose replaced"}).json)
    for item in client.get(f"/api/v1/resources/{lab.id}/problems", headers=headers).json["items"]:
        matches(schemas.ProblemOut, item)
    lab.requires_qualification = True
    asked = client.post(f"/api/v1/resources/{lab.id}/training-requests", headers=bearer(user),
                        json={"message": None})
    assert asked.status_code == 201, asked.json
    matches(schemas.StatusOut, asked.json)
    for item in client.get(f"/api/v1/resources/{lab.id}/training-requests", headers=headers).json["items"]:
        matches(schemas.TrainingRequestOut, item)
    matches(schemas.StatusOut, client.post(f"/api/v1/resources/{lab.id}/training-requests/{asked.json['id']}"
                                           "/decline", headers=headers, json={"reason": "Full this month"}).json)
    granted = client.post(f"/api/v1/resources/{lab.id}/qualifications", headers=headers,
                          json={"email": user.email, "expires_on": str(monday + timedelta(days=90))})
    assert granted.status_code == 201, granted.json
    matches(schemas.QualificationOut, granted.json)
