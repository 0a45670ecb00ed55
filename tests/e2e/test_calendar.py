"""The calendar you click (issue 12, point 2), in headless Chromium, in English and Chinese, at desktop
(1280 px, week view) and phone (390 px, day view) widths: drag free time on a lab's grid, see the price, book
and see the booking; a clash keeps the requested week in view with the clash marked and the form filled; a
series is previewed on the grid; staff approve a pending request from the grid; a mentor paints office hours
that repeat weekly, and an overlap refuses all of them."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from tests.e2e.conftest import LANGUAGES, TIMEOUT_MS, VIEWPORTS
from tests.resources.helpers import SHANGHAI, next_weekday

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # the factories' password
CASES = [(language, viewport) for language in LANGUAGES for viewport in VIEWPORTS]


@pytest.fixture
def open_page(browser, live_server, request):
    """A page in a language (browser locale and account) at a width; a screenshot on failure."""
    from tests.e2e.conftest import ARTIFACTS

    contexts = []

    def make(language: str, viewport: str) -> Page:
        expect.set_options(timeout=TIMEOUT_MS)
        context = browser.new_context(base_url=live_server.url, locale=LANGUAGES[language][0],
                                      viewport=VIEWPORTS[viewport])
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    report = getattr(request.node, "rep_call", None)
    for index, context in enumerate(contexts):
        if report is not None and report.failed and context.pages:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                context.pages[0].screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"), full_page=True)
            except Exception as error:  # the page may already be gone
                print(f"could not take a screenshot: {error}")
        context.close()


def make_lab(app, language: str, **rules) -> dict:
    """A published lab (Mon-Fri 09:00-18:00, 60-minute bookings, 30-minute buffer: a 30-minute step; startups pay
    ¥150.00 an hour) with terms; a founder with a startup and a staff member of the company, in `language`."""
    from tests import factories
    from tests.resources.factories import ResourceFactory

    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        company = factories.OrganisationFactory(kind="company", name=f"Haier COSMOPlat {tag}")
        staff = factories.UserFactory(email=f"staff-{tag}@example.com", name=f"Staff {tag}", locale=language,
                                      roles=["company"])
        factories.MembershipFactory(organisation=company, user=staff)
        resource = ResourceFactory(organisation=company, name=f"Additive lab {tag}", min_minutes=60,
                                   buffer_minutes=30, terms_text="Your drawings stay yours.", **rules)
        founder = factories.UserFactory(email=f"founder-{tag}@example.com", name=f"Founder {tag}", locale=language)
        startup = factories.OrganisationFactory(kind="startup", name=f"AirCare {tag}", owner=founder)
        db.session.commit()
        ids = {"resource": resource.id, "founder": founder.email, "founder_id": founder.id, "startup": startup.id,
               "staff": staff.email, "tag": tag}
        db.session.remove()
    return ids


def log_in(page: Page, email: str) -> None:
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def show_day(page: Page, grid: str, day: date) -> None:
    """Page the grid forward until `day` is a column (the phone's day view starts on one day)."""
    columns = page.locator(f"{grid} td.fc-timegrid-col[data-date]")
    expect(columns.first).to_be_attached()
    column = page.locator(f'{grid} td.fc-timegrid-col[data-date="{day.isoformat()}"]')
    for _ in range(21):
        if column.count():
            return
        shown = columns.first.get_attribute("data-date")
        page.locator(f"{grid} .fc-next-button").click()
        expect(columns.first).not_to_have_attribute("data-date", shown)
    expect(column).to_have_count(1)


def drag(page: Page, grid: str, day: date, start: str, last_slot: str) -> None:
    """Press on the slot of `start` in `day`'s column, drag to the bottom of the slot `last_slot`, release."""
    show_day(page, grid, day)
    column = page.locator(f'{grid} td.fc-timegrid-col[data-date="{day.isoformat()}"]').bounding_box()
    top = page.locator(f'{grid} td.fc-timegrid-slot-lane[data-time="{start}:00"]')
    bottom = page.locator(f'{grid} td.fc-timegrid-slot-lane[data-time="{last_slot}:00"]')
    top.scroll_into_view_if_needed()
    first, last = top.bounding_box(), bottom.bounding_box()
    x = column["x"] + column["width"] / 2
    page.mouse.move(x, first["y"] + 3)
    page.mouse.down()
    page.mouse.move(x, first["y"] + (last["y"] - first["y"]) / 2, steps=5)
    page.mouse.move(x, last["y"] + last["height"] - 3, steps=5)
    page.mouse.up()


def no_horizontal_scroll(page: Page) -> None:
    page.wait_for_function("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def flash(page: Page):
    return page.get_by_role("main").get_by_role("alert").first


def booking_grid_ready(page: Page) -> None:
    expect(page.locator("#booking-grid .fc-timegrid")).to_be_visible()
    expect(page.locator("#booking-grid .fc-bg-event.cal-free").first).to_be_attached()


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_drag_a_slot_see_the_price_book_it_and_see_it(open_page, live_server, language, viewport):
    lab = make_lab(live_server.app, language)
    monday = next_weekday(0)
    page = open_page(language, viewport)
    log_in(page, lab["founder"])
    page.goto(f"/resources/{lab['resource']}/calendar?date={monday.isoformat()}")
    booking_grid_ready(page)
    expected_view = "timeGridDay" if viewport == "phone" else "timeGridWeek"
    expect(page.locator(f"#booking-grid .fc-view.fc-{expected_view}-view")).to_be_visible()
    no_horizontal_scroll(page)

    drag(page, "#booking-grid", monday, "10:00", "11:30")  # 10:00-12:00, snapped to 30 minutes
    form = page.locator("#booking-form")
    expect(form.locator("#start")).to_have_value(f"{monday.isoformat()}T10:00")
    expect(form.locator("#end")).to_have_value(f"{monday.isoformat()}T12:00")
    expect(page.locator("#grid-price")).to_contain_text("300.00")  # 2 h at the startup price of ¥150.00
    expect(page.locator("#grid-price")).to_contain_text("¥")
    expect(page.locator("#booking-grid .fc-event.cal-selected")).to_have_count(1)

    form.locator("#purpose").fill("Print fan housings")
    form.locator("#accept_terms_version").check()
    form.locator("button[value=book]").click()
    expect(flash(page)).to_have_class(re.compile("alert-success"))
    booking_grid_ready(page)
    show_day(page, "#booking-grid", monday)
    mine = page.locator("#booking-grid .fc-event.cal-mine")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("10:00")
    expect(mine).to_contain_text("12:00")
    # The buffer keeps 12:00-12:30 out of the free time; a click there cannot start a booking.
    with live_server.app.app_context():
        from resources.models import Booking

        booking = db.session.query(Booking).filter_by(user_id=lab["founder_id"]).one()
        assert (booking.price_amount, booking.currency, booking.organisation_id) == (30000, "CNY", lab["startup"])
        db.session.remove()


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_a_clash_keeps_the_requested_week_and_marks_it(open_page, live_server, language, viewport):
    from tests import factories

    lab = make_lab(live_server.app, language)
    later = next_weekday(2, weeks_ahead=3)  # a Wednesday three weeks on: not the week the page opens on
    with live_server.app.app_context():
        from resources import bookings
        from resources.models import Resource
        from resources.schemas import NewBooking

        other = factories.UserFactory(email=f"other-{lab['tag']}@example.com")
        resource = db.session.get(Resource, lab["resource"])
        bookings.create_booking(resource, other, NewBooking(
            start=datetime.fromisoformat(f"{later.isoformat()}T10:00+08:00"),
            end=datetime.fromisoformat(f"{later.isoformat()}T12:00+08:00"), accept_terms_version=1))
        db.session.commit()
        db.session.remove()

    page = open_page(language, viewport)
    log_in(page, lab["founder"])
    page.goto(f"/resources/{lab['resource']}/calendar")
    booking_grid_ready(page)
    expect(page.locator(f'#booking-grid td.fc-timegrid-col[data-date="{later.isoformat()}"]')).to_have_count(0)
    form = page.locator("#booking-form")
    form.locator("#start").fill(f"{later.isoformat()}T11:00")  # the keyboard route
    form.locator("#end").fill(f"{later.isoformat()}T13:00")
    form.locator("#purpose").fill("Second run")
    form.locator("#accept_terms_version").check()
    form.locator("button[value=book]").click()

    expect(flash(page)).to_have_class(re.compile("alert-danger"))
    booking_grid_ready(page)
    # The requested day is in view (its week, or the day itself on a phone), not today's.
    expect(page.locator(f'#booking-grid td.fc-timegrid-col[data-date="{later.isoformat()}"]')).to_have_count(1)
    clash = page.locator("#booking-grid .fc-event.cal-clash")
    expect(clash).to_have_count(1)
    expect(clash).to_contain_text("11:00")
    expect(page.locator("#booking-grid .fc-event.cal-other")).to_have_count(1)  # anonymised: no name
    expect(page.locator("#booking-grid .fc-event.cal-other")).not_to_contain_text(f"other-{lab['tag']}")
    expect(form.locator("#start")).to_have_value(f"{later.isoformat()}T11:00")
    expect(form.locator("#end")).to_have_value(f"{later.isoformat()}T13:00")
    expect(form.locator("#purpose")).to_have_value("Second run")
    # Without the grid the list shows the same week with the request marked.
    expect(page.locator(f'[data-day="{later.isoformat()}"] .requested-entry')).to_have_count(1)


def test_a_series_is_previewed_on_the_grid(open_page, live_server):
    lab = make_lab(live_server.app, "en")
    monday = next_weekday(0)
    page = open_page("en", "desktop")
    log_in(page, lab["founder"])
    page.goto(f"/resources/{lab['resource']}/calendar?date={monday.isoformat()}")
    booking_grid_ready(page)
    page.locator("#booking-form #repeat_weeks").fill("3")
    drag(page, "#booking-grid", monday, "14:00", "14:30")
    series = page.locator("#grid-series li")
    expect(series).to_have_count(3)
    expect(page.locator("#grid-quote")).to_contain_text("3 of 3 occurrences can be booked")
    expect(page.locator("#grid-price")).to_contain_text("¥450.00")  # 3 x 1 h at ¥150.00
    page.locator("#booking-grid .fc-next-button").click()
    expect(page.locator("#booking-grid .fc-event.cal-selected")).to_have_count(1)  # the next week's occurrence


@pytest.mark.parametrize(("language", "viewport"), [("en", "desktop"), ("zh_CN", "phone")])
def test_staff_approve_a_pending_request_from_the_grid(open_page, live_server, language, viewport):
    lab = make_lab(live_server.app, language, requires_approval=True)
    tuesday = next_weekday(1)
    with live_server.app.app_context():
        from portal.auth.models import User
        from resources import bookings
        from resources.models import Resource
        from resources.schemas import NewBooking

        founder = db.session.query(User).filter_by(email=lab["founder"]).one()
        created = bookings.create_booking(db.session.get(Resource, lab["resource"]), founder, NewBooking(
            start=datetime.fromisoformat(f"{tuesday.isoformat()}T09:00+08:00"),
            end=datetime.fromisoformat(f"{tuesday.isoformat()}T11:00+08:00"), accept_terms_version=1,
            purpose="Pilot batch"))
        db.session.commit()
        booking_id = created[0].id
        db.session.remove()

    page = open_page(language, viewport)
    log_in(page, lab["staff"])
    page.goto(f"/resources/{lab['resource']}/calendar?date={tuesday.isoformat()}")
    booking_grid_ready(page)
    show_day(page, "#booking-grid", tuesday)
    pending = page.locator("#booking-grid .fc-event.cal-pending")
    expect(pending).to_contain_text(f"Founder {lab['tag']}")  # staff see who asked
    pending.click()
    decision = page.locator("#grid-decision")
    expect(decision).to_be_visible()
    expect(decision).to_contain_text(f"#{booking_id}")
    expect(decision).to_contain_text("Pilot batch")
    decision.locator("form[data-decision=approve] button").click()
    expect(flash(page)).to_have_class(re.compile("alert-success"))
    expect(page).to_have_url(re.compile(rf"/resources/{lab['resource']}/calendar\?date={tuesday.isoformat()}"))
    booking_grid_ready(page)
    show_day(page, "#booking-grid", tuesday)
    expect(page.locator("#booking-grid .fc-event.cal-staff")).to_have_count(1)
    expect(page.locator("#booking-grid .fc-event.cal-pending")).to_have_count(0)
    with live_server.app.app_context():
        from resources.models import Booking

        assert db.session.get(Booking, booking_id).status == "confirmed"
        db.session.remove()


def make_mentor(app, language: str) -> dict:
    from tests import factories
    from tests.incubation.factories import MentorProfileFactory

    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        user = factories.UserFactory(email=f"mentor-{tag}@example.com", name=f"Mentor {tag}", locale=language,
                                     roles=["mentor"])
        profile = MentorProfileFactory(user=user)
        db.session.commit()
        ids = {"email": user.email, "profile": profile.id}
        db.session.remove()
    return ids


def mentor_slots(app, profile_id: int) -> list[tuple[str, str]]:
    from incubation.models import MentorSlot

    with app.app_context():
        rows = db.session.query(MentorSlot).filter_by(mentor_profile_id=profile_id).order_by(MentorSlot.starts_at)
        found = [(s.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                  s.ends_at.astimezone(SHANGHAI).strftime("%H:%M")) for s in rows]
        db.session.remove()
    return found


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_a_mentor_paints_office_hours_that_repeat_weekly(open_page, live_server, language, viewport):
    mentor = make_mentor(live_server.app, language)
    day = datetime.now(SHANGHAI).date() + timedelta(days=2)
    page = open_page(language, viewport)
    log_in(page, mentor["email"])
    page.goto("/mentors/me")
    expect(page.locator("#office-hours-grid .fc-timegrid")).to_be_visible()
    no_horizontal_scroll(page)

    form = page.locator("#slot-form")
    form.locator("[name=repeat_weeks]").fill("4")
    drag(page, "#office-hours-grid", day, "14:00", "14:30")  # 14:00-15:00, snapped to 15 minutes
    expect(form.locator("[name=start]")).to_have_value(f"{day.isoformat()}T14:00")
    expect(form.locator("[name=end]")).to_have_value(f"{day.isoformat()}T15:00")
    expect(page.locator("#office-hours-grid .fc-event.cal-selected")).to_have_count(1)
    expect(page.locator("#office-hours-selection")).to_contain_text("4")
    form.locator("[type=submit]").click()
    expect(flash(page)).to_have_class(re.compile("alert-success"))
    wanted = [((day + timedelta(weeks=w)).isoformat() + " 14:00", "15:00") for w in range(4)]
    assert mentor_slots(live_server.app, mentor["profile"]) == wanted
    show_day(page, "#office-hours-grid", day)
    expect(page.locator("#office-hours-grid .fc-event.cal-free-slot")).to_have_count(1)

    # Painting over the second week's hour refuses the whole request, names the start, and adds nothing.
    second = day + timedelta(weeks=1)
    form = page.locator("#slot-form")
    form.locator("[name=repeat_weeks]").fill("3")
    form.locator("[name=start]").fill(f"{day.isoformat()}T16:00")  # free this week...
    form.locator("[name=end]").fill(f"{day.isoformat()}T17:00")
    with live_server.app.app_context():  # ...but taken the next week by a one-off hour
        from incubation import services
        from incubation.models import MentorProfile
        from incubation.schemas.mentors import NewSlot

        services.add_slot(db.session.get(MentorProfile, mentor["profile"]), NewSlot(
            start=datetime.fromisoformat(f"{second.isoformat()}T16:30+08:00"),
            end=datetime.fromisoformat(f"{second.isoformat()}T17:30+08:00")))
        db.session.commit()
        db.session.remove()
    form.locator("[type=submit]").click()
    expect(flash(page)).to_have_class(re.compile("alert-danger"))
    expect(flash(page)).to_contain_text(f"{second.isoformat()} 16:30")
    start = page.locator("#slot-form [name=start]")
    expect(start).to_have_class(re.compile("is-invalid"))
    expect(start).to_have_value(f"{day.isoformat()}T16:00")  # the input stays
    expect(page.locator("#slot-form [name=repeat_weeks]")).to_have_value("3")
    assert len(mentor_slots(live_server.app, mentor["profile"])) == 5  # the 4 painted and the one-off only


@pytest.mark.parametrize(("language", "viewport"), CASES)
def test_the_grids_have_no_serious_accessibility_violation(open_page, live_server, language, viewport):
    """axe-core over the booking grid (a booker's and staff's) and the office-hours grid, once drawn."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def serious(page: Page) -> list[str]:
        return [f"{page.url}: {v['impact']} {v['id']} at {[n['target'] for n in v['nodes']][:3]}"
                for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]

    lab = make_lab(live_server.app, language, requires_approval=True)
    mentor = make_mentor(live_server.app, language)
    monday = next_weekday(0)
    found = []
    for email in (lab["founder"], lab["staff"]):
        page = open_page(language, viewport)
        log_in(page, email)
        page.goto(f"/resources/{lab['resource']}/calendar?date={monday.isoformat()}")
        booking_grid_ready(page)
        found += serious(page)
    page = open_page(language, viewport)
    log_in(page, mentor["email"])
    page.goto("/mentors/me")
    expect(page.locator("#office-hours-grid .fc-timegrid")).to_be_visible()
    found += serious(page)
    assert not found, "\n".join(found)
