"""Mentors: profiles, office-hour slots, booking (never twice, also under concurrency), sessions, ratings."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from incubation.models import MentorProfile, MentorSlot
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.incubation.factories import MentorProfileFactory, MentorSlotFactory, startup_with_founder


def test_put_mentors_me_creates_then_updates(client, factories, bearer):
    mentor = factories.UserFactory(roles=[Role.MENTOR])
    headers = bearer(mentor)
    body = {"bio": "Supply chain", "expertise": ["supply chain", "Supply Chain", "tooling"],
            "industries": ["Smart home"], "languages": ["zh", "en"], "organisation": "Haier"}
    created = client.put("/api/v1/mentors/me", headers=headers, json=body)
    assert created.status_code == 200, created.json
    assert created.json["expertise"] == ["supply chain", "tooling"] and created.json["rating"] is None
    updated = client.put("/api/v1/mentors/me", headers=headers, json={**body, "bio": "Tooling and moulds"})
    assert updated.json["id"] == created.json["id"] and updated.json["bio"] == "Tooling and moulds"
    assert len(db.session.scalars(select(MentorProfile).where(MentorProfile.user_id == mentor.id)).all()) == 1
    assert client.put("/api/v1/mentors/me", headers=headers, json={"expertise": ["x"]}).status_code == 400
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    assert client.put("/api/v1/mentors/me", headers=bearer(founder), json=body).status_code == 403
    listed = client.get("/api/v1/mentors?expertise=tool&language=en").json
    assert [m["id"] for m in listed["items"]] == [created.json["id"]]


def test_slots_and_booking(client, factories, bearer, mail_outbox):
    profile = MentorProfileFactory()
    mentor_headers = bearer(profile.user)
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    slot = client.post("/api/v1/mentors/me/slots", headers=mentor_headers, json={
        "start": start.isoformat(), "end": (start + timedelta(minutes=45)).isoformat()})
    assert slot.status_code == 201, slot.json
    overlap = client.post("/api/v1/mentors/me/slots", headers=mentor_headers, json={
        "start": (start + timedelta(minutes=30)).isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert overlap.status_code == 409
    backwards = client.post("/api/v1/mentors/me/slots", headers=mentor_headers, json={
        "start": start.isoformat(), "end": (start - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 400 and "end" in backwards.json["error"]["fields"]
    no_profile = client.post("/api/v1/mentors/me/slots", headers=bearer(factories.UserFactory()),
                             json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert no_profile.status_code == 404

    founder, _startup, project = startup_with_founder(status="submitted")
    slot_id = slot.json["id"]
    no_topic = client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers=bearer(founder), json={})
    assert no_topic.status_code == 400 and "topic" in no_topic.json["error"]["fields"]
    foreign_project = startup_with_founder(status="submitted")[2]
    assert client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers=bearer(founder),
                       json={"topic": "x", "project_id": foreign_project.id}).status_code == 403
    mail_outbox.clear()
    booked = client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers=bearer(founder),
                         json={"topic": "Tooling supplier", "project_id": project.id})
    assert booked.status_code == 201 and booked.json["booked"] is True and booked.json["project_id"] == project.id
    assert [m["To"] for m in mail_outbox] == [profile.user.email]
    taken = client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers=bearer(factories.UserFactory()),
                        json={"topic": "Me too"})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "conflict"
    assert db.session.get(MentorSlot, slot_id).booked_by_id == founder.id
    own = client.post(f"/api/v1/mentor-slots/{MentorSlotFactory(mentor_profile=profile).id}/book",
                      headers=mentor_headers, json={"topic": "myself"})
    assert own.status_code == 400
    past = MentorSlotFactory(mentor_profile=profile, starts_at=utcnow() - timedelta(hours=2),
                             ends_at=utcnow() - timedelta(hours=1))
    assert client.post(f"/api/v1/mentor-slots/{past.id}/book", headers=bearer(founder),
                       json={"topic": "late"}).status_code == 409


def test_session_notes_feedback_and_rating(client, factories, bearer):
    profile = MentorProfileFactory()
    founder = factories.UserFactory()
    upcoming = MentorSlotFactory(mentor_profile=profile, booked_by=founder, topic="Pricing")
    done = MentorSlotFactory(mentor_profile=profile, booked_by=founder, topic="Tooling",
                             starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() - timedelta(days=1, minutes=-45))
    free = MentorSlotFactory(mentor_profile=profile)
    mentor_headers, founder_headers = bearer(profile.user), bearer(founder)
    notes = client.post(f"/api/v1/mentor-slots/{done.id}/notes", headers=mentor_headers,
                        json={"notes": "Try two suppliers"})
    assert notes.status_code == 200 and notes.json["notes"] == "Try two suppliers"
    assert client.post(f"/api/v1/mentor-slots/{done.id}/notes", headers=founder_headers,
                       json={"notes": "x"}).status_code == 403
    assert client.post(f"/api/v1/mentor-slots/{free.id}/notes", headers=mentor_headers,
                       json={"notes": "x"}).status_code == 409
    assert client.post(f"/api/v1/mentor-slots/{upcoming.id}/feedback", headers=founder_headers,
                       json={"rating": 5}).status_code == 409  # not over yet
    assert client.post(f"/api/v1/mentor-slots/{done.id}/feedback", headers=founder_headers,
                       json={"rating": 6}).status_code == 400
    assert client.post(f"/api/v1/mentor-slots/{done.id}/feedback", headers=bearer(factories.UserFactory()),
                       json={"rating": 5}).status_code == 403
    rated = client.post(f"/api/v1/mentor-slots/{done.id}/feedback", headers=founder_headers,
                        json={"rating": 4, "feedback": "Useful"})
    assert rated.status_code == 201 and rated.json["rating"] == 4
    assert client.post(f"/api/v1/mentor-slots/{done.id}/feedback", headers=founder_headers,
                       json={"rating": 1}).status_code == 409
    mentor = client.get(f"/api/v1/mentors/{profile.id}").json
    assert mentor["rating"] == 4.0 and mentor["ratings"] == 1


def test_booking_and_session_pages(client, factories, login):
    profile = MentorProfileFactory()
    slot = MentorSlotFactory(mentor_profile=profile)
    founder = factories.UserFactory()
    login(founder)
    page = client.get(f"/mentors/{profile.id}").get_data(as_text=True)
    assert "Book" in page
    response = client.post(f"/mentor-slots/{slot.id}/book", data={"topic": "Moulds", "project_id": ""})
    assert response.status_code == 302 and f"/mentor-slots/{slot.id}" in response.headers["Location"]
    assert db.session.get(MentorSlot, slot.id).booked_by_id == founder.id
    assert "Moulds" in client.get(f"/mentor-slots/{slot.id}").get_data(as_text=True)
    client.post("/auth/logout")
    login(profile.user)
    client.post(f"/mentor-slots/{slot.id}", data={"action": "notes", "notes": "Bring drawings"})
    assert db.session.get(MentorSlot, slot.id).notes == "Bring drawings"
    assert client.get("/mentors/me").status_code == 200


def _book(app, slot_id: int, user_id: int, raw: str, barrier: threading.Barrier, results: dict, round_: int) -> None:
    """One founder's request, in its own thread (and so its own app context, session and transaction)."""
    client = app.test_client()
    barrier.wait()
    response = client.post(f"/api/v1/mentor-slots/{slot_id}/book", headers={"Authorization": f"Bearer {raw}"},
                           json={"topic": f"race {round_}"})
    results[user_id] = response.status_code


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="concurrency is proven on PostgreSQL")
def test_a_slot_is_never_taken_twice_under_concurrent_requests(tmp_path):
    """Twelve founders press "book" on the same slot at the same moment, each in its own thread,
    request and database transaction: exactly one wins, the others get 409, and the row names the winner."""
    from portal.auth.services import create_api_token
    from portal.db import commit
    from tests.conftest import make_test_app
    from tests.dbutil import drop_scratch_database, scratch_database_url
    from tests.factories import UserFactory

    url = scratch_database_url("slots", tmp_path)
    app = make_test_app(url)
    try:
        with app.app_context():
            db.create_all()
            profile = MentorProfileFactory()
            slot = MentorSlotFactory(mentor_profile=profile)
            tokens = {}
            for _ in range(12):
                user = UserFactory()
                tokens[user.id] = create_api_token(user, "race")[1]
            slot_id = slot.id
            commit()

        for round_ in range(3):
            with app.app_context():
                db.session.execute(db.update(MentorSlot).where(MentorSlot.id == slot_id)
                                   .values(booked_by_id=None, booked_at=None, topic=""))
                commit()
            barrier = threading.Barrier(len(tokens))
            results: dict[int, int] = {}
            threads = [threading.Thread(target=_book, args=(app, slot_id, user_id, raw, barrier, results, round_))
                       for user_id, raw in tokens.items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            winners = [user_id for user_id, status in results.items() if status == 201]
            assert len(results) == len(tokens)
            assert len(winners) == 1, results
            assert sorted(status for status in results.values() if status != 201) == [409] * (len(tokens) - 1)
            with app.app_context():
                assert db.session.get(MentorSlot, slot_id).booked_by_id == winners[0]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_scratch_database(url)
