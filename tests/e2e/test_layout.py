"""Layout in both languages at 1280 px and 390 px (issue 12, point 6): the navbar fits for every role (the
user menu in view), the navbar's search box suggests as one types and is a keyboard combobox, and My bookings
has Upcoming/Past tabs, pages in the database and cards on phones, with a review button that does not wrap.
The browser tests run on the demo data (tests/e2e/conftest.py `demo_server`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from portal.db import utcnow
from portal.extensions import db
from tests.e2e.conftest import LANGUAGES, VIEWPORTS, choose_language, log_in, new_page

ROLES = {"admin": "admin@demo.example.com", "founder": "founder@demo.example.com",
         "company": "lab-manager@demo.example.com", "mentor": "mentor@demo.example.com",
         "backer": "backer@demo.example.com", "anonymous": None}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
ONE_LINE = """(el) => { const range = document.createRange(); range.selectNodeContents(el);
  return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size; }"""


# ---- My bookings, on the server ----------------------------------------------------------------------

def _count_statements(client, url: str) -> tuple[int, str]:
    """The statements of one GET of `url` (after a first one: the commit after a request runs the jobs
    the test's new rows queued, such as their search documents)."""
    client.get(url)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements), html


def test_my_bookings_has_tabs_and_pages_in_the_database(client, login, factories, db_session):
    from tests.resources.factories import BookingFactory, ResourceFactory

    user = login(factories.UserFactory(locale="en"))
    lab = ResourceFactory(name="Paging lab", timezone="Asia/Shanghai")
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for days in range(1, 4):
        BookingFactory(resource=lab, user=user, start_at=now + timedelta(days=days))
    for days in range(44, 46):
        BookingFactory(resource=ResourceFactory(name=f"Past lab {days}"), user=user, status="completed",
                       start_at=now - timedelta(days=days, hours=3))
    few, _html = _count_statements(client, "/resources/bookings?tab=past")
    for days in range(1, 44):
        BookingFactory(resource=ResourceFactory(name=f"Past lab {days}"), user=user, status="completed",
                       start_at=now - timedelta(days=days, hours=3))

    upcoming = client.get("/resources/bookings").get_data(as_text=True)
    assert upcoming.count("data-booking-id") == 3
    assert re.search(r'aria-current="page"[^>]*>\s*Coming up <span[^>]*>3<', upcoming)
    assert re.search(r'data-tab="past">\s*Past <span[^>]*>45<', upcoming)
    # Soonest first, one date per booking, no seconds.
    shown = re.findall(r'data-label="When"><a [^>]*>([^<]+)</a>', upcoming)
    assert len(shown) == 3 and all(text.count(", 20") == 1 for text in shown), shown
    assert not re.search(r"\d:\d\d:\d\d", "".join(shown))

    many, past = _count_statements(client, "/resources/bookings?tab=past")
    assert past.count("data-booking-id") == 20 and "Page 1 of 3" in past
    assert many == few, "My bookings must read a page in a constant number of statements"
    last = client.get("/resources/bookings?tab=past&page=3").get_data(as_text=True)
    assert last.count("data-booking-id") == 5 and "Page 3 of 3" in last
    assert "Past lab 45" in last and "Past lab 1<" in past  # latest first


def test_search_suggest_answers_json_and_bounds_the_query(client):
    assert client.get("/search/suggest?q=").get_json()["suggestions"] == []
    assert client.get("/search/suggest", query_string={"q": "x" * 500}).status_code == 400


# ---- in the browser, on the demo data -------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_navbar_fits_for_every_role(browser, demo_server, language):
    from playwright.sync_api import expect

    problems = []
    for role, email in ROLES.items():
        context, page = new_page(browser, demo_server, language, "desktop")
        try:
            if email:
                log_in(page, email)
            else:
                page.goto("/")
            choose_language(page, language)
            for viewport in ("desktop", "phone"):
                page.set_viewport_size(VIEWPORTS[viewport])
                page.goto("/dashboard" if email else "/")
                if page.evaluate(OVERFLOW) > 0:
                    problems.append(f"{role} {viewport}: the page scrolls sideways by {page.evaluate(OVERFLOW)} px")
                if viewport == "phone":
                    expect(page.locator(".navbar-toggler")).to_be_visible()
                    page.locator(".navbar-toggler").click()
                    expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))
                expect(page.locator("#navbar-search-input")).to_be_visible()
                if email:
                    menu = page.locator("#user-menu")
                    expect(menu).to_be_visible()
                    box = menu.bounding_box()
                    width = VIEWPORTS[viewport]["width"]
                    if box["x"] < 0 or box["x"] + box["width"] > width:
                        problems.append(f"{role} {viewport}: the user menu is cut off ({box})")
                    menu.click()
                    expect(page.locator("#user-menu + .dropdown-menu")).to_be_visible()
                nav_overflow = page.evaluate("() => document.querySelector('nav.navbar').scrollWidth - innerWidth")
                if nav_overflow > 0:
                    problems.append(f"{role} {viewport}: the navbar is {nav_overflow} px too wide")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_search_box_suggests_and_works_from_the_keyboard(browser, demo_server, language, viewport):
    from playwright.sync_api import expect

    context, page = new_page(browser, demo_server, language, viewport)
    try:
        page.goto("/resources/")
        choose_language(page, language)
        if page.locator(".navbar-toggler").is_visible():
            page.locator(".navbar-toggler").click()
        box, listbox = page.locator("#navbar-search-input"), page.locator("#navbar-search-list")
        expect(box).to_have_attribute("role", "combobox")
        expect(box).to_have_attribute("aria-expanded", "false")
        box.click()
        box.press_sequentially("lab", delay=30)
        options = listbox.get_by_role("option")
        expect(options.first).to_be_visible()
        assert 1 <= options.count() <= 8
        expect(box).to_have_attribute("aria-expanded", "true")
        assert page.evaluate(OVERFLOW) <= 0
        # Arrow keys move the active option (the focus stays in the box); Escape closes the list.
        box.press("ArrowDown")
        first_id = options.first.get_attribute("id")
        expect(box).to_have_attribute("aria-activedescendant", first_id)
        expect(options.first).to_have_attribute("aria-selected", "true")
        expect(box).to_be_focused()
        from axe_playwright_python.sync_playwright import Axe

        serious = [f"{v['impact']} {v['id']}" for v in Axe().run(page).response["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert not serious, f"with the suggestions open: {serious}"
        box.press("Escape")
        expect(box).to_have_attribute("aria-expanded", "false")
        expect(listbox).to_be_hidden()
        # Enter on a suggestion opens it.
        box.press("ArrowDown")
        expect(box).to_have_attribute("aria-expanded", "true")
        expect(box).to_have_attribute("aria-activedescendant", first_id)
        target = options.first.get_attribute("data-url")
        box.press("Enter")
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
        page.wait_for_load_state()
        # A click on a suggestion opens it too; the list holds no link inside an option (axe: nested-interactive).
        if page.locator(".navbar-toggler").is_visible():
            page.locator(".navbar-toggler").click()
        page.locator("#navbar-search-input").press_sequentially("lab", delay=30)
        expect(options.first).to_be_visible()
        assert options.locator("a, button").count() == 0
        second = options.nth(min(1, options.count() - 1))
        target = second.get_attribute("data-url")
        second.click()
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
        page.wait_for_load_state()
        # Enter with no suggestion chosen searches for the typed words.
        if page.locator(".navbar-toggler").is_visible():
            page.locator(".navbar-toggler").click()
        page.locator("#navbar-search-input").fill("打印")
        page.locator("#navbar-search-input").press("Enter")
        expect(page).to_have_url(re.compile(r"/search\?q=%E6%89%93%E5%8D%B0"))
        expect(page.get_by_role("main")).to_contain_text("打印")
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_my_bookings_tabs_and_cards_on_phones(browser, demo_server, language):
    from playwright.sync_api import expect

    context, page = new_page(browser, demo_server, language, "desktop")
    try:
        log_in(page, "founder@demo.example.com")
        choose_language(page, language)
        page.goto("/resources/bookings")
        tabs = page.locator("#booking-tabs")
        expect(tabs.locator('[data-tab="upcoming"]')).to_have_attribute("aria-current", "page")
        expect(page.locator("#my-bookings tbody tr[data-booking-id]").first).to_be_visible()
        review = page.locator("#to-review .review-form button")
        expect(review.first).to_have_text("评价" if language == "zh_CN" else "Review")
        tabs.locator('[data-tab="past"]').click()
        expect(page).to_have_url(re.compile(r"tab=past"))
        expect(tabs.locator('[data-tab="past"]')).to_have_attribute("aria-current", "page")
        rows = page.locator("#my-bookings tbody tr[data-booking-id]")
        assert 1 <= rows.count() <= 20
        assert not re.search(r"\d:\d\d:\d\d", page.locator("#my-bookings").inner_text())

        page.set_viewport_size(VIEWPORTS["phone"])
        for url in ("/resources/bookings", "/resources/bookings?tab=past"):
            page.goto(url)
            assert page.evaluate(OVERFLOW) <= 0, f"{url} scrolls sideways on a phone"
            table = page.locator("#my-bookings").bounding_box()
            assert table["width"] <= VIEWPORTS["phone"]["width"], table
            assert page.locator("#my-bookings tbody tr").first.evaluate("tr => getComputedStyle(tr).display") == "block"
            for button in page.locator(".review-form button").all()[:5]:
                assert button.evaluate(ONE_LINE) == 1, f"{button.inner_text()!r} wraps on a phone"
    finally:
        context.close()
