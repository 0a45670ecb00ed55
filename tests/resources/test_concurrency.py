"""The no-double-booking guarantee under real concurrency: a live server on a scratch database that really
commits, and many threads booking overlapping slots at the same moment.

On PostgreSQL the exclusion constraint decides (and the resource row lock serialises quota checks);
on SQLite the serialised write transaction does. Either way exactly one request wins and every
other gets 409.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from portal.auth.services import create_api_token
from portal.db import utcnow
from portal.extensions import db
from resources.models import Booking
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url
from tests.resources.helpers import at, next_weekday

CLIENTS = 24
ON_POSTGRESQL = bool(os.environ.get("TEST_DATABASE_URL"))


@pytest.fixture
def live(tmp_path):
    """(app, base url) of a threaded live server on a fresh scratch database."""
    url = scratch_database_url("resources_race", tmp_path)
    app = make_test_app(url)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_scratch_database(url)


def setup_world(app, clients: int, **resource_fields) -> tuple[int, list[str], int]:
    """A company resource, a startup and `clients` bookers with API tokens; committed for real."""
    from tests import factories
    from tests.resources.factories import ResourceFactory

    with app.app_context():
        company = factories.OrganisationFactory(kind="company")
        resource = ResourceFactory(organisation=company, min_minutes=30, max_minutes=480, buffer_minutes=30,
                                   **resource_fields)
        startup = factories.OrganisationFactory(kind="startup")
        tokens = []
        for _ in range(clients):
            user = factories.UserFactory()
            factories.MembershipFactory(organisation=startup, user=user)
            tokens.append(create_api_token(user, "race")[1])
        db.session.commit()
        ids = resource.id, startup.id
        db.session.remove()
    return ids[0], tokens, ids[1]


def fire(base: str, resource_id: int, payloads: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """POST every (token, body) at once from its own thread; all threads start together."""
    barrier = threading.Barrier(len(payloads))
    results: list[tuple[int, dict] | None] = [None] * len(payloads)

    def run(index: int, token: str, body: dict) -> None:
        request = urllib.request.Request(
            f"{base}/api/v1/resources/{resource_id}/bookings", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                results[index] = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            results[index] = (error.code, json.loads(error.read()))

    threads = [threading.Thread(target=run, args=(i, token, body)) for i, (token, body) in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_overlapping_requests_one_wins_every_other_gets_409(live):
    app, base = live
    resource_id, tokens, _startup = setup_world(app, CLIENTS)
    monday = next_weekday(0)
    # Every request overlaps every other one: they start between 09:00 and 10:55 and all end at 12:00.
    payloads = [(token, {"start": at(monday, f"{9 + (i * 5) // 60}:{(i * 5) % 60:02d}"),
                         "end": at(monday, "12:00"), "purpose": f"client {i}"})
                for i, token in enumerate(tokens)]
    results = fire(base, resource_id, payloads)
    statuses = sorted(status for status, _body in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(409) == CLIENTS - 1, results
    assert all(body["error"]["code"] == "conflict" for status, body in results if status == 409)
    with app.app_context():
        rows = db.session.scalars(select(Booking).where(Booking.resource_id == resource_id)).all()
        assert len(rows) == 1 and rows[0].status == "confirmed"
        db.session.remove()


def test_concurrent_requests_for_adjacent_slots_all_succeed_when_they_do_not_overlap(live):
    app, base = live
    resource_id, tokens, _startup = setup_world(app, 6, opening_hours=[(d, "08:00", "20:00") for d in range(7)])
    monday = next_weekday(0)
    # One hour each plus the 30-minute buffer: 08:00, 09:30, 11:00, ... never overlap.
    payloads = []
    for i, token in enumerate(tokens):
        start = 8 * 60 + i * 90
        payloads.append((token, {"start": at(monday, f"{start // 60}:{start % 60:02d}"),
                                 "end": at(monday, f"{(start + 60) // 60}:{(start + 60) % 60:02d}")}))
    results = fire(base, resource_id, payloads)
    assert [status for status, _ in results] == [201] * len(tokens), results


def test_concurrent_quota_checks_are_serialised(live):
    app, base = live
    resource_id, tokens, startup_id = setup_world(app, 10, opening_hours=[(d, "08:00", "20:00") for d in range(7)])
    with app.app_context():
        from resources.models import Resource

        db.session.get(Resource, resource_id).quota_minutes_per_week = 120
        db.session.commit()
        db.session.remove()
    monday = next_weekday(0)
    # Ten one-hour bookings on different days of one week, none overlapping: the quota allows two.
    payloads = [(token, {"start": at(monday + timedelta(days=i % 5), f"{8 + 2 * (i // 5)}:00"),
                         "end": at(monday + timedelta(days=i % 5), f"{9 + 2 * (i // 5)}:00"),
                         "organisation_id": startup_id}) for i, token in enumerate(tokens)]
    results = fire(base, resource_id, payloads)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 2, results
    assert all("quota" in body["error"]["fields"] for status, body in results if status == 400)


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the exclusion constraint exists on PostgreSQL only")
def test_the_database_itself_refuses_overlapping_occupying_bookings(db_session, resource_factories):
    resource = resource_factories.ResourceFactory(buffer_minutes=30)
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    resource_factories.BookingFactory(resource=resource, start_at=start, end_at=start + timedelta(hours=1))
    # A pending request may overlap (approval decides), a cancelled one too.
    resource_factories.BookingFactory(resource=resource, start_at=start, end_at=start + timedelta(hours=1),
                                      status="pending")
    resource_factories.BookingFactory(resource=resource, start_at=start, end_at=start + timedelta(hours=1),
                                      status="cancelled")
    # Starting inside the first booking's buffer is refused by the constraint, bypassing every Python check.
    with pytest.raises(IntegrityError, match="booking_no_overlap"):
        with db_session.begin_nested():
            resource_factories.BookingFactory(resource=resource, start_at=start + timedelta(minutes=75),
                                              end_at=start + timedelta(hours=2))
    resource_factories.BookingFactory(resource=resource, start_at=start + timedelta(minutes=90),
                                      end_at=start + timedelta(hours=2))
    assert db_session.scalar(select(func.count()).select_from(Booking).where(
        Booking.resource_id == resource.id, Booking.status == "confirmed")) == 2


def test_a_booking_takes_no_redundant_lock_and_asks_about_incubation_once(live):
    """Issue 13, point 4: a writing request on SQLite began with BEGIN IMMEDIATE and holds the write lock,
    so the booking path sends no lock UPDATE of its own; the incubatee price check is one statement."""
    from sqlalchemy import event

    app, base = live
    resource_id, tokens, startup_id = setup_world(app, 1)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listen(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        monday = next_weekday(0)
        [(status, body)] = fire(base, resource_id, [(tokens[0], {"start": at(monday, "10:00"),
                                                                 "end": at(monday, "11:00"),
                                                                 "organisation_id": startup_id})])
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert status == 201, body
    incubation = [s for s in seen if "FROM project" in s or "FROM application" in s]
    assert len(incubation) == 1, incubation
    if engine.dialect.name == "sqlite":
        assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE RESOURCE")], seen
    print(f"{len(seen)} statements for one booking")
