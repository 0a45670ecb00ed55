"""Counts read naturally: "1 vote" but "2 votes", and so on."""

from __future__ import annotations

from incubation.models import ApplicationReview, ReviewAssignment
from portal.auth.models import Role
from portal.extensions import db
from tests.factories import UserFactory
from tests.incubation.factories import (
    ApplicationFactory,
    IdeaFactory,
    IdeaVoteFactory,
    MentorProfileFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _english(client):
    client.post("/language", data={"locale": "en"})


def test_vote_counts(client):
    _english(client)
    one, two = IdeaFactory(title="Quiet fan"), IdeaFactory(title="Smart lock")
    IdeaVoteFactory(idea=one)
    IdeaVoteFactory(idea=two)
    IdeaVoteFactory(idea=two)
    assert "· 1 vote<" in client.get(f"/ideas/{one.id}").get_data(as_text=True)
    assert "· 2 votes<" in client.get(f"/ideas/{two.id}").get_data(as_text=True)
    index = client.get("/ideas/").get_data(as_text=True)
    assert ">vote</div>" in index and ">votes</div>" in index


def test_rating_counts_and_places(client, factories):
    _english(client)
    profile = MentorProfileFactory(rating_sum=5, rating_count=1)
    assert "1 rating<" in client.get(f"/mentors/{profile.id}").get_data(as_text=True)
    profile.rating_sum, profile.rating_count = 9, 2
    assert "2 ratings<" in client.get(f"/mentors/{profile.id}").get_data(as_text=True)
    _staff, company = company_with_staff()
    program_with_criteria(company, capacity=1, title="Tiny cohort")
    listing = client.get("/programs/").get_data(as_text=True)
    assert "1 place<" in listing and "1 places" not in listing


def _review(application, score):
    reviewer = UserFactory(roles=[Role.COMPANY])
    assignment = ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id)
    db.session.add(assignment)
    db.session.flush()
    db.session.add(ApplicationReview(assignment_id=assignment.id, scores={"Market": score, "Team": score},
                                     weighted_score=float(score), recommendation="maybe"))
    db.session.flush()


def test_review_counts_in_the_ranking(client, login):
    staff, company = company_with_staff()
    program = program_with_criteria(company, capacity=3)
    once = ApplicationFactory(program=program, project=startup_with_founder(status="screening")[2],
                              status="under_review")
    twice = ApplicationFactory(program=program, project=startup_with_founder(status="screening")[2],
                               status="under_review")
    _review(once, 3)
    _review(twice, 4)
    _review(twice, 2)
    login(staff)
    _english(client)
    page = client.get(f"/programs/{program.id}/applications").get_data(as_text=True)
    assert ">1 review<" in page and ">2 reviews<" in page and "0 of 3 places taken." in page
