"""What a blind reviewer sees, in a real browser: the answers written for the program, and nothing that
names the applicant (title, startup, summary, team) - on the review list, the dashboard and the review page.
The reviewer is a staff member of the company running the program: company staff are blind too."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.extensions import db
from portal.organisations.models import MemberRole, Membership
from tests.e2e.test_incubation_flow import _organisation, _person, log_in

pytestmark = pytest.mark.browser

ANSWER = "We validated demand with 1,200 pre-orders and two co-creation workshops in Qingdao."


@pytest.fixture
def blind_cast(live_server):
    from incubation import services
    from incubation.models import ProjectStatus
    from incubation.schemas.programs import NewApplication, NewProgram
    from incubation.schemas.projects import ProjectDraft

    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        founder, manager, reviewer = (_person("Fang Founder", Role.FOUNDER), _person("Mia Manager", Role.COMPANY),
                                      _person(f"Sam Staff {tag}", Role.COMPANY))
        db.session.flush()
        startup = _organisation(f"Zephyr Air Labs {tag}", "startup", founder)
        company = _organisation(f"Midea Makers {tag}", "company", manager)
        db.session.flush()
        company.memberships.append(Membership(user_id=reviewer.id, role=MemberRole.MEMBER))
        program = services.create_program(company, NewProgram(
            organisation_id=company.id, title=f"Open Track {tag}", mode="open_source",
            opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=30), capacity=5,
            criteria=[{"name": "Impact", "weight": 1}], questions=[{"text": "What demand have you validated?"}],
            blind_review=True))
        project = services.create_project(startup, founder, ProjectDraft(
            title=f"Zephyr Quiet Ventilator {tag}", mode="open_source",
            summary=f"A whisper-quiet ventilator for small flats {tag}", team="Chen Chen, ex-Haier HVAC"))
        project.status = ProjectStatus.SUBMITTED
        db.session.flush()
        application = services.apply_to_program(program, project, founder, NewApplication(
            project_id=project.id, answers={str(program.questions[0].id): ANSWER}))
        services.assign_reviewer(application, reviewer, manager)
        cast = {"reviewer": reviewer.email, "application_id": application.id, "title": project.title,
                "summary": project.summary, "startup": startup.name, "team": project.team,
                "program": program.title}
        commit()
    return cast


def test_a_blind_reviewer_sees_only_the_answers(page: Page, live_server, blind_cast):
    secrets = (blind_cast["title"], blind_cast["summary"], blind_cast["startup"], blind_cast["team"])
    label = f"Application #{blind_cast['application_id']}"
    log_in(page, blind_cast["reviewer"])

    page.goto("/dashboard")
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name=label)).to_be_visible()
    for secret in secrets:
        expect(main).not_to_contain_text(secret)

    page.goto("/reviews/")
    main = page.get_by_role("main")
    main.get_by_role("link", name=f"{blind_cast['program']} · {label}").click()
    expect(page.get_by_role("heading", name=label)).to_be_visible()
    answers = page.locator("#answers")
    expect(answers).to_contain_text("What demand have you validated?")
    expect(answers).to_contain_text(ANSWER)
    expect(page.locator("#review").get_by_role("button", name="Save review")).to_be_visible()
    body = page.get_by_role("main")
    for secret in secrets:
        expect(body).not_to_contain_text(secret)
    expect(body.locator("a[href^='/projects/']")).to_have_count(0)
