"""Office hours painted on a week grid with weekly repeats (issue 12, point 2): the service creates every
week's slot in one call at the same wall-clock time of the mentor's zone, refuses an overlap naming the start
and the slot in the way, and then writes nothing; the page keeps the input and the grid's feed lists the
mentor's slots."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from incubation.models import MentorSlot
from incubation.schemas.mentors import NewSlot
from incubation.services import mentoring
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from tests.incubation.factories import MentorProfileFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def upcoming_day(weekday: int, zone: ZoneInfo = SHANGHAI, weeks_ahead: int = 1) -> date:
    today = datetime.now(zone).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7) + timedelta(weeks=weeks_ahead - 1)


def at(day: date, clock: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{clock}").replace(tzinfo=zone)


def count(profile) -> int:
    return db.session.scalar(select(func.count()).select_from(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id))


def local_times(slots, zone: ZoneInfo = SHANGHAI) -> list[str]:
    return [s.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") + "-" + s.ends_at.astimezone(zone).strftime("%H:%M")
            for s in slots]


def test_a_slot_repeats_weekly_in_one_call(db_session):
    profile = MentorProfileFactory()
    tuesday = upcoming_day(1)
    slots = mentoring.add_slots(profile, NewSlot(start=at(tuesday, "14:00"), end=at(tuesday, "15:00")), 4)
    assert local_times(slots) == [f"{tuesday + timedelta(weeks=w)} 14:00-15:00" for w in range(4)]
    assert count(profile) == 4


def test_repeats_keep_the_wall_clock_time_across_daylight_saving(db_session, factories):
    user = factories.UserFactory(roles=["mentor"], timezone="Europe/Berlin")
    profile = MentorProfileFactory(user=user)
    monday = upcoming_day(0, BERLIN)
    while at(monday, "09:00", BERLIN).utcoffset() == at(monday + timedelta(weeks=1), "09:00", BERLIN).utcoffset():
        monday += timedelta(weeks=1)  # the week before a daylight-saving change (at most half a year on)
    slots = mentoring.add_slots(profile, NewSlot(start=at(monday, "09:00", BERLIN), end=at(monday, "10:00", BERLIN)),
                                2)
    assert local_times(slots, BERLIN) == [f"{monday} 09:00-10:00", f"{monday + timedelta(weeks=1)} 09:00-10:00"]
    assert slots[0].starts_at.utcoffset() == slots[1].starts_at.utcoffset()  # both stored in UTC
    assert (slots[1].starts_at - slots[0].starts_at) != timedelta(weeks=1)  # an hour more or less: the clock held


def test_an_overlap_in_any_week_refuses_all_and_names_the_start(db_session):
    profile = MentorProfileFactory()
    tuesday = upcoming_day(1)
    in_the_way = mentoring.add_slot(profile, NewSlot(start=at(tuesday + timedelta(weeks=2), "14:30"),
                                                     end=at(tuesday + timedelta(weeks=2), "15:30")))
    with pytest.raises(Conflict) as refused:
        mentoring.add_slots(profile, NewSlot(start=at(tuesday, "14:00"), end=at(tuesday, "15:00")), 4)
    when = f"{tuesday + timedelta(weeks=2)} 14:30–15:30"
    assert when in refused.value.message and "nothing was added" in refused.value.message
    assert list(refused.value.fields) == ["start"] and when in refused.value.fields["start"][0]
    assert count(profile) == 1 and in_the_way.id
    # Touching ends are no overlap.
    mentoring.add_slots(profile, NewSlot(start=at(tuesday, "13:30"), end=at(tuesday, "14:30")), 3)
    assert count(profile) == 4


def test_the_number_of_weeks_and_the_length_are_checked(db_session):
    profile = MentorProfileFactory()
    tuesday = upcoming_day(1)
    with pytest.raises(ValidationFailed) as refused:
        mentoring.add_slots(profile, NewSlot(start=at(tuesday, "14:00"), end=at(tuesday, "15:00")), 27)
    assert list(refused.value.fields) == ["repeat_weeks"]
    with pytest.raises(ValidationFailed) as refused:
        mentoring.add_slots(profile, NewSlot(start=at(tuesday, "14:00"), end=at(tuesday + timedelta(days=8), "15:00")),
                            2)
    assert list(refused.value.fields) == ["end"]
    assert count(profile) == 0


def test_one_slot_keeps_working_through_the_api(client, bearer, db_session):
    profile = MentorProfileFactory()
    tuesday = upcoming_day(1)
    headers = bearer(profile.user)
    body = {"start": at(tuesday, "10:00").isoformat(), "end": at(tuesday, "11:00").isoformat()}
    assert client.post("/api/v1/mentors/me/slots", headers=headers, json=body).status_code == 201
    again = client.post("/api/v1/mentors/me/slots", headers=headers, json=body)
    assert again.status_code == 409 and again.json["error"]["fields"]["start"]


# ---- the page -----------------------------------------------------------------------------------

def test_the_page_paints_a_series_and_keeps_the_input_on_refusal(client, login, db_session):
    profile = MentorProfileFactory()
    login(profile.user)
    tuesday = upcoming_day(1)
    page = client.get("/mentors/me").get_data(as_text=True)
    config = json.loads(re.search(r'id="office-hours-config">(.*?)</script>', page, re.S).group(1))
    assert config["eventsUrl"] == "/mentors/me/slots/feed" and config["step"] == 15
    assert 'name="repeat_weeks"' in page and "js/calendar.js" in page and "<script>" not in page

    response = client.post("/mentors/me/slots", data={"start": f"{tuesday}T14:00", "end": f"{tuesday}T15:00",
                                                       "repeat_weeks": "3"})
    assert response.status_code == 302
    assert "3 weekly slots added." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(profile) == 3

    response = client.post("/mentors/me/slots", data={"start": f"{tuesday}T14:30", "end": f"{tuesday}T15:30",
                                                       "repeat_weeks": "2"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"{tuesday} 14:00–15:00" in html and "nothing was added" in html
    assert f'value="{tuesday}T14:30"' in html and 'value="2"' in html and "is-invalid" in html
    config = json.loads(re.search(r'id="office-hours-config">(.*?)</script>', html, re.S).group(1))
    assert config["initialDate"] == tuesday.isoformat()
    assert count(profile) == 3


def test_the_feed_lists_the_mentors_slots_in_their_zone(client, login, db_session, factories):
    profile = MentorProfileFactory()
    tuesday = upcoming_day(1)
    slots = mentoring.add_slots(profile, NewSlot(start=at(tuesday, "14:00"), end=at(tuesday, "15:00")), 2)
    founder = factories.UserFactory(name="Wang Fang")
    slots[1].booked_by_id, slots[1].topic = founder.id, "Tooling"
    db.session.flush()
    login(profile.user)
    monday = tuesday - timedelta(days=1)
    found = client.get("/mentors/me/slots/feed", query_string={
        "start": monday.isoformat(), "end": (monday + timedelta(days=14)).isoformat()}).json
    assert [(e["start"], e["end"], e["title"]) for e in found] == [
        (f"{tuesday}T14:00:00", f"{tuesday}T15:00:00", "Free"),
        (f"{tuesday + timedelta(weeks=1)}T14:00:00", f"{tuesday + timedelta(weeks=1)}T15:00:00", "Booked: Wang Fang")]
    assert found[1]["extendedProps"]["url"] == f"/mentor-slots/{slots[1].id}"
    assert client.get("/mentors/me/slots/feed", query_string={"start": "x", "end": "y"}).status_code == 400
