"""What a lab manager and a founder need after the first release: mail in the recipient's language,
resolving problem reports and declining training requests, editing and removing dated exceptions and
closures, and the monthly statement as a CSV file. HTML and API go through the same services."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.db import utcnow
from resources.models import Blackout, Booking, OpeningException, ProblemReport, TrainingRequest
from tests.resources.helpers import at, body, next_weekday


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(organisation=organisation, name="Additive lab", min_minutes=60,
                                              terms_text="NDA applies")


def book(client, headers, resource, data):
    return client.post(f"/api/v1/resources/{resource.id}/bookings", headers=headers, json=data)


def subjects_to(outbox, email: str) -> list[str]:
    return [m["Subject"] for m in outbox if m["To"] == email]


# ---- 1. mail in the recipient's language ---------------------------------------------------------------

def test_booking_mails_go_out_in_each_recipients_language(client, bearer, login, factories, company,
                                                          resource_factories, mail_outbox):
    organisation, staff = company
    staff.locale = "en"
    chinese_staff = factories.UserFactory(locale="zh_CN")
    factories.MembershipFactory(organisation=organisation, user=chinese_staff)
    line = resource_factories.ResourceFactory(organisation=organisation, name="CNC line", requires_approval=True)
    booker = factories.UserFactory(locale="zh_CN")
    english = factories.UserFactory(locale="en")
    monday = next_weekday(0)
    # The request itself is in English: the mails still follow each recipient's own locale.
    request = book(client, {**bearer(booker), "Accept-Language": "en"}, line, body(monday, "10:00", "12:00"))
    assert request.status_code == 201, request.json
    assert subjects_to(mail_outbox, booker.email) == ["已收到预约申请"]
    assert subjects_to(mail_outbox, staff.email) == ["New booking request for CNC line"]
    assert subjects_to(mail_outbox, chinese_staff.email) == ["CNC line 有新的预约申请"]
    mail_outbox.clear()
    rejected = client.post(f"/api/v1/bookings/{request.json['id']}/reject", headers=bearer(staff), json={})
    assert rejected.status_code == 200
    assert subjects_to(mail_outbox, booker.email) == ["预约申请被拒绝"]
    message = next(m for m in mail_outbox if m["To"] == booker.email)
    assert "已被企业拒绝。" in message.get_content()  # the default reason in the booker's language too
    # An English booker of the same lab, the request sent by a Chinese-speaking browser: English mail.
    mail_outbox.clear()
    lab = resource_factories.ResourceFactory(organisation=organisation, name="Print lab", min_minutes=60)
    made = book(client, {**bearer(english), "Accept-Language": "zh-CN"}, lab,
                body(monday, "14:00", "15:00", accept_terms_version=1))
    assert made.status_code == 201, made.json
    assert subjects_to(mail_outbox, english.email) == ["Booking confirmed"]


def test_a_zh_cn_user_gets_a_chinese_confirmation_subject(client, bearer, lab, factories, mail_outbox):
    user = factories.UserFactory(locale="zh_CN")
    response = book(client, bearer(user), lab, body(next_weekday(1), "10:00", "11:00", accept_terms_version=1))
    assert response.status_code == 201, response.json
    assert subjects_to(mail_outbox, user.email) == ["预约已确认"]
    text = next(m for m in mail_outbox if m["To"] == user.email).get_content()
    assert "Additive lab" in text and "Status:" not in text


def test_outage_mail_is_in_the_bookers_language(client, bearer, lab, company, factories, mail_outbox):
    _organisation, staff = company
    user = factories.UserFactory(locale="zh_CN")
    monday = next_weekday(0)
    assert book(client, bearer(user), lab, body(monday, "10:00", "11:00", accept_terms_version=1)).status_code == 201
    mail_outbox.clear()
    down = client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff),
                       json={"start": at(monday, "09:00"), "end": at(monday, "18:00"), "kind": "outage",
                             "reason": "laser broken"})
    assert down.status_code == 201 and len(down.json["cancelled"]) == 1
    assert subjects_to(mail_outbox, user.email) == ["您对 Additive lab 的预约已取消"]
    assert f"{monday.isoformat()} 09:00" in next(m for m in mail_outbox if m["To"] == user.email).get_content()


# ---- 2. problem reports and training requests ----------------------------------------------------------

def test_staff_resolve_a_problem_report_and_the_reporter_is_told(client, bearer, login, lab, company, factories,
                                                                 db_session, mail_outbox):
    _organisation, staff = company
    reporter = factories.UserFactory(locale="en")
    made = client.post(f"/api/v1/resources/{lab.id}/problems", headers=bearer(reporter),
                       json={"description": "The extruder clogs"})
    assert made.status_code == 201
    report_id = made.json["id"]
    url = f"/api/v1/resources/{lab.id}/problems/{report_id}/resolve"
    # No note: 400 naming the field, nothing written.
    empty = client.post(url, headers=bearer(staff), json={"note": "  "})
    assert empty.status_code == 400 and "note" in empty.json["error"]["fields"]
    assert db_session.get(ProblemReport, report_id).resolved_at is None
    # Only staff of the owning company.
    assert client.post(url, headers=bearer(reporter), json={"note": "fixed"}).status_code == 403
    mail_outbox.clear()
    done = client.post(url, headers=bearer(staff), json={"note": "Nozzle replaced"})
    assert done.status_code == 200, done.json
    assert done.json["resolved_at"] and done.json["resolution_note"] == "Nozzle replaced"
    assert subjects_to(mail_outbox, reporter.email) == ["Your problem report on Additive lab is resolved"]
    assert "Nozzle replaced" in next(m for m in mail_outbox if m["To"] == reporter.email).get_content()
    assert client.post(url, headers=bearer(staff), json={"note": "again"}).status_code == 409
    listed = client.get(f"/api/v1/resources/{lab.id}/problems", headers=bearer(staff)).json["items"]
    assert listed[0]["resolution_note"] == "Nozzle replaced"
    assert db_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "resource.problem_resolved")) == 1
    # In the HTML: another report resolved from the manage page, the note shown there.
    second = client.post(f"/api/v1/resources/{lab.id}/problems", headers=bearer(reporter),
                         json={"description": "Door sticks"}).json["id"]
    login(staff)
    page = client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)
    assert "Nozzle replaced" in page and f"/problems/{second}/resolve" in page
    assert client.post(f"/resources/{lab.id}/problems/{second}/resolve", data={"note": ""}).status_code == 400
    response = client.post(f"/resources/{lab.id}/problems/{second}/resolve", data={"note": "Hinge oiled"})
    assert response.status_code == 302
    assert "Hinge oiled" in client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)


def test_staff_decline_a_training_request_with_a_reason(client, bearer, login, company, factories,
                                                        resource_factories, db_session, mail_outbox):
    organisation, staff = company
    laser = resource_factories.ResourceFactory(organisation=organisation, name="Laser cutter",
                                               requires_qualification=True)
    user = factories.UserFactory(locale="zh_CN")
    asked = client.post(f"/api/v1/resources/{laser.id}/training-requests", headers=bearer(user),
                        json={"message": "Need it for enclosures"})
    assert asked.status_code == 201
    url = f"/api/v1/resources/{laser.id}/training-requests/{asked.json['id']}/decline"
    missing = client.post(url, headers=bearer(staff), json={})
    assert missing.status_code == 400 and "reason" in missing.json["error"]["fields"]
    assert db_session.get(TrainingRequest, asked.json["id"]).status == "open"
    assert client.post(url, headers=bearer(user), json={"reason": "x"}).status_code == 403
    listed = client.get(f"/api/v1/resources/{laser.id}/training-requests", headers=bearer(staff)).json["items"]
    assert [t["id"] for t in listed] == [asked.json["id"]]
    mail_outbox.clear()
    declined = client.post(url, headers=bearer(staff), json={"reason": "Sessions are full until March"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    mail = next(m for m in mail_outbox if m["To"] == user.email)
    assert "Laser cutter" in mail["Subject"]
    assert "Sessions are full until March" in mail.get_content()
    assert client.post(url, headers=bearer(staff), json={"reason": "again"}).status_code == 409
    # The user may ask again later; staff decline that one in the HTML.
    again = client.post(f"/api/v1/resources/{laser.id}/training-requests", headers=bearer(user), json={})
    assert again.status_code == 201
    login(staff)
    page = client.get(f"/resources/{laser.id}/manage").get_data(as_text=True)
    assert f"/training/{again.json['id']}/decline" in page and "data-confirm" in page
    response = client.post(f"/resources/{laser.id}/training/{again.json['id']}/decline",
                           data={"reason": "Not this quarter"})
    assert response.status_code == 302
    assert db_session.get(TrainingRequest, again.json["id"]).status == "declined"


# ---- 3. dated exceptions and closures: edit and remove ----------------------------------------------------

def slots(client, resource, window) -> list[tuple[datetime, datetime]]:
    data = client.get(f"/api/v1/resources/{resource.id}/availability", query_string=window).json["slots"]
    return [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in data]


def local(day, clock: str) -> datetime:
    return datetime.fromisoformat(at(day, clock))


def test_edit_and_remove_a_dated_exception(client, bearer, login, lab, company, factories, db_session):
    _organisation, staff = company
    monday = next_weekday(0)
    made = client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=bearer(staff),
                       json={"date": monday.isoformat(), "note": "Holiday"})
    assert made.status_code == 201 and made.json["closed"]
    url = f"/api/v1/resources/{lab.id}/exceptions/{made.json['id']}"
    window = {"from": at(monday, "00:00"), "to": at(monday, "23:59")}
    assert client.get(f"/api/v1/resources/{lab.id}/availability", query_string=window).json["slots"] == []
    bad = client.put(url, headers=bearer(staff), json={"date": monday.isoformat(), "start": "14:00", "end": "10:00"})
    assert bad.status_code == 400 and "end" in bad.json["error"]["fields"]
    assert db_session.get(OpeningException, made.json["id"]).opens is None  # unchanged
    changed = client.put(url, headers=bearer(staff),
                         json={"date": monday.isoformat(), "start": "10:00", "end": "14:00", "note": "Half day"})
    assert changed.status_code == 200 and changed.json["start"] == "10:00" and changed.json["note"] == "Half day"
    assert slots(client, lab, window) == [(local(monday, "10:00"), local(monday, "14:00"))]
    assert client.delete(url, headers=bearer(factories.UserFactory())).status_code == 403
    assert client.delete(url, headers=bearer(staff)).status_code == 204
    assert db_session.get(OpeningException, made.json["id"]) is None
    assert slots(client, lab, window) == [(local(monday, "09:00"), local(monday, "18:00"))]  # weekly hours again
    # HTML: add, edit, remove from the manage page; the remove button asks first.
    login(staff)
    other = client.post(f"/api/v1/resources/{lab.id}/exceptions", headers=bearer(staff),
                        json={"date": monday.isoformat(), "note": "Inventory"}).json["id"]
    page = client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)
    assert f'data-exception-id="{other}"' in page and "Remove this exception?" in page
    assert client.post(f"/resources/{lab.id}/exceptions/{other}", data={
        "action": "save", "date": "not a date"}).status_code == 400
    assert client.post(f"/resources/{lab.id}/exceptions/{other}", data={
        "action": "save", "date": monday.isoformat(), "start": "09:00", "end": "12:00", "note": "Morning"}
    ).status_code == 302
    row = db_session.get(OpeningException, other)
    db_session.refresh(row)
    assert row.note == "Morning" and row.closes.strftime("%H:%M") == "12:00"
    assert client.post(f"/resources/{lab.id}/exceptions/{other}", data={"action": "delete"}).status_code == 302
    assert db_session.get(OpeningException, other) is None


def test_removing_a_closure_frees_the_time_and_moving_it_cancels_what_it_covers(
        client, bearer, login, lab, company, factories, db_session, mail_outbox):
    _organisation, staff = company
    user = factories.UserFactory()
    monday = next_weekday(0)
    made = client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff),
                       json={"start": at(monday, "09:00"), "end": at(monday, "12:00"), "kind": "maintenance",
                             "reason": "Calibration"})
    assert made.status_code == 201
    url = f"/api/v1/resources/{lab.id}/blackouts/{made.json['id']}"
    blocked = book(client, bearer(user), lab, body(monday, "10:00", "11:00", accept_terms_version=1))
    assert blocked.status_code == 400 and "blackout" in blocked.json["error"]["fields"]
    listed = client.get(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff)).json
    assert [b["id"] for b in listed["items"]] == [made.json["id"]]
    assert client.delete(url, headers=bearer(user)).status_code == 403
    assert client.delete(url, headers=bearer(staff)).status_code == 204
    assert db_session.get(Blackout, made.json["id"]) is None
    freed = book(client, bearer(user), lab, body(monday, "10:00", "11:00", accept_terms_version=1))
    assert freed.status_code == 201, freed.json
    # A new closure in the afternoon, then moved over the booking: the booking is cancelled and mailed.
    later = client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff),
                        json={"start": at(monday, "14:00"), "end": at(monday, "16:00"), "kind": "blackout"}).json
    assert later["cancelled"] == []
    later_url = f"/api/v1/resources/{lab.id}/blackouts/{later['id']}"
    bad = client.put(later_url, headers=bearer(staff),
                     json={"start": at(monday, "16:00"), "end": at(monday, "09:00"), "kind": "blackout"})
    assert bad.status_code == 400 and "end" in bad.json["error"]["fields"]
    assert db_session.get(Booking, freed.json["id"]).status == "confirmed"
    mail_outbox.clear()
    moved = client.put(later_url, headers=bearer(staff),
                       json={"start": at(monday, "09:00"), "end": at(monday, "13:00"), "kind": "outage",
                             "reason": "Power work"})
    assert moved.status_code == 200, moved.json
    assert moved.json["cancelled"] == [freed.json["id"]] and moved.json["kind"] == "outage"
    assert db_session.get(Booking, freed.json["id"]).status == "cancelled"
    assert subjects_to(mail_outbox, user.email) == ["Your booking of Additive lab is cancelled"]
    # The afternoon is bookable again now that the closure moved away from it.
    assert book(client, bearer(user), lab, body(monday, "14:00", "15:00", accept_terms_version=1)).status_code == 201
    # HTML: edit and remove from the manage page, with confirmation on the destructive buttons.
    login(staff)
    page = client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)
    assert f'data-blackout-id="{later["id"]}"' in page and "Remove this closure?" in page
    edit = f"/resources/{lab.id}/blackouts/{later['id']}"
    assert client.post(edit, data={"action": "save", "start": f"{monday}T12:00", "end": f"{monday}T11:00",
                                   "kind": "outage"}).status_code == 400
    assert client.post(edit, data={"action": "save", "start": f"{monday}T09:00", "end": f"{monday}T10:00",
                                   "kind": "maintenance", "reason": "Short"}).status_code == 302
    row = db_session.get(Blackout, later["id"])
    db_session.refresh(row)
    assert row.kind == "maintenance" and row.ends_at == datetime.fromisoformat(at(monday, "10:00"))
    assert client.post(edit, data={"action": "delete"}).status_code == 302
    assert db_session.get(Blackout, later["id"]) is None
    actions = set(db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("resource.blackout%"))))
    assert {"resource.blackout_changed", "resource.blackout_deleted"} <= actions


def test_other_resources_rows_are_not_reachable(client, bearer, lab, company, resource_factories):
    _organisation, staff = company
    foreign = resource_factories.ResourceFactory(name="Elsewhere")
    monday = next_weekday(0)
    row = Blackout(resource_id=foreign.id, kind="blackout", starts_at=datetime.fromisoformat(at(monday, "09:00")),
                   ends_at=datetime.fromisoformat(at(monday, "10:00")))
    from portal.extensions import db

    db.session.add(row)
    db.session.flush()
    assert client.delete(f"/api/v1/resources/{lab.id}/blackouts/{row.id}", headers=bearer(staff)).status_code == 404


# ---- 4. the monthly statement as CSV --------------------------------------------------------------------

def test_statement_csv_for_the_startups_bookkeeping(client, bearer, login, company, factories, resource_factories):
    organisation, _staff = company
    user = factories.UserFactory(name="=cmd|' /C calc'!A0")
    startup = factories.OrganisationFactory(kind="startup", owner=user, name="GreenBrew")
    lab = resource_factories.ResourceFactory(organisation=organisation, name="@SUM(1+1) lab")
    start = utcnow().replace(day=15, hour=2, minute=0, second=0, microsecond=0)
    resource_factories.BookingFactory(resource=lab, user=user, organisation=startup, start_at=start,
                                      end_at=start + timedelta(hours=2), price_amount=30000, terms_version=1)
    resource_factories.BookingFactory(resource=lab, user=user, organisation=startup,
                                      start_at=start + timedelta(hours=5), end_at=start + timedelta(hours=6),
                                      status="cancelled", cancel_fee_amount=7500)
    month = start.strftime("%Y-%m")
    url = f"/api/v1/organisations/{startup.id}/resource-statement.csv?month={month}"
    response = client.get(url, headers=bearer(user))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"resource-statement-{startup.id}-{month}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["booking_id", "resource", "company"]
    assert [(r[7], r[12]) for r in rows[1:]] == [("booking", "30000"), ("late_cancel_fee", "7500"), ("total", "37500")]
    assert rows[1][1] == "'@SUM(1+1) lab" and rows[1][6].startswith("'=")  # no formula runs in a spreadsheet
    assert rows[1][11] == "1"  # the accepted terms version
    assert client.get(url, headers=bearer(factories.UserFactory())).status_code == 403
    bad = client.get(f"/api/v1/organisations/{startup.id}/resource-statement.csv?month=2026-13", headers=bearer(user))
    assert bad.status_code == 400 and "month" in bad.json["error"]["fields"]
    login(user)
    page = client.get(f"/resources/statements/{startup.id}?month={month}").get_data(as_text=True)
    assert f"/resources/statements/{startup.id}.csv?month={month}" in page
    html_csv = client.get(f"/resources/statements/{startup.id}.csv?month={month}")
    assert html_csv.status_code == 200 and html_csv.get_data(as_text=True) == response.get_data(as_text=True)


# ---- 5. a booking's own page: stored price, accepted terms, history ---------------------------------------

def test_booking_page_shows_stored_price_accepted_terms_and_history(client, bearer, login, lab, company, factories):
    _organisation, staff = company
    user = factories.UserFactory(locale="en")
    startup = factories.OrganisationFactory(kind="startup", owner=user, name="GreenBrew")
    made = book(client, bearer(user), lab, body(next_weekday(2), "10:00", "12:00", accept_terms_version=1,
                                                organisation_id=startup.id))
    assert made.status_code == 201, made.json
    booking_id = made.json["id"]
    # The price table and the terms change afterwards: the booking keeps what was agreed.
    assert client.put(f"/api/v1/resources/{lab.id}/prices", headers=bearer(staff), json={"prices": [
        {"audience": "startup", "unit": "hour", "amount": 99900, "currency": "CNY"}]}).status_code == 200
    assert client.put(f"/api/v1/resources/{lab.id}/terms", headers=bearer(staff),
                      json={"terms_text": "New NDA"}).status_code == 200
    assert client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=bearer(staff),
                       json={"reason": "Machine reserved for an audit"}).status_code == 200
    history = client.get(f"/api/v1/bookings/{booking_id}/history", headers=bearer(user)).json["items"]
    assert [e["action"] for e in history] == ["booking.created", "booking.cancelled"]
    assert history[0]["after"]["price"] == 30000 and history[0]["after"]["terms_version"] == 1
    assert history[1]["actor"]["id"] == staff.id and history[1]["after"]["reason"] == "Machine reserved for an audit"
    assert client.get(f"/api/v1/bookings/{booking_id}/history",
                      headers=bearer(factories.UserFactory())).status_code == 403
    login(user)
    client.post("/language", data={"locale": "en"})
    html = client.get(f"/resources/bookings/{booking_id}").get_data(as_text=True)
    assert "300.00" in html and "999.00" not in html  # the stored price, not today's table
    assert "version 1" in html and "current: version 2" in html
    assert 'data-action="booking.created"' in html and 'data-action="booking.cancelled"' in html
    assert "Machine reserved for an audit" in html and staff.name in html
    assert f"/resources/bookings/{booking_id}" in client.get("/resources/bookings").get_data(as_text=True)
    client.post("/auth/logout")
    login(factories.UserFactory())
    assert client.get(f"/resources/bookings/{booking_id}").status_code == 403
