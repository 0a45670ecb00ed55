"""The incubation flow in a real browser: a founder creates and submits a project and applies to a
program; a reviewer scores it; the program's manager sees the ranking and accepts it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role, User, UserRole
from portal.auth.services import hash_password
from portal.db import commit, utcnow
from portal.extensions import db
from portal.organisations.models import MemberRole, Membership, Organisation

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-e2e"


def _person(name: str, role: str) -> User:
    user = User(email=f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:8]}@example.com", name=name,
                password_hash=hash_password(PASSWORD), locale="en", confirmed_at=utcnow())
    user.role_rows = [UserRole(role=role)]
    db.session.add(user)
    return user


def _organisation(name: str, kind: str, owner: User) -> Organisation:
    organisation = Organisation(name=name, kind=kind, city="Qingdao",
                                verified_at=utcnow() if kind == "company" else None)
    organisation.memberships.append(Membership(user_id=owner.id, role=MemberRole.OWNER))
    db.session.add(organisation)
    return organisation


@pytest.fixture
def cast(live_server):
    """A founder with a startup, a company running an open crowdfunding program, and a mentor."""
    from incubation import services
    from incubation.schemas.programs import NewProgram

    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        founder, manager, reviewer = (_person("Fang Founder", Role.FOUNDER), _person("Mia Manager", Role.COMPANY),
                                      _person(f"Rui Reviewer {tag}", Role.MENTOR))
        db.session.flush()
        startup = _organisation(f"QuietAir {tag}", "startup", founder)
        company = _organisation(f"Haier Labs {tag}", "company", manager)
        db.session.flush()
        program = services.create_program(company, NewProgram(
            organisation_id=company.id, title=f"Spring Cohort {tag}", mode="crowdfunding",
            opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=30), capacity=5,
            criteria=[{"name": "Market", "weight": 2}, {"name": "Team", "weight": 1}],
            questions=[{"text": "What demand have you validated?", "required": True}]))
        cast = {"founder": founder.email, "manager": manager.email, "reviewer": reviewer.email,
                "reviewer_name": reviewer.name, "startup": startup.name, "program_id": program.id,
                "program": program.title, "tag": tag}
        commit()
    return cast


def log_in(page: Page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/auth/login")
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def flash(page: Page):
    return page.get_by_role("main").get_by_role("alert").first


def test_founder_applies_reviewer_scores_manager_accepts(page: Page, live_server, cast):
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" confirmations
    title = f"Quiet Ventilator {cast['tag']}"

    # -- the founder writes a project, submits it and applies to the program
    log_in(page, cast["founder"])
    page.goto("/projects/new")
    form = page.get_by_role("main").locator("form")
    form.get_by_label("Startup").select_option(label=cast["startup"])
    form.get_by_label("Title").fill(title)
    form.get_by_label("One-line summary").fill("A 23 dB fresh-air unit for small flats")
    form.get_by_label("Industry").fill("Smart home")
    form.get_by_label("Stage").select_option("prototype")
    form.get_by_label("Incubation mode").select_option("crowdfunding")
    form.get_by_label("Problem").fill("Bedrooms reach 1500 ppm CO2 at night")
    form.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator("#project-status")).to_have_text("Draft")
    page.get_by_role("button", name="Submit for screening").click()
    expect(page.locator("#project-status")).to_have_text("Submitted")
    expect(page.locator("#timeline")).to_contain_text("Submitted")

    page.get_by_role("link", name=cast["program"]).click()
    apply = page.locator("#apply")
    apply.get_by_label("Project").select_option(label=title)
    apply.get_by_label("What demand have you validated?").fill("1,200 pre-orders of interest")
    apply.get_by_role("button", name="Send application").click()
    expect(flash(page)).to_contain_text("Application sent.")

    # -- the manager assigns a reviewer
    log_in(page, cast["manager"])
    page.goto(f"/programs/{cast['program_id']}/applications")
    page.locator("#ranking").get_by_role("link", name=title).click()
    page.get_by_label("Reviewer").select_option(label=cast["reviewer_name"])
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#reviewers")).to_contain_text(cast["reviewer_name"])
    application_url = page.url

    # -- the reviewer scores it
    log_in(page, cast["reviewer"])
    page.goto("/reviews/")
    page.get_by_role("link", name=re.compile(re.escape(title))).click()
    review = page.locator("#review")
    review.get_by_label(re.compile(r"^Market")).select_option("5")
    review.get_by_label(re.compile(r"^Team")).select_option("3")
    review.get_by_label("Recommendation").select_option("yes")
    review.get_by_label("Comment").fill("Strong demand signal")
    review.get_by_role("button", name="Save review").click()
    expect(flash(page)).to_contain_text("Review saved.")
    expect(page.locator("#review")).to_contain_text("4.33")  # (2*5 + 1*3) / 3

    # -- the manager sees the ranking with its chart and accepts
    log_in(page, cast["manager"])
    page.goto(f"/programs/{cast['program_id']}/applications")
    expect(page.locator("canvas[data-chart]")).to_be_visible()
    expect(page.locator("#ranking")).to_contain_text("4.33")
    page.goto(application_url)
    decision = page.locator("#decision-card")
    decision.get_by_label("Decision").select_option("accepted")
    decision.get_by_label("Feedback for the founders").fill("Welcome to the spring cohort!")
    decision.get_by_role("button", name="Send decision").click()
    expect(page.locator("#application-status")).to_have_text("Accepted")

    # -- the founder sees the decision and the feedback; the mail arrived
    log_in(page, cast["founder"])
    page.goto("/dashboard")
    page.get_by_role("link", name=title).first.click()
    expect(page.locator("#project-status")).to_have_text("Accepted")
    expect(page.locator("#applications")).to_contain_text("Welcome to the spring cohort!")
    mails = live_server.wait_for_mail(cast["founder"])
    assert any("Welcome to the spring cohort!" in m.get_content() for m in mails)
