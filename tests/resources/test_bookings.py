"""Bookings through the API: rules (400 naming the rule, nothing written), overlaps with buffers (409),
prices, approval queue, cancellation policy, quotas, weekly series, waitlist, qualifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.db import utcnow
from resources.models import Booking, WaitlistEntry
from tests.resources.helpers import SHANGHAI, at, body, next_spring_forward_sunday, next_weekday

TERMS = "Drawings stay yours. NDA applies."


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(
        organisation=organisation, name="EMC lab", min_minutes=60, max_minutes=240, buffer_minutes=30,
        advance_days=60, terms_text=TERMS,
        prices=[("incubatee", "hour", 8000), ("startup", "hour", 15000), ("external", "hour", 30000)])


@pytest.fixture
def founder(factories):
    user = factories.UserFactory(roles=["founder"])
    startup = factories.OrganisationFactory(kind="startup", name="AirCare", owner=user)
    return user, startup


def book(client, headers, resource, payload):
    return client.post(f"/api/v1/resources/{resource.id}/bookings", json=payload, headers=headers)


def count_bookings(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Booking))


def test_booking_is_confirmed_with_the_startup_price_and_the_accepted_terms(client, db_session, bearer, lab,
                                                                          founder, mail_outbox):
    user, startup = founder
    monday = next_weekday(0)
    response = book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1))
    assert response.status_code == 201, response.json
    assert response.json["status"] == "confirmed"
    assert response.json["price"] == {"amount": 30000, "currency": "CNY"}  # 2 h at the startup price
    booking = db_session.get(Booking, response.json["id"])
    assert booking.organisation_id == startup.id and booking.audience == "startup"
    assert booking.terms_version == 1
    assert booking.start_at == datetime.fromisoformat(at(monday, "10:00"))
    assert booking.blocked_until - booking.end_at == timedelta(minutes=30)
    assert any(m["To"] == user.email and m["Subject"] == "Booking confirmed" for m in mail_outbox)
    mine = client.get("/api/v1/bookings?mine=1", headers=bearer(user)).json
    assert [item["id"] for item in mine["items"]] == [booking.id]


def test_price_audience_follows_the_booker_organisation(client, bearer, lab, factories):
    outsider = factories.UserFactory(roles=["backer"])
    monday = next_weekday(0)
    response = book(client, bearer(outsider), lab, body(monday, "10:00", "11:30", accept_terms_version=1))
    assert response.status_code == 201
    assert response.json["price"]["amount"] == 45000  # 1.5 h external
    incubated = factories.UserFactory()
    startup = factories.OrganisationFactory(kind="startup", owner=incubated)
    from incubation.models import Project

    project = Project(organisation_id=startup.id, title="Quiet fan", status="incubating")
    from portal.extensions import db

    db.session.add(project)
    db.session.flush()
    response = book(client, bearer(incubated), lab, body(monday, "14:00", "15:00", accept_terms_version=1))
    assert response.status_code == 201
    assert response.json["price"]["amount"] == 8000 and response.json["audience"] == "incubatee"


@pytest.mark.parametrize("start, end, changes, rule", [
    ("12:00", "10:00", {}, "end"),                   # start after end
    ("10:00", "10:00", {}, "end"),                   # zero length
    ("10:00", "10:30", {}, "duration"),              # shorter than min_minutes
    ("09:00", "14:00", {}, "duration"),              # longer than max_minutes
    ("07:00", "09:00", {}, "opening_hours"),         # before opening
    ("17:00", "19:00", {}, "opening_hours"),         # after closing
    ("10:00", "11:00", {"accept_terms_version": None}, "accept_terms_version"),
    ("10:00", "11:00", {"accept_terms_version": 0}, "accept_terms_version"),
    ("10:00", "11:00", {"start": "tomorrow at ten"}, "start"),
    ("10:00", "11:00", {"start": "9999-12-31T10:00:00+08:00", "end": "9999-12-31T11:00:00+08:00"}, "start"),
    ("10:00", "11:00", {"end": 42}, "end"),
    ("10:00", "11:00", {"repeat_weeks": 60}, "repeat_weeks"),
    ("10:00", "11:00", {"organisation_id": 999999}, "organisation_id"),
])
def test_broken_rules_are_400_naming_the_rule_and_write_nothing(client, db_session, bearer, lab, founder,
                                                                start, end, changes, rule):
    user, _startup = founder
    payload = body(next_weekday(0), start, end, accept_terms_version=1)
    payload.update(changes)
    headers = bearer(user)
    before = count_bookings(db_session)
    audit_before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    response = book(client, headers, lab, payload)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert rule in response.json["error"]["fields"], response.json
    assert count_bookings(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_beyond_the_window_in_the_past_and_on_a_closed_day_are_refused(client, bearer, lab, founder):
    user, _ = founder
    headers = bearer(user)
    far = next_weekday(0, weeks_ahead=12)
    assert "advance_days" in book(client, headers, lab, body(far, "10:00", "11:00", accept_terms_version=1)
                                  ).json["error"]["fields"]
    past = (utcnow() - timedelta(days=7)).astimezone(SHANGHAI).date()
    assert "start" in book(client, headers, lab, body(past, "10:00", "11:00", accept_terms_version=1)
                           ).json["error"]["fields"]
    sunday = next_weekday(6)
    assert "opening_hours" in book(client, headers, lab, body(sunday, "10:00", "11:00", accept_terms_version=1)
                                   ).json["error"]["fields"]


def test_overlaps_are_409_and_the_buffer_counts(client, db_session, bearer, lab, founder, factories):
    user, _ = founder
    other = factories.UserFactory()
    monday = next_weekday(0)
    assert book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1)).status_code == 201
    for start, end in (("11:00", "13:00"), ("09:00", "10:30"), ("12:00", "13:00"), ("12:15", "13:15")):
        response = book(client, bearer(other), lab, body(monday, start, end, accept_terms_version=1))
        assert response.status_code == 409, (start, end, response.json)
        assert response.json["error"]["code"] == "conflict"
    # Right after the 30-minute buffer is free again; so is a booking ending 30 min before the next one.
    assert book(client, bearer(other), lab, body(monday, "12:30", "13:30", accept_terms_version=1)).status_code == 201
    assert book(client, bearer(other), lab, body(monday, "15:00", "16:00", accept_terms_version=1)).status_code == 201
    response = book(client, bearer(other), lab, body(monday, "14:00", "14:45", accept_terms_version=1))
    assert response.status_code == 400  # 45 min is below the minimum anyway
    response = book(client, bearer(other), lab, body(monday, "13:30", "14:30", accept_terms_version=1))
    assert response.status_code == 409  # its buffer would run into the 15:00 booking
    assert count_bookings(db_session) == 3


def test_availability_shows_free_slots_with_buffers_and_bookings(client, bearer, lab, founder):
    user, _ = founder
    monday = next_weekday(0)
    book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1))
    response = client.get(f"/api/v1/resources/{lab.id}/availability",
                          query_string={"from": at(monday, "00:00"), "to": at(monday, "23:59")})
    assert response.status_code == 200
    assert response.json["slots"] == [
        {"start": f"{monday}T01:00:00Z", "end": f"{monday}T01:30:00Z"},  # 09:00-09:30 local (buffer before 10:00)
        {"start": f"{monday}T04:30:00Z", "end": f"{monday}T10:00:00Z"},  # 12:30-18:00 local
    ]
    bad = client.get(f"/api/v1/resources/{lab.id}/availability",
                     query_string={"from": at(monday, "12:00"), "to": at(monday, "10:00")})
    assert bad.status_code == 400 and "to" in bad.json["error"]["fields"]
    far = client.get(f"/api/v1/resources/{lab.id}/availability",
                     query_string={"from": "9999-12-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"})
    assert far.status_code == 400 and "from" in far.json["error"]["fields"]
    too_long = client.get(f"/api/v1/resources/{lab.id}/availability",
                          query_string={"from": at(monday, "00:00"), "to": at(monday + timedelta(days=90), "00:00")})
    assert too_long.status_code == 400


def test_availability_is_right_across_daylight_saving(client, resource_factories):
    berlin = ZoneInfo("Europe/Berlin")
    resource = resource_factories.ResourceFactory(timezone="Europe/Berlin",
                                                  opening_hours=[(d, "09:00", "18:00") for d in range(7)])
    # Europe switches to summer time on the last Sunday of March 2027 (28 March).
    response = client.get(f"/api/v1/resources/{resource.id}/availability",
                          query_string={"from": "2027-03-26T00:00:00Z", "to": "2027-03-30T00:00:00Z"})
    slots = response.json["slots"]
    assert slots[0] == {"start": "2027-03-26T08:00:00Z", "end": "2027-03-26T17:00:00Z"}  # winter, UTC+1
    assert slots[-1] == {"start": "2027-03-29T07:00:00Z", "end": "2027-03-29T16:00:00Z"}  # summer, UTC+2
    assert len(slots) == 4
    assert datetime(2027, 3, 29, 9, tzinfo=berlin).astimezone(ZoneInfo("UTC")).hour == 7


def test_exceptions_and_blackouts_shape_availability(client, bearer, lab, company):
    _organisation, staff = company
    headers = bearer(staff)
    monday = next_weekday(0)
    tuesday = monday + timedelta(days=1)
    assert client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=headers,
                       json={"date": monday.isoformat(), "note": "Holiday"}).status_code == 201
    assert client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=headers,
                       json={"date": tuesday.isoformat(), "start": "13:00", "end": "15:00"}).status_code == 201
    response = client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=headers, json={
        "start": at(tuesday, "14:00"), "end": at(tuesday, "14:30"), "kind": "maintenance", "reason": "calibration"})
    assert response.status_code == 201, response.json
    slots = client.get(f"/api/v1/resources/{lab.id}/availability", query_string={
        "from": at(monday, "00:00"), "to": at(tuesday, "23:00")}).json["slots"]
    assert slots == [{"start": f"{tuesday}T05:00:00Z", "end": f"{tuesday}T06:00:00Z"},
                     {"start": f"{tuesday}T06:30:00Z", "end": f"{tuesday}T07:00:00Z"}]
    bad = client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=headers,
                      json={"date": "2026-13-40"})
    assert bad.status_code == 400 and "date" in bad.json["error"]["fields"]


def test_a_booking_in_a_maintenance_window_is_400(client, bearer, lab, company, founder):
    _organisation, staff = company
    user, _ = founder
    monday = next_weekday(0)
    client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff), json={
        "start": at(monday, "09:00"), "end": at(monday, "12:00"), "kind": "maintenance"})
    response = book(client, bearer(user), lab, body(monday, "10:00", "11:00", accept_terms_version=1))
    assert response.status_code == 400 and "blackout" in response.json["error"]["fields"]


def test_approval_queue_warns_before_rejecting_clashing_requests(client, db_session, bearer, resource_factories,
                                                                 company, factories, mail_outbox):
    organisation, staff = company
    line = resource_factories.ResourceFactory(organisation=organisation, requires_approval=True,
                                              min_minutes=60, max_minutes=480)
    first, second, third = (factories.UserFactory() for _ in range(3))
    monday = next_weekday(0)
    a = book(client, bearer(first), line, body(monday, "09:00", "12:00"))
    b = book(client, bearer(second), line, body(monday, "11:00", "13:00"))
    c = book(client, bearer(third), line, body(monday, "14:00", "15:00"))
    assert [r.json["status"] for r in (a, b, c)] == ["pending", "pending", "pending"]
    staff_headers = bearer(staff)
    queue = client.get("/api/v1/approvals", headers=staff_headers).json["items"]
    by_id = {item["id"]: item for item in queue}
    assert by_id[a.json["id"]]["would_reject"] == [b.json["id"]]
    assert by_id[c.json["id"]]["would_reject"] == []
    assert client.get("/api/v1/approvals", headers=bearer(first)).json["items"] == []
    assert client.post(f"/api/v1/bookings/{a.json['id']}/approve", headers=bearer(first), json={}).status_code == 403
    warned = client.post(f"/api/v1/bookings/{a.json['id']}/approve", headers=staff_headers, json={})
    assert warned.status_code == 409 and warned.json["error"]["fields"]["reject_clashing"] == [str(b.json["id"])]
    assert db_session.get(Booking, a.json["id"]).status == "pending"
    approved = client.post(f"/api/v1/bookings/{a.json['id']}/approve", headers=staff_headers,
                           json={"reject_clashing": True})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "confirmed" and approved.json["rejected"] == [b.json["id"]]
    db_session.expire_all()
    assert db_session.get(Booking, b.json["id"]).status == "rejected"
    assert any(m["To"] == second.email and m["Subject"] == "Booking request declined" for m in mail_outbox)
    rejected = client.post(f"/api/v1/bookings/{c.json['id']}/reject", headers=staff_headers, json={"reason": "no"})
    assert rejected.json["status"] == "rejected"
    again = client.post(f"/api/v1/bookings/{c.json['id']}/approve", headers=staff_headers, json={})
    assert again.status_code == 409  # an illegal state change


def test_cancellation_is_free_early_and_costs_the_fee_late(client, db_session, bearer, resource_factories,
                                                          company, founder):
    organisation, _staff = company
    user, _ = founder
    resource = resource_factories.ResourceFactory(organisation=organisation, min_minutes=60,
                                                  opening_hours=[(d, "00:00", "23:59") for d in range(7)])
    resource.cancel_free_hours, resource.late_cancel_fee_percent = 48, 40
    headers = bearer(user)
    # Noon local on the day 26 hours from now: between 14 and 38 hours ahead, inside the 48-hour fee period.
    soon = (utcnow() + timedelta(hours=26)).astimezone(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    later = soon + timedelta(days=5)
    near = book(client, headers, resource, {"start": soon.isoformat(), "end": (soon + timedelta(hours=2)).isoformat()})
    far = book(client, headers, resource, {"start": later.isoformat(), "end": (later + timedelta(hours=2)).isoformat()})
    assert near.status_code == far.status_code == 201
    cancelled = client.post(f"/api/v1/bookings/{far.json['id']}/cancel", headers=headers, json={})
    assert cancelled.json["status"] == "cancelled" and cancelled.json["cancel_fee"]["amount"] == 0
    late = client.post(f"/api/v1/bookings/{near.json['id']}/cancel", headers=headers, json={})
    assert late.json["cancel_fee"]["amount"] == near.json["price"]["amount"] * 40 // 100 > 0
    assert client.post(f"/api/v1/bookings/{near.json['id']}/cancel", headers=headers, json={}).status_code == 409
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.late_cancel_fee")) is not None


def test_waitlist_is_promoted_when_the_slot_frees(client, db_session, bearer, lab, founder, factories, mail_outbox):
    user, _ = founder
    waiting = factories.UserFactory()
    monday = next_weekday(0)
    taken = book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1))
    free = client.post(f"/api/v1/resources/{lab.id}/waitlist", headers=bearer(waiting),
                       json=body(monday, "15:00", "16:00", accept_terms_version=1))
    assert free.status_code == 409  # free: just book it
    joined = client.post(f"/api/v1/resources/{lab.id}/waitlist", headers=bearer(waiting),
                         json=body(monday, "10:00", "11:00", accept_terms_version=1))
    assert joined.status_code == 201, joined.json
    client.post(f"/api/v1/bookings/{taken.json['id']}/cancel", headers=bearer(user), json={})
    entry = db_session.get(WaitlistEntry, joined.json["id"])
    db_session.refresh(entry)
    assert entry.status == "promoted"
    promoted = db_session.get(Booking, entry.booking_id)
    assert promoted.user_id == waiting.id and promoted.status == "confirmed"
    assert any(m["To"] == waiting.email and "waited for" in m["Subject"] for m in mail_outbox)


def test_waitlist_entries_can_be_withdrawn(client, db_session, bearer, login, lab, founder, factories):
    user, _ = founder
    waiting = factories.UserFactory()
    monday = next_weekday(0)
    taken = book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1))
    first = client.post(f"/api/v1/resources/{lab.id}/waitlist", headers=bearer(waiting),
                        json=body(monday, "10:00", "11:00", accept_terms_version=1)).json
    assert [e["id"] for e in client.get("/api/v1/waitlist", headers=bearer(waiting)).json["items"]] == [first["id"]]
    assert client.delete(f"/api/v1/waitlist/{first['id']}", headers=bearer(user)).status_code == 404
    assert client.delete(f"/api/v1/waitlist/{first['id']}", headers=bearer(waiting)).json["status"] == "withdrawn"
    assert client.delete(f"/api/v1/waitlist/{first['id']}", headers=bearer(waiting)).status_code == 409
    second = client.post(f"/api/v1/resources/{lab.id}/waitlist", headers=bearer(waiting),
                         json=body(monday, "11:00", "12:00", accept_terms_version=1)).json
    login(waiting)
    assert "Leave the waitlist" in client.get("/resources/bookings").get_data(as_text=True)
    assert client.post(f"/resources/waitlist/{second['id']}/withdraw").status_code == 302
    client.post(f"/api/v1/bookings/{taken.json['id']}/cancel", headers=bearer(user), json={})
    assert db_session.scalar(select(func.count()).select_from(Booking).where(Booking.user_id == waiting.id)) == 0


def test_weekly_quota_per_startup(client, bearer, lab, founder, factories):
    user, startup = founder
    colleague = factories.UserFactory()
    factories.MembershipFactory(organisation=startup, user=colleague)
    lab.quota_minutes_per_week = 180
    monday = next_weekday(0)
    assert book(client, bearer(user), lab, body(monday, "10:00", "12:00", accept_terms_version=1)).status_code == 201
    response = book(client, bearer(colleague), lab, body(monday + timedelta(days=2), "10:00", "12:00",
                                                          accept_terms_version=1, organisation_id=startup.id))
    assert response.status_code == 400 and "quota" in response.json["error"]["fields"]
    next_week = book(client, bearer(colleague), lab, body(monday + timedelta(days=7), "10:00", "12:00",
                                                           accept_terms_version=1))
    assert next_week.status_code == 201


def test_weekly_series_preview_then_book_keeps_local_time_across_dst(client, bearer, resource_factories, company,
                                                                    factories):
    organisation, _ = company
    resource = resource_factories.ResourceFactory(organisation=organisation, timezone="Europe/Berlin",
                                                  advance_days=730, opening_hours=[(d, "08:00", "18:00") for d in range(5)])
    user = factories.UserFactory()
    other = factories.UserFactory()
    headers = bearer(user)
    # Four Mondays at 10:00 Berlin around the switch to summer time: two in winter (UTC+1), two in summer.
    sunday = next_spring_forward_sunday()
    mondays = [sunday - timedelta(days=13), sunday - timedelta(days=6), sunday + timedelta(days=1),
               sunday + timedelta(days=8)]
    blocker = client.post(f"/api/v1/resources/{resource.id}/bookings", headers=bearer(other), json={
        "start": f"{mondays[1]}T10:30:00+01:00", "end": f"{mondays[1]}T11:30:00+01:00"})
    assert blocker.status_code == 201, blocker.json
    series = {"start": f"{mondays[0]}T10:00:00+01:00", "end": f"{mondays[0]}T11:00:00+01:00", "repeat_weeks": 4}
    preview = client.post(f"/api/v1/resources/{resource.id}/bookings/preview", headers=headers, json=series)
    assert preview.status_code == 200, preview.json
    rows = preview.json["occurrences"]
    expected = [f"{mondays[0]}T09:00:00Z", f"{mondays[1]}T09:00:00Z", f"{mondays[2]}T08:00:00Z",
                f"{mondays[3]}T08:00:00Z"]
    assert [r["start"] for r in rows] == expected
    assert [r["ok"] for r in rows] == [True, False, True, True]
    assert rows[1]["conflicts"] == [blocker.json["id"]]
    refused = client.post(f"/api/v1/resources/{resource.id}/bookings", headers=headers, json=series)
    assert refused.status_code == 409
    booked = client.post(f"/api/v1/resources/{resource.id}/bookings", headers=headers,
                         json={**series, "skip_conflicts": True})
    assert booked.status_code == 201, booked.json
    assert [b["start"] for b in booked.json["bookings"]] == [expected[0], expected[2], expected[3]]
    assert len({b["series"] for b in booked.json["bookings"]}) == 1


def test_qualification_required_training_request_and_expiry(client, bearer, resource_factories, company, factories,
                                                            mail_outbox):
    organisation, staff = company
    cnc = resource_factories.ResourceFactory(organisation=organisation, requires_qualification=True, min_minutes=60)
    user = factories.UserFactory()
    headers = bearer(user)
    monday = next_weekday(0, weeks_ahead=2)
    refused = book(client, headers, cnc, body(monday, "10:00", "11:00"))
    assert refused.status_code == 400 and "qualification" in refused.json["error"]["fields"]
    training = client.post(f"/api/v1/resources/{cnc.id}/training-requests", headers=headers,
                           json={"message": "I ran a Haas VF-2 for two years"})
    assert training.status_code == 201
    assert any(m["Subject"].startswith("Training request") for m in mail_outbox)
    assert client.post(f"/api/v1/resources/{cnc.id}/training-requests", headers=headers, json={}).status_code == 409
    assert client.post(f"/api/v1/resources/{cnc.id}/qualifications", headers=headers,
                       json={"email": user.email}).status_code == 403
    expiring = (monday - timedelta(days=3)).isoformat()
    granted = client.post(f"/api/v1/resources/{cnc.id}/qualifications", headers=bearer(staff),
                          json={"email": user.email, "expires_on": expiring})
    assert granted.status_code == 201, granted.json
    expired = book(client, headers, cnc, body(monday, "10:00", "11:00"))
    assert expired.status_code == 400 and "qualification" in expired.json["error"]["fields"]
    client.post(f"/api/v1/resources/{cnc.id}/qualifications", headers=bearer(staff), json={"email": user.email})
    assert book(client, headers, cnc, body(monday, "10:00", "11:00")).status_code == 201


def test_outage_cancels_affected_bookings_and_mails_alternatives(client, db_session, bearer, resource_factories,
                                                                 company, founder, mail_outbox):
    organisation, staff = company
    user, _ = founder
    broken = resource_factories.ResourceFactory(organisation=organisation, kind="equipment", name="Laser A")
    spare = resource_factories.ResourceFactory(kind="equipment", name="Laser B")
    resource_factories.ResourceFactory(kind="lab", name="Not a laser")
    monday = next_weekday(0)
    booked = book(client, bearer(user), broken, body(monday, "10:00", "12:00"))
    problem = client.post(f"/api/v1/resources/{broken.id}/problems", headers=bearer(user),
                          json={"description": "The tube does not fire"})
    assert problem.status_code == 201
    outage = client.post(f"/api/v1/resources/{broken.id}/blackouts", headers=bearer(staff), json={
        "start": at(monday, "08:00"), "end": at(monday + timedelta(days=1), "18:00"), "kind": "outage",
        "reason": "laser tube replaced"})
    assert outage.status_code == 201 and outage.json["cancelled"] == [booked.json["id"]]
    booking = db_session.get(Booking, booked.json["id"])
    db_session.refresh(booking)
    assert booking.status == "cancelled" and booking.cancel_fee_amount == 0
    mail = next(m for m in mail_outbox if m["To"] == user.email and "cancelled" in m["Subject"])
    text = mail.get_content()
    assert "Laser B" in text and f"/resources/{spare.id}/calendar" in text and "Not a laser" not in text
    slots = client.get(f"/api/v1/resources/{broken.id}/availability",
                       query_string={"from": at(monday, "00:00"), "to": at(monday, "23:00")}).json["slots"]
    assert slots == []


def test_reviews_only_after_completion_and_averages_are_public(client, db_session, bearer, resource_factories,
                                                              company, factories):
    organisation, staff = company
    resource = resource_factories.ResourceFactory(organisation=organisation)
    user = factories.UserFactory()
    past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    done = resource_factories.BookingFactory(resource=resource, user=user, start_at=past,
                                             end_at=past + timedelta(hours=2))
    upcoming = resource_factories.BookingFactory(resource=resource, user=user)
    headers = bearer(user)
    assert client.post(f"/api/v1/bookings/{done.id}/review", headers=headers,
                       json={"rating": 5}).status_code == 409  # not completed yet
    assert client.post(f"/api/v1/bookings/{done.id}/complete", headers=headers, json={}).status_code == 403
    assert client.post(f"/api/v1/bookings/{upcoming.id}/complete", headers=bearer(staff),
                       json={}).status_code == 409
    assert client.post(f"/api/v1/bookings/{done.id}/complete", headers=bearer(staff),
                       json={}).json["status"] == "completed"
    assert client.post(f"/api/v1/bookings/{done.id}/review", headers=headers,
                       json={"rating": 7}).status_code == 400
    review = client.post(f"/api/v1/bookings/{done.id}/review", headers=headers,
                         json={"rating": 4, "comment": "Clean and calibrated"})
    assert review.status_code == 201, review.json
    assert client.post(f"/api/v1/bookings/{done.id}/review", headers=headers,
                       json={"rating": 5}).status_code == 409
    public = client.get(f"/api/v1/resources/{resource.id}").json
    assert public["rating"] == {"average": 4.0, "count": 1}
    listing = client.get(f"/api/v1/resources/{resource.id}/reviews").json
    assert listing["items"][0]["comment"] == "Clean and calibrated"


def test_periodic_job_completes_ended_bookings_and_rejects_stale_requests(db_session, resource_factories):
    from resources import tasks

    past = utcnow().replace(microsecond=0) - timedelta(days=1)
    ended = resource_factories.BookingFactory(start_at=past, end_at=past + timedelta(hours=1))
    stale = resource_factories.BookingFactory(start_at=past, end_at=past + timedelta(hours=1), status="pending")
    tasks.complete_past_bookings()
    assert (ended.status, stale.status) == ("completed", "rejected")


def test_bookings_are_private_to_booker_and_company(client, bearer, lab, founder, factories, company):
    user, _ = founder
    _organisation, staff = company
    created = book(client, bearer(user), lab, body(next_weekday(0), "10:00", "11:00", accept_terms_version=1))
    url = f"/api/v1/bookings/{created.json['id']}"
    assert client.get(url, headers=bearer(factories.UserFactory())).status_code == 403
    assert client.get(url, headers=bearer(staff)).status_code == 200
    assert client.get(url).status_code == 401
    assert client.post(f"{url}/cancel", headers=bearer(factories.UserFactory()), json={}).status_code == 403
    company_view = client.get("/api/v1/bookings", headers=bearer(staff)).json
    assert created.json["id"] in [b["id"] for b in company_view["items"]]
    assert client.get("/api/v1/bookings?mine=1", headers=bearer(staff)).json["total"] == 0


def test_every_booking_route_is_documented(client):
    document = client.get("/api/v1/openapi.json").json
    for path, operations in document["paths"].items():
        if path.startswith(("/resources", "/bookings", "/approvals", "/me/booking")) or "resource-" in path:
            for operation in operations.values():
                assert "x-undocumented" not in operation, path


def test_availability_and_booking_agree_on_random_requests(client, bearer, resource_factories, company, factories):
    """A request succeeds exactly when it fits inside one free slot the availability API showed just before."""
    import random

    organisation, _ = company
    resource = resource_factories.ResourceFactory(organisation=organisation, min_minutes=30, max_minutes=240,
                                                  buffer_minutes=20,
                                                  opening_hours=[(d, "09:00", "12:00") for d in range(5)]
                                                  + [(d, "13:00", "18:00") for d in range(5)])
    headers = bearer(factories.UserFactory())
    rng = random.Random(4)
    monday = next_weekday(0)
    window = {"from": at(monday, "00:00"), "to": at(monday + timedelta(days=1), "00:00")}
    outcomes = set()
    for _ in range(60):
        slots = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in client.get(
            f"/api/v1/resources/{resource.id}/availability", query_string=window).json["slots"]]
        start_minute = 8 * 60 + 15 * rng.randrange(44)
        length = 15 * rng.randrange(2, 12)
        start = datetime.fromisoformat(at(monday, f"{start_minute // 60}:{start_minute % 60:02d}"))
        end = start + timedelta(minutes=length)
        fits = any(a <= start and end <= b for a, b in slots)
        response = book(client, headers, resource, {"start": start.isoformat(), "end": end.isoformat()})
        assert (response.status_code == 201) == fits, (start, end, slots, response.json)
        if not fits:
            assert response.status_code in (400, 409)
        outcomes.add(response.status_code)
    assert outcomes == {201, 400, 409}
