"""In a real browser: a program manager edits the program's terms; a founder books a mentor's office hour
and cancels it before the cut-off, and the mentor is mailed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import User
from portal.db import commit, utcnow
from portal.extensions import db
from tests.e2e.test_incubation_flow import cast, flash, log_in  # noqa: F401 - `cast` is a fixture

pytestmark = pytest.mark.browser


def test_manager_edits_the_program(page: Page, cast):  # noqa: F811
    log_in(page, cast["manager"])
    page.goto(f"/programs/{cast['program_id']}")
    page.get_by_role("link", name="Edit program").click()
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Title").fill(f"Autumn Cohort {cast['tag']}")
    form.get_by_label("Places").fill("8")
    form.get_by_role("button", name="Save program").click()
    expect(flash(page)).to_contain_text("Program saved.")
    expect(page.get_by_role("heading", name=f"Autumn Cohort {cast['tag']}")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("8")


def test_founder_cancels_a_booking_and_the_mentor_is_told(page: Page, live_server, cast):  # noqa: F811
    from incubation import services
    from incubation.schemas.mentors import MentorProfileIn, NewSlot

    with live_server.app.app_context():
        mentor = db.session.query(User).filter_by(email=cast["reviewer"]).one()
        profile = services.save_mentor_profile(mentor, MentorProfileIn(
            bio="Moulds and tooling", expertise=["tooling"], languages=["en"]))
        start = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
        services.add_slot(profile, NewSlot(start=start, end=start + timedelta(minutes=45)))
        profile_id = profile.id
        commit()
    log_in(page, cast["founder"])
    page.goto(f"/mentors/{profile_id}")
    page.get_by_label("Topic").first.fill("Tooling costs")
    page.get_by_role("button", name="Book").first.click()
    expect(flash(page)).to_contain_text("Booked.")
    page.get_by_role("button", name="Cancel my booking").click()
    expect(flash(page)).to_contain_text("Booking cancelled.")
    mails = live_server.wait_for_mail(cast["reviewer"], count=2)
    assert any("cancelled" in m["Subject"] for m in mails)
