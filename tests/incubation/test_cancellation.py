"""Mentor bookings: the founder cancels up to the cut-off (the slot frees, the mentor is mailed); the mentor
cancels a slot (the founder is mailed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from incubation.models import MentorSlot
from portal.audit import AuditEvent
from portal.db import utcnow
from portal.extensions import db
from tests.incubation.factories import MentorSlotFactory, startup_with_founder


def _booked(client, bearer, starts_in: timedelta):
    slot = MentorSlotFactory(starts_at=utcnow().replace(microsecond=0) + starts_in)
    founder = startup_with_founder()[0]
    booked = client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=bearer(founder), json={"topic": "Tooling"})
    assert booked.status_code == 201, booked.json
    return slot, founder


def test_the_founder_cancels_before_the_cutoff_and_the_slot_frees(client, factories, bearer, mail_outbox):
    slot, founder = _booked(client, bearer, timedelta(days=2))
    mail_outbox.clear()
    stranger = factories.UserFactory()
    assert client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking",
                       headers=bearer(stranger)).status_code == 403
    response = client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking", headers=bearer(founder))
    assert response.status_code == 200, response.json
    assert response.json["booked"] is False
    db.session.refresh(slot)
    assert slot.booked_by_id is None and slot.topic == "" and slot.booked_at is None
    (mail,) = mail_outbox
    assert mail["To"] == slot.mentor_profile.user.email
    assert "cancelled" in mail["Subject"] and founder.name in mail.get_content()
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "mentor_slot.booking_cancelled"))
    # the slot can be booked again, and a second cancellation by the first founder is refused
    other = startup_with_founder()[0]
    assert client.post(f"/api/v1/mentor-slots/{slot.id}/book", headers=bearer(other),
                       json={"topic": "Pricing"}).status_code == 201
    assert client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking",
                       headers=bearer(founder)).status_code == 403


def test_after_the_cutoff_the_booking_stays_and_the_409_says_why(client, bearer, mail_outbox):
    slot, founder = _booked(client, bearer, timedelta(hours=11))
    mail_outbox.clear()
    response = client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking", headers=bearer(founder))
    assert response.status_code == 409
    assert "12 hours" in response.json["error"]["message"]
    db.session.refresh(slot)
    assert slot.booked_by_id == founder.id and mail_outbox == []


def test_the_cutoff_is_configurable(app, client, bearer):
    app.config["MENTOR_CANCEL_CUTOFF_HOURS"] = 1
    try:
        slot, founder = _booked(client, bearer, timedelta(hours=3))
        assert client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking",
                           headers=bearer(founder)).status_code == 200
        slot, founder = _booked(client, bearer, timedelta(minutes=30))
        refused = client.post(f"/api/v1/mentor-slots/{slot.id}/cancel-booking", headers=bearer(founder))
        assert refused.status_code == 409 and "1 hour " in refused.json["error"]["message"]
    finally:
        app.config.pop("MENTOR_CANCEL_CUTOFF_HOURS")


def test_the_mentor_cancels_a_booked_slot_and_the_founder_is_mailed(client, factories, bearer, mail_outbox):
    slot, founder = _booked(client, bearer, timedelta(hours=2))
    founder.locale = "zh_CN"
    mail_outbox.clear()
    mentor_headers = bearer(slot.mentor_profile.user)
    assert client.delete(f"/api/v1/mentor-slots/{slot.id}", headers=bearer(founder)).status_code == 403
    response = client.delete(f"/api/v1/mentor-slots/{slot.id}", headers=mentor_headers,
                             json={"reason": "Travelling to the factory"})
    assert response.status_code == 204
    assert db.session.get(MentorSlot, slot.id) is None
    (mail,) = mail_outbox
    assert mail["To"] == founder.email and "Travelling to the factory" in mail.get_content()


def test_a_started_slot_cannot_be_cancelled_and_bad_input_is_a_400(client, bearer):
    slot = MentorSlotFactory(starts_at=utcnow() - timedelta(minutes=10))
    headers = bearer(slot.mentor_profile.user)
    assert client.delete(f"/api/v1/mentor-slots/{slot.id}", headers=headers).status_code == 409
    future = MentorSlotFactory(mentor_profile=slot.mentor_profile, starts_at=utcnow() + timedelta(days=5))
    too_long = client.delete(f"/api/v1/mentor-slots/{future.id}", headers=headers, json={"reason": "x" * 501})
    assert too_long.status_code == 400 and "reason" in too_long.json["error"]["fields"]
    assert db.session.get(MentorSlot, future.id) is not None
    assert client.delete(f"/api/v1/mentor-slots/{future.id}", headers=headers).status_code == 204


def test_cancelling_in_the_pages(client, login, bearer, mail_outbox):
    slot, founder = _booked(client, bearer, timedelta(days=1))
    login(founder)
    page = client.get(f"/mentor-slots/{slot.id}").get_data(as_text=True)
    assert "Cancel my booking" in page
    response = client.post(f"/mentor-slots/{slot.id}/cancel-booking")
    assert response.status_code == 302
    db.session.refresh(slot)
    assert slot.booked_by_id is None
    # a free slot is cancelled by its mentor from their office-hours page
    client.post("/auth/logout")
    login(slot.mentor_profile.user)
    page = client.get("/mentors/me").get_data(as_text=True)
    assert f"/mentor-slots/{slot.id}/cancel" in page
    assert client.post(f"/mentor-slots/{slot.id}/cancel").status_code == 302
    assert db.session.get(MentorSlot, slot.id) is None
