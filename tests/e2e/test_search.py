"""Search in a real browser: the navbar search box, a misspelt query, highlighted results, facets, autocomplete."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from portal.db import commit, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation
from resources.models import Resource, ResourcePrice

pytestmark = pytest.mark.browser


@pytest.fixture
def thermal_chamber(live_server):
    """A published resource with a unique made-up word, committed (the outbox job indexes it)."""
    word = "zyx" + uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        organisation = Organisation(name=f"Lab company {word}", kind="company", city="Hefei", verified_at=utcnow())
        resource = Resource(organisation=organisation, name=f"Thermal chamber {word}", kind="equipment",
                            city="合肥 Hefei", description="Climate testing from -70 °C to 180 °C <b>not bold</b>.",
                            prices=[ResourcePrice(audience="startup", unit="hour", amount=12000, currency="CNY")])
        db.session.add(resource)
        commit()
        db.session.remove()
    return word


def test_search_finds_a_misspelt_name_and_highlights_it(page: Page, thermal_chamber):
    page.goto("/")
    box = page.get_by_role("navigation").get_by_label("Search the portal")  # the navbar's search box
    box.fill(f"thermol climate {thermal_chamber}")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.get_by_label("Mentors, labs and equipment, projects, campaigns")).to_have_value(
        f"thermol climate {thermal_chamber}")
    result = page.locator(".search-results li[data-type='resource']")
    expect(result).to_have_count(1)
    expect(result.get_by_role("link")).to_have_text(f"Thermal chamber {thermal_chamber}")
    expect(result.locator(".search-snippet mark").first).to_be_visible()
    expect(result.locator(".search-snippet")).to_contain_text("<b>not bold</b>")  # escaped, shown as text
    page.locator("[data-facet='city']").get_by_role("link", name="合肥 Hefei").click()
    expect(page.locator("#search-total")).to_have_text("1 result")
    result.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thermal chamber")


def test_autocomplete_offers_titles(page: Page, thermal_chamber):
    page.goto("/search")
    page.get_by_label("Mentors, labs and equipment, projects, campaigns").press_sequentially(f"Thermal chamber {thermal_chamber[:9]}")
    expect(page.locator("#search-suggestions option").first).to_have_attribute(
        "value", f"Thermal chamber {thermal_chamber}")


@pytest.fixture
def rated_chamber(live_server):
    """A resource with a completed booking reviewed 5 stars, and an unrated one, in one made-up city."""
    from datetime import timedelta

    from portal.db import utcnow
    from resources.models import Review
    from tests.factories import UserFactory
    from tests.resources.factories import BookingFactory, ResourceFactory

    word = "qvx" + uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        rated = ResourceFactory(name=f"Salt spray chamber {word}", city=f"City {word}")
        ResourceFactory(name=f"Dust chamber {word}", city=f"City {word}")
        user = UserFactory()
        past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=5)
        booking = BookingFactory(resource=rated, user=user, start_at=past, end_at=past + timedelta(hours=2),
                                 status="completed")
        db.session.add(Review(booking_id=booking.id, resource_id=rated.id, user_id=user.id, rating=5))
        commit()
        db.session.remove()
    return word


def test_rating_filter_and_facet_bars_stay_in_the_url(page: Page, rated_chamber):
    page.goto(f"/search?q={rated_chamber}")
    expect(page.locator(".search-results li[data-type='resource']")).to_have_count(2)
    city = page.locator("[data-facet='city']")
    expect(city.locator("progress.facet-bar")).to_have_count(1)
    expect(city.locator("progress.facet-bar")).to_have_attribute("value", "2")
    page.get_by_label("Rated at least").select_option("4.5")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".search-results li[data-type='resource']")).to_have_count(1)
    expect(page.locator(".search-results")).to_contain_text(f"Salt spray chamber {rated_chamber}")
    city.get_by_role("link", name=f"City {rated_chamber}").click()
    expect(page).to_have_url(re.compile(r"rating=4\.5"))
    expect(page).to_have_url(re.compile(r"city=City"))
    expect(page.get_by_label("Rated at least")).to_have_value("4.5")
    expect(page.locator(".search-results li[data-type='resource']")).to_have_count(1)
