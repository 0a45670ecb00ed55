"""The incubation pages render and show what a visitor expects."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from incubation.models import IdeaVote, ProjectStatus
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.incubation.factories import (
    IdeaFactory,
    IdeaVoteFactory,
    MentorProfileFactory,
    MentorSlotFactory,
    ProgramCriterionFactory,
    ProgramFactory,
    ProjectFactory,
)


def test_project_list_filters(client):
    ProjectFactory(title="Quiet ventilator", industry="Smart home", mode="crowdfunding", stage="prototype")
    ProjectFactory(title="Kitchen composter", industry="Cleantech", mode="open_source", stage="mvp")
    page = client.get("/projects/?industry=Cleantech").get_data(as_text=True)
    assert "Kitchen composter" in page and "Quiet ventilator" not in page
    page = client.get("/projects/?mode=crowdfunding").get_data(as_text=True)
    assert "Quiet ventilator" in page and "Kitchen composter" not in page
    page = client.get("/projects/?stage=mvp").get_data(as_text=True)
    assert "Kitchen composter" in page and "Quiet ventilator" not in page


def test_project_detail_shows_money_and_status(client):
    project = ProjectFactory(title="Quiet ventilator", funding_sought_amount=1_500_000_00, currency="CNY",
                             status=ProjectStatus.INCUBATING, problem="Stuffy bedrooms")
    response = client.get(f"/projects/{project.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1,500,000.00" in page and "Incubating" in page and "Stuffy bedrooms" in page
    assert client.get("/projects/999999").status_code == 404


def test_programs_mark_open_ones(client):
    open_program = ProgramFactory(title="Spring Cohort")
    ProgramCriterionFactory(program=open_program, name="Market", weight=3)
    ProgramCriterionFactory(program=open_program, name="Team", weight=1)
    ProgramFactory(title="Old Cohort", opens_at=utcnow() - timedelta(days=90), closes_at=utcnow() - timedelta(days=60))
    page = client.get("/programs/").get_data(as_text=True)
    assert "Spring Cohort" in page and "Old Cohort" in page
    assert page.count("Open for applications") == 1
    detail = client.get(f"/programs/{open_program.id}").get_data(as_text=True)
    assert "Market" in detail and "75%" in detail
    api = client.get("/api/v1/programs?open=1").json
    assert [p["title"] for p in api["items"]] == ["Spring Cohort"]
    assert api["items"][0]["criteria"] == [{"name": "Market", "weight": 3}, {"name": "Team", "weight": 1}]


def test_mentor_search_and_free_slots(client, factories):
    zhang = MentorProfileFactory(user=factories.UserFactory(name="Zhang Wei", roles=[Role.MENTOR]),
                                 expertise=["供应链 supply chain", "fundraising"], languages=["zh", "en"])
    anna = MentorProfileFactory(user=factories.UserFactory(name="Anna Schmidt", roles=[Role.MENTOR]),
                                expertise=["工业设计 industrial design", "IoT firmware"], languages=["en", "de"])
    free = MentorSlotFactory(mentor_profile=zhang)
    MentorSlotFactory(mentor_profile=zhang, booked_by_id=anna.user_id)
    MentorSlotFactory(mentor_profile=zhang, starts_at=utcnow() - timedelta(days=2),
                      ends_at=utcnow() - timedelta(days=2) + timedelta(hours=1))

    page = client.get("/mentors/?expertise=供应链").get_data(as_text=True)
    assert "Zhang Wei" in page and "Anna Schmidt" not in page
    page = client.get("/mentors/?language=de").get_data(as_text=True)
    assert "Anna Schmidt" in page and "Zhang Wei" not in page

    api = client.get("/api/v1/mentors?expertise=IOT").json
    assert [m["name"] for m in api["items"]] == ["Anna Schmidt"]
    zhang_json = client.get(f"/api/v1/mentors/{zhang.id}").json
    assert [s["id"] for s in zhang_json["free_slots"]] == [free.id]
    assert client.get(f"/mentors/{zhang.id}").status_code == 200


def test_ideas_show_votes_and_count_one_vote_per_user(client, factories, login):
    idea = IdeaFactory(title="Self-cleaning AC filter")
    IdeaVoteFactory(idea=idea)
    IdeaVoteFactory(idea=idea)
    IdeaFactory(title="Balcony herb garden")
    page = client.get("/ideas/").get_data(as_text=True)
    assert page.index("Self-cleaning AC filter") < page.index("Balcony herb garden")

    voter = login(factories.UserFactory(roles=[Role.BACKER]))
    assert client.post(f"/ideas/{idea.id}/vote").status_code == 302
    assert client.post(f"/ideas/{idea.id}/vote").status_code == 302  # second vote is refused politely
    votes = db.session.scalar(select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id))
    assert votes == 3
    assert db.session.scalar(select(func.count()).select_from(IdeaVote).where(IdeaVote.user_id == voter.id)) == 1

    assert client.post("/ideas/", data={"title": "Pet-hair robot vacuum"}).status_code == 302
    assert "Pet-hair robot vacuum" in client.get("/ideas/").get_data(as_text=True)


def test_dashboard_panels_per_role(client, factories, login):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    ProjectFactory(organisation=startup, title="My draft gadget", status=ProjectStatus.DRAFT)
    login(founder)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "My draft gadget" in page
    client.post("/auth/logout")

    mentor = MentorProfileFactory(expertise=["fundraising"])
    MentorSlotFactory(mentor_profile=mentor)
    login(mentor.user)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Upcoming office hours" in page and "fundraising" in page
