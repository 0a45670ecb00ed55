"""The clickable booking grid's services and JSON (issue 12, point 2): the step a selection snaps to, the
quote before booking (the preview service with the price table, per weekly occurrence), the grid's events
(other people anonymised, yours labelled, staff with the approval actions), a refused request keeping its
week with the clash marked, and decisions taken on the grid leading back to it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from resources import bookings
from resources.models import Booking
from resources.schemas import NewBooking
from tests.resources.helpers import SHANGHAI, body, next_weekday


@pytest.fixture
def lab(resource_factories, company):
    organisation, _staff = company
    return resource_factories.ResourceFactory(organisation=organisation, name="EMC lab", min_minutes=60,
                                              max_minutes=240, buffer_minutes=30, terms_text="NDA applies")


@pytest.fixture
def founder(factories):
    user = factories.UserFactory(name="Li Lei")
    startup = factories.OrganisationFactory(kind="startup", name="AirCare", owner=user)
    return user, startup


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# ---- snapping --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("min_minutes", "buffer", "step"), [
    (60, 30, 30), (60, 0, 60), (30, 0, 30), (45, 0, 15), (90, 0, 30), (120, 20, 20), (25, 0, 5), (7, 0, 5)])
def test_the_step_divides_the_hour_the_shortest_booking_and_the_buffer(resource_factories, min_minutes, buffer,
                                                                       step):
    resource = resource_factories.ResourceFactory(min_minutes=min_minutes, max_minutes=480, buffer_minutes=buffer)
    assert bookings.step_minutes(resource) == step


def test_snap_rounds_the_start_down_and_the_end_up_in_local_time(resource_factories):
    resource = resource_factories.ResourceFactory(min_minutes=60, buffer_minutes=30)  # step 30, Asia/Shanghai
    day = next_weekday(0)
    start, end = bookings.snap(resource, local(f"{day}T10:07"), local(f"{day}T11:40"))
    assert (start.astimezone(SHANGHAI).strftime("%H:%M"), end.astimezone(SHANGHAI).strftime("%H:%M")) == \
        ("10:00", "12:00")
    start, end = bookings.snap(resource, local(f"{day}T10:00"), local(f"{day}T12:00"))  # aligned: unchanged
    assert (start, end) == (local(f"{day}T10:00"), local(f"{day}T12:00"))
    start, end = bookings.snap(resource, local(f"{day}T10:10"), local(f"{day}T10:20"))  # never empty
    assert end - start == timedelta(minutes=30)


def test_snap_counts_from_local_midnight_in_a_zone_with_a_half_hour_offset(resource_factories):
    resource = resource_factories.ResourceFactory(timezone="Asia/Kolkata", min_minutes=60, buffer_minutes=0)
    day = next_weekday(0)
    zone = __import__("zoneinfo").ZoneInfo("Asia/Kolkata")
    start, end = bookings.snap(resource, datetime.fromisoformat(f"{day}T09:20").replace(tzinfo=zone),
                               datetime.fromisoformat(f"{day}T10:50").replace(tzinfo=zone))
    assert (start.astimezone(zone).strftime("%H:%M"), end.astimezone(zone).strftime("%H:%M")) == ("09:00", "11:00")


# ---- the quote ----------------------------------------------------------------------------------------

def test_quote_is_the_price_table_for_the_bookers_audience(client, login, lab, founder):
    user, startup = founder
    login(user)
    monday = next_weekday(0)
    quote = client.get(f"/resources/{lab.id}/calendar/quote",
                       query_string={"start": f"{monday}T10:00", "end": f"{monday}T12:00",
                                     "organisation_id": startup.id}).json
    assert quote["total"].endswith("¥300.00") and quote["priced"] and quote["unit"] == "per hour"  # 2 h at ¥150.00
    assert quote["ok"] == quote["count"] == 1 and quote["occurrences"][0]["ok"] is True
    assert (quote["start"], quote["end"], quote["step"]) == (f"{monday}T10:00", f"{monday}T12:00", 30)
    # The same as the booking's price once booked.
    response = client.post(f"/api/v1/resources/{lab.id}/bookings",
                           json=body(monday, "10:00", "12:00", accept_terms_version=1, organisation_id=startup.id))
    assert response.status_code == 201 and response.json["price"]["amount"] == 30000


def test_quote_snaps_and_names_the_rules_a_selection_breaks(client, login, lab, founder):
    user, _startup = founder
    login(user)
    monday = next_weekday(0)
    quote = client.get(f"/resources/{lab.id}/calendar/quote",
                       query_string={"start": f"{monday}T17:10", "end": f"{monday}T18:40"}).json
    assert (quote["start"], quote["end"]) == (f"{monday}T17:00", f"{monday}T19:00")
    assert quote["ok"] == 0 and "Outside the opening hours." in quote["occurrences"][0]["note"]


def test_quote_of_a_series_lists_each_week_and_marks_the_clash(client, login, lab, founder, factories):
    user, startup = founder
    other = factories.UserFactory()
    monday = next_weekday(0)
    bookings.create_booking(lab, other, NewBooking(start=local(f"{monday + timedelta(weeks=1)}T10:00"),
                                                   end=local(f"{monday + timedelta(weeks=1)}T11:00"),
                                                   accept_terms_version=1))
    login(user)
    quote = client.get(f"/resources/{lab.id}/calendar/quote", query_string={
        "start": f"{monday}T10:00", "end": f"{monday}T11:00", "repeat_weeks": 3, "organisation_id": startup.id}).json
    assert quote["count"] == 3 and quote["ok"] == 2
    assert [o["ok"] for o in quote["occurrences"]] == [True, False, True]
    assert "clashes with a booking" in quote["occurrences"][1]["note"]
    assert quote["total"].endswith("¥300.00")  # the two that can be booked


def test_a_visitor_sees_the_external_price(client, lab):
    monday = next_weekday(0)
    quote = client.get(f"/resources/{lab.id}/calendar/quote",
                       query_string={"start": f"{monday}T10:00", "end": f"{monday}T11:00"}).json
    assert quote["total"].endswith("¥300.00")  # the external price, ¥300.00 an hour


@pytest.mark.parametrize(("start", "end"), [("soon", "later"), ("0001-01-01T00:00", "0001-01-01T01:00"),
                                            ("2026-12-07T10:00", "9999-12-31T23:59")])
def test_quote_refuses_what_is_not_a_time(client, login, lab, founder, start, end):
    for _ in ("visitor", "booker"):
        response = client.get(f"/resources/{lab.id}/calendar/quote", query_string={"start": start, "end": end})
        assert response.status_code == 400 and response.json["error"]
        login(founder[0])
    response = client.get(f"/resources/{lab.id}/calendar/quote", query_string={
        "start": f"{next_weekday(0)}T10:00", "end": f"{next_weekday(0)}T11:00", "organisation_id": 999999})
    assert response.status_code == 400 and response.json["fields"]["organisation_id"]


# ---- the grid's events ----------------------------------------------------------------------------------

def events(client, resource, day):
    response = client.get(f"/resources/{resource.id}/calendar/events",
                          query_string={"start": day.isoformat(), "end": (day + timedelta(days=7)).isoformat()})
    assert response.status_code == 200
    return response.json


def test_events_show_hours_free_time_closures_and_anonymised_bookings(client, login, lab, founder, factories,
                                                                      company):
    user, _startup = founder
    other = factories.UserFactory(name="Han Meimei")
    monday = next_weekday(0)
    bookings.create_booking(lab, other, NewBooking(start=local(f"{monday}T10:00"), end=local(f"{monday}T11:00"),
                                                   accept_terms_version=1, purpose="Secret project"))
    bookings.create_booking(lab, user, NewBooking(start=local(f"{monday}T14:00"), end=local(f"{monday}T15:00"),
                                                  accept_terms_version=1))
    from resources.schemas import NewBlackout

    bookings.add_blackout(lab, NewBlackout(start=local(f"{monday + timedelta(days=1)}T09:00"),
                                           end=local(f"{monday + timedelta(days=1)}T18:00"),
                                           kind="maintenance", reason="Calibration"), company[1])
    login(user)
    found = events(client, lab, monday)
    opened = [e for e in found if "cal-open" in e.get("classNames", [])]
    assert {e["start"] for e in opened} >= {f"{monday}T09:00:00"} and all(e["display"] == "background" for e in opened)
    free = [(e["start"][11:16], e["end"][11:16]) for e in found if e.get("groupId") == "free"
            and e["start"].startswith(str(monday))]
    # a booking keeps its buffer after it, and a new one must end a buffer before the next
    assert free == [("09:00", "09:30"), ("11:30", "13:30"), ("15:30", "18:00")]
    closure = next(e for e in found if "cal-closure" in e.get("classNames", []))
    assert closure["title"] == "Maintenance: Calibration"
    theirs = next(e for e in found if "cal-other" in e.get("classNames", []))
    assert theirs["title"] == "Booked" and "url" not in theirs["extendedProps"]
    assert "Han Meimei" not in json.dumps(found) and "Secret project" not in json.dumps(found)
    mine = next(e for e in found if "cal-mine" in e.get("classNames", []))
    assert mine["title"] == "Your booking" and (mine["start"], mine["end"]) == (f"{monday}T14:00:00",
                                                                                 f"{monday}T15:00:00")
    assert mine["extendedProps"]["url"].startswith("/resources/bookings/")


def test_staff_see_names_and_the_approval_actions(client, login, resource_factories, company, founder, factories):
    organisation, staff = company
    lab = resource_factories.ResourceFactory(organisation=organisation, requires_approval=True, min_minutes=60)
    user, _startup = founder
    rival = factories.UserFactory(name="Rival")
    monday = next_weekday(0)
    first = bookings.create_booking(lab, user, NewBooking(start=local(f"{monday}T10:00"),
                                                          end=local(f"{monday}T11:00"), purpose="Pilot"))[0]
    second = bookings.create_booking(lab, rival, NewBooking(start=local(f"{monday}T10:30"),
                                                            end=local(f"{monday}T11:30")))[0]
    login(staff)
    found = [e for e in events(client, lab, monday) if "cal-booking" in e.get("classNames", [])]
    pending = next(e for e in found if e["extendedProps"].get("decide", {}).get("summary", "").startswith(
        f"#{first.id}"))
    assert "cal-pending" in pending["classNames"] and "Li Lei" in pending["title"]
    decide = pending["extendedProps"]["decide"]
    assert decide["approve"] == f"/resources/bookings/{first.id}/approve"
    assert decide["reject"] == f"/resources/bookings/{first.id}/reject"
    assert decide["clashes"] == [f"#{second.id} Rival"] and decide["purpose"] == "Pilot"

    # Approving on the grid goes back to the grid's week; the clashing request is rejected as confirmed.
    page_url = f"/resources/{lab.id}/calendar?date={monday}"
    response = client.post(decide["approve"], data={"reject_clashing": "y", "next": page_url})
    assert response.status_code == 302 and response.headers["Location"].endswith(page_url)
    assert first.status == "confirmed" and second.status == "rejected"
    # A `next` elsewhere is not followed: back to the approval queue.
    third = bookings.create_booking(lab, rival, NewBooking(start=local(f"{monday}T14:00"),
                                                           end=local(f"{monday}T15:00")))[0]
    response = client.post(f"/resources/bookings/{third.id}/reject", data={"next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/resources/approvals")


def test_events_window_is_bounded(client, lab):
    monday = next_weekday(0)
    assert client.get(f"/resources/{lab.id}/calendar/events",
                      query_string={"start": monday.isoformat(), "end": (monday + timedelta(days=90)).isoformat()}
                      ).status_code == 400
    assert client.get(f"/resources/{lab.id}/calendar/events", query_string={"start": "x", "end": "y"}
                      ).status_code == 400


# ---- the page -------------------------------------------------------------------------------------------

def grid_config(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="booking-grid-config">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_page_carries_the_grid_without_inline_script(client, login, lab, founder):
    login(founder[0])
    monday = next_weekday(0)
    html = client.get(f"/resources/{lab.id}/calendar?date={monday}").get_data(as_text=True)
    config = grid_config(html)
    assert config["initialDate"] == monday.isoformat() and config["step"] == 30 and config["minMinutes"] == 60
    assert (config["slotMinTime"], config["slotMaxTime"]) == ("08:00:00", "19:00:00")
    assert "vendor/fullcalendar/index.global.min.js" in html and "js/calendar.js" in html
    assert "<script>" not in html and "cdn" not in html.lower()
    assert 'id="start"' in html and 'id="end"' in html  # the keyboard route stays


def test_a_clash_keeps_the_requested_week_marked_and_the_input(client, login, lab, founder, factories, db_session):
    user, _startup = founder
    later = next_weekday(2, weeks_ahead=4)
    bookings.create_booking(lab, factories.UserFactory(), NewBooking(
        start=local(f"{later}T10:00"), end=local(f"{later}T12:00"), accept_terms_version=1))
    login(user)
    before = db_session.query(Booking).count()
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{later}T11:00", "end": f"{later}T13:00", "purpose": "Second run", "accept_terms_version": "1",
        "action": "book"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    config = grid_config(html)
    assert config["initialDate"] == later.isoformat()  # not today's week
    assert config["marks"] == [{"start": f"{later}T11:00:00", "end": f"{later}T13:00:00", "ok": False,
                                "note": "clashes with a booking"}]
    assert f'data-day="{later}"' in html and "requested-entry" in html
    assert f'value="{later}T11:00"' in html and "Second run" in html
    assert db_session.query(Booking).count() == before


def test_a_broken_rule_of_a_series_is_marked_per_week(client, login, lab, founder):
    login(founder[0])
    monday = next_weekday(0)
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T17:00", "end": f"{monday}T19:00", "repeat_weeks": "2", "accept_terms_version": "1",
        "action": "book"})
    assert response.status_code == 400
    marks = grid_config(response.get_data(as_text=True))["marks"]
    assert [m["start"] for m in marks] == [f"{monday}T17:00:00", f"{monday + timedelta(weeks=1)}T17:00:00"]
    assert all(not m["ok"] and "Outside the opening hours." in m["note"] for m in marks)


def test_the_series_preview_is_marked_on_the_grid(client, login, lab, founder):
    login(founder[0])
    monday = next_weekday(0)
    response = client.post(f"/resources/{lab.id}/book", data={
        "start": f"{monday}T10:00", "end": f"{monday}T11:00", "repeat_weeks": "3", "accept_terms_version": "1",
        "action": "preview"})
    assert response.status_code == 200
    marks = grid_config(response.get_data(as_text=True))["marks"]
    assert len(marks) == 3 and all(m["ok"] for m in marks)
