"""Booking a lab in a real browser: log in, open the resource's calendar, book a slot, see it there."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from tests.resources.helpers import next_weekday

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password


def make_lab(app) -> tuple[int, str]:
    """A published lab with terms and a founder who may book it, committed in the live server's database."""
    from tests import factories
    from tests.resources.factories import ResourceFactory

    with app.app_context():
        company = factories.OrganisationFactory(kind="company", name="Haier COSMOPlat E2E")
        resource = ResourceFactory(organisation=company, name=f"Additive lab {uuid.uuid4().hex[:6]}",
                                   min_minutes=60, buffer_minutes=30, terms_text="Your drawings stay yours.")
        founder = factories.UserFactory(email=f"founder-{uuid.uuid4().hex[:8]}@example.com")
        factories.OrganisationFactory(kind="startup", name="AirCare E2E", owner=founder)
        db.session.commit()
        ids = resource.id, founder.email
        db.session.remove()
    return ids


def test_book_a_slot_and_see_it_on_the_calendar(page: Page, live_server):
    resource_id, email = make_lab(live_server.app)
    monday = next_weekday(0)

    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto(f"/resources/{resource_id}")
    page.get_by_role("link", name="Calendar and booking").click()
    expect(page.get_by_role("heading", name=re.compile("Calendar of Additive lab"))).to_be_visible()
    page.goto(f"/resources/{resource_id}/calendar?date={monday.isoformat()}")
    day = page.locator(f'[data-day="{monday.isoformat()}"]')
    expect(day).to_contain_text("free 09:00–18:00")

    booking = page.locator("#booking-form")
    booking.get_by_label("Start").fill(f"{monday.isoformat()}T10:00")
    booking.get_by_label("End").fill(f"{monday.isoformat()}T12:00")
    booking.get_by_label("Purpose").fill("Print fan housings")
    booking.get_by_label("I accept the terms (version 1)").check()
    booking.get_by_role("button", name="Book this slot").click()

    expect(page.get_by_role("main").get_by_role("alert").first).to_contain_text("Booked: 1 slot(s) confirmed.")
    day = page.locator(f'[data-day="{monday.isoformat()}"]')
    expect(day.locator(".booking-entry")).to_contain_text("10:00–12:00")
    expect(day.locator(".booking-entry")).to_contain_text("Your booking")
    expect(day).to_contain_text("free 12:30–18:00")  # the 30-minute buffer is kept free

    # Booking the same time again is refused with the reason, and nothing else appears on the calendar.
    booking = page.locator("#booking-form")
    booking.get_by_label("Start").fill(f"{monday.isoformat()}T11:00")
    booking.get_by_label("End").fill(f"{monday.isoformat()}T12:00")
    booking.get_by_label("I accept the terms (version 1)").check()
    booking.get_by_role("button", name="Book this slot").click()
    expect(page.get_by_role("main").get_by_role("alert").first).to_contain_text("already booked")
    expect(page.locator(f'[data-day="{monday.isoformat()}"] .booking-entry')).to_have_count(1)

    page.goto("/resources/bookings")
    expect(page.locator("#my-bookings")).to_contain_text("Additive lab")
    expect(page.locator("#my-bookings")).to_contain_text("confirmed")
