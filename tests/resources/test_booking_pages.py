"""Booking in the browser's HTML (forms with the same rules as the API), calendars, feeds and reports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from resources.models import Booking, ResourcePhoto
from tests.resources.helpers import at, body, next_weekday


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(organisation=organisation, name="Additive lab", min_minutes=60,
                                              buffer_minutes=30, terms_text="NDA applies")


def test_book_in_the_html_form_and_see_it_on_the_week_calendar(client, db_session, login, lab, factories):
    user = login(factories.UserFactory(name="Chen Chen"))
    monday = next_weekday(0)
    page = client.get(f"/resources/{lab.id}/calendar?date={monday}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "free 09:00–18:00" in html and 'id="booking-form"' in html and "<script>" not in html
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T10:00", "end": f"{monday}T12:00", "purpose": "Print housings",
        "accept_terms_version": "1", "action": "book"})
    assert response.status_code == 302, response.get_data(as_text=True)
    booking = db_session.scalar(select(Booking).where(Booking.user_id == user.id))
    assert booking.start_at.isoformat() == f"{monday}T02:00:00+00:00"  # 10:00 Asia/Shanghai
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked: 1 slot(s) confirmed." in html
    assert "10:00–12:00" in html and "Your booking" in html
    assert "free 09:00–09:30" in html and "free 12:30–18:00" in html
    month = client.get(f"/resources/{lab.id}/calendar?view=month&date={monday}").get_data(as_text=True)
    assert "Your booking" in month
    mine = client.get("/resources/bookings").get_data(as_text=True)
    assert "Additive lab" in mine and "confirmed" in mine


def test_html_form_names_the_broken_rule_and_writes_nothing(client, db_session, login, lab, factories):
    login(factories.UserFactory())
    monday = next_weekday(0)
    before = db_session.scalar(select(func.count()).select_from(Booking))
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T07:00", "end": f"{monday}T08:00", "accept_terms_version": "1", "action": "book"})
    assert response.status_code == 400
    assert "Outside the opening hours." in response.get_data(as_text=True)
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T10:00", "end": f"{monday}T11:00", "action": "book"})
    assert response.status_code == 400 and "Accept the current terms" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Booking)) == before


def test_overlap_in_the_html_form_is_a_409_page(client, login, lab, factories, bearer):
    monday = next_weekday(0)
    other = factories.UserFactory()
    client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(other),
                json=body(monday, "10:00", "12:00", accept_terms_version=1))
    login(factories.UserFactory())
    response = client.post(f"/resources/{lab.id}/book?date={monday}", data={
        "start": f"{monday}T11:00", "end": f"{monday}T13:00", "accept_terms_version": "1", "action": "book"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "already booked" in html and "Booked" in html


def test_series_preview_in_html_lists_conflicts(client, login, lab, factories, bearer):
    monday = next_weekday(0)
    other = factories.UserFactory()
    client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(other),
                json=body(monday + timedelta(days=7), "10:00", "12:00", accept_terms_version=1))
    login(factories.UserFactory())
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T10:00", "end": f"{monday}T11:00", "accept_terms_version": "1", "repeat_weeks": "3",
        "action": "preview"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="series-preview"' in html and html.count("table-warning") == 1 and "clashes with a booking" in html


def test_staff_approve_in_the_queue_page(client, db_session, login, resource_factories, company, factories, bearer):
    organisation, staff = company
    line = resource_factories.ResourceFactory(organisation=organisation, requires_approval=True, name="Pilot line")
    monday = next_weekday(0)
    a = client.post(f"/api/v1/resources/{line.id}/bookings", headers=bearer(factories.UserFactory()),
                    json=body(monday, "10:00", "12:00")).json
    b = client.post(f"/api/v1/resources/{line.id}/bookings", headers=bearer(factories.UserFactory()),
                    json=body(monday, "11:00", "12:00")).json
    login(staff)
    html = client.get("/resources/approvals").get_data(as_text=True)
    assert "Approving this request rejects 1 clashing request(s)" in html and "Pilot line" in html
    assert client.post(f"/resources/bookings/{a['id']}/approve", data={}).status_code == 409
    assert client.post(f"/resources/bookings/{a['id']}/approve", data={"reject_clashing": "y"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Booking, a["id"]).status == "confirmed"
    assert db_session.get(Booking, b["id"]).status == "rejected"
    assert "No requests waiting." in client.get("/resources/approvals").get_data(as_text=True)


def test_cancel_and_review_from_my_bookings(client, db_session, login, lab, factories, resource_factories):
    user = login(factories.UserFactory())
    monday = next_weekday(0)
    client.post(f"/resources/{lab.id}/book", data={"start": f"{monday}T10:00", "end": f"{monday}T11:00",
                                                   "accept_terms_version": "1", "action": "book"})
    booking = db_session.scalar(select(Booking).where(Booking.user_id == user.id))
    response = client.post(f"/resources/bookings/{booking.id}/cancel")
    assert response.status_code == 302
    assert "Cancelled, free of charge." in client.get("/resources/bookings").get_data(as_text=True)
    past = utcnow().replace(microsecond=0) - timedelta(days=3)
    done = resource_factories.BookingFactory(resource=lab, user=user, start_at=past, end_at=past + timedelta(hours=1),
                                             status="completed")
    assert 'name="rating"' in client.get("/resources/bookings").get_data(as_text=True)
    assert client.post(f"/resources/bookings/{done.id}/review",
                       data={"rating": "5", "comment": "Great"}).status_code == 302
    detail = client.get(f"/resources/{lab.id}").get_data(as_text=True)
    assert "★ 5.0" in detail and "Great" in detail


def test_ical_feeds_need_the_secret_token(client, bearer, lab, company, factories):
    _organisation, staff = company
    user = factories.UserFactory()
    monday = next_weekday(0)
    client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(user),
                json=body(monday, "10:00", "12:00", accept_terms_version=1, purpose="Housings, v2; final"))
    assert client.get(f"/api/v1/resources/{lab.id}/calendar.ics").status_code == 404
    assert client.post(f"/api/v1/resources/{lab.id}/calendar-token", headers=bearer(user), json={}).status_code == 403
    token = client.post(f"/api/v1/resources/{lab.id}/calendar-token", headers=bearer(staff), json={}).json["token"]
    assert client.get(f"/api/v1/resources/{lab.id}/calendar.ics?token=wrong").status_code == 404
    feed = client.get(f"/api/v1/resources/{lab.id}/calendar.ics?token={token}")
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    text = feed.get_data(as_text=True)
    assert "BEGIN:VCALENDAR\r\n" in text and f"DTSTART:{monday.strftime('%Y%m%d')}T020000Z" in text
    assert "Housings\\, v2\\; final" in text and user.name in text
    rotated = client.post(f"/api/v1/resources/{lab.id}/calendar-token", headers=bearer(staff),
                          json={"rotate": True}).json["token"]
    assert rotated != token and client.get(f"/api/v1/resources/{lab.id}/calendar.ics?token={token}").status_code == 404
    mine = client.post("/api/v1/me/booking-calendar", headers=bearer(user), json={}).json
    personal = client.get(mine["url"].replace("http://localhost", ""))
    assert personal.status_code == 200 and "Additive lab" in personal.get_data(as_text=True)
    assert client.get("/api/v1/bookings/calendar.ics?token=").status_code == 404


def test_monthly_statement_lists_charges_and_fees(client, bearer, login, lab, factories, resource_factories):
    user = factories.UserFactory()
    startup = factories.OrganisationFactory(kind="startup", owner=user, name="GreenBrew")
    start = utcnow().replace(day=15, hour=2, minute=0, second=0, microsecond=0)
    resource_factories.BookingFactory(resource=lab, user=user, organisation=startup, start_at=start,
                                      end_at=start + timedelta(hours=2), price_amount=30000)
    resource_factories.BookingFactory(resource=lab, user=user, organisation=startup, start_at=start + timedelta(hours=5),
                                      end_at=start + timedelta(hours=6), status="cancelled", cancel_fee_amount=7500)
    resource_factories.BookingFactory(resource=lab, user=user, organisation=startup, start_at=start + timedelta(hours=8),
                                      end_at=start + timedelta(hours=9), status="rejected")
    month = start.strftime("%Y-%m")
    data = client.get(f"/api/v1/organisations/{startup.id}/resource-statement?month={month}", headers=bearer(user)).json
    assert [(line["kind"], line["amount"]["amount"]) for line in data["lines"]] == [
        ("booking", 30000), ("late_cancel_fee", 7500)]
    assert data["totals"] == [{"amount": 37500, "currency": "CNY"}]
    assert client.get(f"/api/v1/organisations/{startup.id}/resource-statement?month=2026-13",
                      headers=bearer(user)).status_code == 400
    assert client.get(f"/api/v1/organisations/{startup.id}/resource-statement",
                      headers=bearer(factories.UserFactory())).status_code == 403
    login(user)
    html = client.get(f"/resources/statements/{startup.id}?month={month}").get_data(as_text=True)
    assert "Late-cancel fee" in html and "375.00" in html


def test_utilisation_report_with_chart_for_company_staff(client, bearer, login, lab, company, resource_factories):
    organisation, staff = company
    monday = next_weekday(0)
    start = at(monday, "10:00")
    from datetime import datetime

    begin = datetime.fromisoformat(start)
    resource_factories.BookingFactory(resource=lab, start_at=begin, end_at=begin + timedelta(hours=3))
    data = client.get(f"/api/v1/organisations/{organisation.id}/resource-utilisation", headers=bearer(staff),
                      query_string={"from": at(monday, "00:00"), "to": at(monday, "23:59")}).json
    row = next(item for item in data["items"] if item["resource_id"] == lab.id)
    assert row == {"resource_id": lab.id, "name": "Additive lab", "open_hours": 9.0, "booked_hours": 3.0,
                   "idle_hours": 6.0, "utilisation": 0.3333}
    login(staff)
    html = client.get(f"/resources/utilisation/{organisation.id}").get_data(as_text=True)
    assert "data-chart=" in html and "Booked hours" in html and "Additive lab" in html
    assert "charts.js" in html


def test_public_idle_capacity_lists_open_windows(client, lab, resource_factories):
    hidden = resource_factories.ResourceFactory(published=False, name="Secret line")
    data = client.get("/api/v1/resources/idle-capacity").json
    ids = [item["resource"]["id"] for item in data["items"]]
    assert lab.id in ids and hidden.id not in ids
    item = next(i for i in data["items"] if i["resource"]["id"] == lab.id)
    assert item["free_hours"] >= 9 * 5 and item["windows"]
    html = client.get("/resources/idle").get_data(as_text=True)
    assert "Additive lab" in html and "Secret line" not in html


def test_staff_tools_page_marks_down_and_qualifies(client, db_session, login, lab, company, factories, bearer):
    organisation, staff = company
    booker = factories.UserFactory()
    monday = next_weekday(0)
    client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(booker),
                json=body(monday, "10:00", "12:00", accept_terms_version=1))
    login(staff)
    assert client.get(f"/resources/{lab.id}/manage").status_code == 200
    response = client.post(f"/resources/{lab.id}/manage", data={
        "action": "blackout", "blackout-start": f"{monday}T09:00", "blackout-end": f"{monday}T18:00",
        "blackout-kind": "outage", "blackout-reason": "power cut"})
    assert response.status_code == 302
    html = client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)
    assert "1 booking(s) cancelled and notified." in html and "power cut" in html
    assert client.post(f"/resources/{lab.id}/manage", data={
        "action": "qualification", "qualification-email": booker.email}).status_code == 302
    assert client.post(f"/resources/{lab.id}/manage", data={
        "action": "policy", "policy-cancel_free_hours": "12", "policy-late_cancel_fee_percent": "25",
        "policy-quota_minutes_per_week": "600"}).status_code == 302
    db_session.refresh(lab)
    assert (lab.cancel_free_hours, lab.late_cancel_fee_percent, lab.quota_minutes_per_week) == (12, 25, 600)


def test_photos_are_uploaded_by_staff_and_served_publicly(client, db_session, login, lab, company, factories):
    _organisation, staff = company
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
           b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG
    login(factories.UserFactory())
    assert client.post(f"/resources/{lab.id}/photos", data={"photo": (io.BytesIO(png), "lab.png")},
                       content_type="multipart/form-data").status_code == 403
    client.post("/auth/logout")
    login(staff)
    assert client.post(f"/resources/{lab.id}/photos", data={"photo": (io.BytesIO(b"not an image"), "x.png")},
                       content_type="multipart/form-data").status_code == 400
    assert client.post(f"/resources/{lab.id}/photos", data={"photo": (io.BytesIO(png), "lab.png")},
                       content_type="multipart/form-data").status_code == 302
    photo = db_session.scalar(select(ResourcePhoto).where(ResourcePhoto.resource_id == lab.id))
    client.post("/auth/logout")
    served = client.get(f"/resources/{lab.id}/photos/{photo.id}")
    assert served.status_code == 200 and served.data == png
    assert f"/resources/{lab.id}/photos/{photo.id}" in client.get(f"/resources/{lab.id}").get_data(as_text=True)


def test_users_report_problems_and_ask_for_training_in_html(client, login, resource_factories, company, factories,
                                                            mail_outbox):
    organisation, staff = company
    cnc = resource_factories.ResourceFactory(organisation=organisation, requires_qualification=True)
    login(factories.UserFactory())
    page = client.get(f"/resources/{cnc.id}").get_data(as_text=True)
    assert "Request a training" in page and "Report a problem" in page
    assert client.post(f"/resources/{cnc.id}/training", data={"message": "experienced"}).status_code == 302
    assert client.post(f"/resources/{cnc.id}/problems", data={"description": "Coolant leak"}).status_code == 302
    assert client.post(f"/resources/{cnc.id}/problems", data={"description": ""}).status_code == 400
    subjects = [m["Subject"] for m in mail_outbox if m["To"] == staff.email]
    assert any("Training request" in s for s in subjects) and any("Problem reported" in s for s in subjects)


def test_terms_changes_bump_the_version_bookers_must_accept(client, db_session, bearer, lab, company, founder_user):
    _organisation, staff = company
    assert client.put(f"/api/v1/resources/{lab.id}/terms", headers=bearer(founder_user),
                      json={"terms_text": "x"}).status_code == 403
    response = client.put(f"/api/v1/resources/{lab.id}/terms", headers=bearer(staff),
                          json={"terms_text": "NDA v2: drawings deleted after 30 days"})
    assert response.status_code == 200 and response.json["terms_version"] == 2
    same = client.put(f"/api/v1/resources/{lab.id}/terms", headers=bearer(staff),
                      json={"terms_text": "NDA v2: drawings deleted after 30 days"})
    assert same.json["terms_version"] == 2  # unchanged text, same version
    monday = next_weekday(0)
    old = client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(founder_user),
                      json=body(monday, "10:00", "11:00", accept_terms_version=1))
    assert old.status_code == 400 and "accept_terms_version" in old.json["error"]["fields"]
    new = client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(founder_user),
                      json=body(monday, "10:00", "11:00", accept_terms_version=2))
    assert new.status_code == 201 and new.json["terms_version"] == 2


def test_outage_victims_see_alternatives_and_upcoming_bookings_on_the_dashboard(client, login, lab, company,
                                                                               resource_factories, founder_user,
                                                                               bearer):
    _organisation, staff = company
    spare = resource_factories.ResourceFactory(kind="lab", name="Spare lab")
    monday = next_weekday(0)
    client.post(f"/api/v1/resources/{lab.id}/bookings", headers=bearer(founder_user),
                json=body(monday, "10:00", "11:00", accept_terms_version=1))
    login(founder_user)
    assert "Your upcoming bookings" in client.get("/dashboard").get_data(as_text=True)
    client.post(f"/api/v1/resources/{lab.id}/blackouts", headers=bearer(staff), json={
        "start": at(monday, "09:00"), "end": at(monday, "18:00"), "kind": "outage", "reason": "flooded"})
    html = client.get("/resources/bookings").get_data(as_text=True)
    assert "Free alternatives at that time:" in html and "Spare lab" in html
    assert f"/resources/{spare.id}/calendar?date={monday}" in html


@pytest.fixture
def founder_user(factories):
    return factories.UserFactory()


def test_forms_carry_working_csrf_tokens(client, login, lab, company, csrf_enabled, db_session):
    import re

    _organisation, staff = company
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert client.post("/auth/login", data={"email": staff.email, "password": "correct-horse-battery",
                                            "csrf_token": token}).status_code == 302
    html = client.get(f"/resources/{lab.id}/manage").get_data(as_text=True)
    policy_token = re.search(r'name="policy-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post(f"/resources/{lab.id}/manage", data={
        "action": "policy", "policy-cancel_free_hours": "6", "policy-late_cancel_fee_percent": "10"}
    ).status_code == 400  # no token
    assert client.post(f"/resources/{lab.id}/manage", data={
        "action": "policy", "policy-csrf_token": policy_token, "policy-cancel_free_hours": "6",
        "policy-late_cancel_fee_percent": "10"}).status_code == 302
    db_session.refresh(lab)
    assert lab.cancel_free_hours == 6
    monday = next_weekday(0)
    calendar = client.get(f"/resources/{lab.id}/calendar?date={monday}").get_data(as_text=True)
    form_token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', calendar).group(1)
    assert client.post(f"/resources/{lab.id}/book", data={
        "csrf_token": form_token, "start": f"{monday}T10:00", "end": f"{monday}T11:00",
        "accept_terms_version": "1", "action": "book"}).status_code == 302
