"""A lab manager removes a closure in a real browser: the page asks first (data-confirm), declining
keeps the closure, accepting removes it and the time is free on the calendar again."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from tests.resources.helpers import next_weekday

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password


def make_closed_lab(app, day) -> tuple[int, int, str]:
    from resources.models import Blackout
    from tests import factories
    from tests.resources.factories import ResourceFactory

    zone = ZoneInfo("Asia/Shanghai")
    with app.app_context():
        company = factories.OrganisationFactory(kind="company", name="Haier E2E staff")
        staff = factories.UserFactory(email=f"staff-{uuid.uuid4().hex[:8]}@example.com", locale="en")
        factories.MembershipFactory(organisation=company, user=staff)
        resource = ResourceFactory(organisation=company, name=f"Laser lab {uuid.uuid4().hex[:6]}", min_minutes=60)
        closure = Blackout(resource_id=resource.id, kind="maintenance", reason="Calibration",
                           starts_at=datetime.combine(day, time(9), zone), ends_at=datetime.combine(day, time(18), zone))
        db.session.add(closure)
        db.session.commit()
        ids = resource.id, closure.id, staff.email
        db.session.remove()
    return ids


def test_removing_a_closure_asks_first_and_frees_the_day(page: Page, live_server):
    monday = next_weekday(0)
    resource_id, closure_id, email = make_closed_lab(live_server.app, monday)

    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto(f"/resources/{resource_id}/calendar?date={monday.isoformat()}")
    expect(page.locator(f'[data-day="{monday.isoformat()}"]')).not_to_contain_text("free 09:00–18:00")

    page.goto(f"/resources/{resource_id}/manage")
    row = page.locator(f'[data-blackout-id="{closure_id}"]')
    expect(row).to_contain_text("Calibration")

    seen = []
    page.once("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Remove").click()
    expect(page.locator(f'[data-blackout-id="{closure_id}"]')).to_be_visible()  # declined: still there
    assert seen and "Remove this closure?" in seen[0]

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("main").get_by_role("alert").first).to_contain_text("Closure removed")
    expect(page.locator(f'[data-blackout-id="{closure_id}"]')).to_have_count(0)

    page.goto(f"/resources/{resource_id}/calendar?date={monday.isoformat()}")
    expect(page.locator(f'[data-day="{monday.isoformat()}"]')).to_contain_text("free 09:00–18:00")
