"""Review: conflicts of interest before assignment, balanced auto-assignment, scores, blind review,
per-reviewer z-score ranking, decisions with feedback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incubation import services
from incubation.models import ApplicationReview, ReviewAssignment
from incubation.schemas.programs import NewReview
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    FormerEmploymentFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _setup(**program_fields):
    founder, startup, project = startup_with_founder(mode="open_source", status="submitted")
    manager, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source", **program_fields)
    application = ApplicationFactory(program=program, project=project)
    return founder, manager, company, program, application


def _assign(client, headers, application, user):
    return client.post(f"/api/v1/applications/{application.id}/reviewers", headers=headers,
                       json={"user_id": user.id})


def _review(client, headers, application, scores, recommendation="yes", comment=""):
    return client.post(f"/api/v1/applications/{application.id}/reviews", headers=headers,
                       json={"scores": scores, "recommendation": recommendation, "comment": comment})


# ---- conflicts of interest -------------------------------------------------------------------

def test_member_of_the_applicant_organisation_is_refused_before_assignment(client, factories, bearer):
    founder, manager, _company, _program, application = _setup()
    cofounder = factories.UserFactory()
    factories.MembershipFactory(organisation=application.project.organisation, user=cofounder)
    for user in (founder, cofounder):
        response = _assign(client, bearer(manager), application, user)
        assert response.status_code == 409
        assert "member of the applicant organisation" in response.json["error"]["message"]
        assert "user_id" in response.json["error"]["fields"]
    assert _count(ReviewAssignment) == 0


def test_shared_former_employer_is_refused_before_assignment(client, factories, bearer):
    founder, manager, _company, _program, application = _setup()
    reviewer = factories.UserFactory(roles=["mentor"])
    _staff, old_employer = company_with_staff()
    _staff2, unrelated = company_with_staff()
    FormerEmploymentFactory(user=reviewer, company=unrelated)
    assert services.conflict_reasons(application, reviewer) == []
    # an unverified claim is enough to keep a reviewer away
    FormerEmploymentFactory(user=founder, company=old_employer, verified_at=None)
    FormerEmploymentFactory(user=reviewer, company=old_employer)
    response = _assign(client, bearer(manager), application, reviewer)
    assert response.status_code == 409
    assert old_employer.name in response.json["error"]["message"]
    assert _count(ReviewAssignment) == 0
    fine = factories.UserFactory(roles=["mentor"])
    assert _assign(client, bearer(manager), application, fine).status_code == 201
    assert _assign(client, bearer(manager), application, fine).status_code == 409  # assigned already


def test_only_program_managers_assign(client, factories, bearer):
    founder, _manager, _company, _program, application = _setup()
    reviewer = factories.UserFactory()
    assert _assign(client, bearer(founder), application, reviewer).status_code == 403
    assert _assign(client, bearer(factories.UserFactory(roles=["company"])), application, reviewer).status_code == 403


def test_assignment_moves_the_project_into_screening(client, factories, bearer, mail_outbox):
    _founder, manager, _company, _program, application = _setup()
    reviewer = factories.UserFactory(email="reviewer@example.com")
    assert _assign(client, bearer(manager), application, reviewer).status_code == 201
    assert db.session.get(type(application.project), application.project_id).status == "screening"
    assert any(m["To"] == "reviewer@example.com" for m in mail_outbox)


def test_reviewer_declares_a_conflict_and_cannot_review(client, factories, bearer):
    _founder, manager, _company, _program, application = _setup()
    reviewer = factories.UserFactory()
    _assign(client, bearer(manager), application, reviewer)
    headers = bearer(reviewer)
    empty = client.post(f"/api/v1/applications/{application.id}/conflict", headers=headers, json={})
    assert empty.status_code == 400 and "reason" in empty.json["error"]["fields"]
    declared = client.post(f"/api/v1/applications/{application.id}/conflict", headers=headers,
                           json={"reason": "I advised them last year."})
    assert declared.status_code == 200
    assert _review(client, headers, application, {"Market": 3, "Team": 3}).status_code == 409
    reviewers = client.get(f"/api/v1/applications/{application.id}", headers=bearer(manager)).json["reviewers"]
    assert reviewers[0]["conflict"] == "I advised them last year."


# ---- auto-assignment -------------------------------------------------------------------------

def test_auto_assignment_balances_load_and_skips_conflicts(client, factories, bearer):
    r1, r2, r3 = (factories.UserFactory(roles=["company"]) for _ in range(3))
    manager, company = company_with_staff(r1, r2, r3)
    program = program_with_criteria(company, mode="open_source")
    applications = []
    for _ in range(6):
        _f, _s, project = startup_with_founder(mode="open_source", status="submitted")
        applications.append(ApplicationFactory(program=program, project=project))
    # r1 is a member of the first applicant: never assigned to it
    factories.MembershipFactory(organisation=applications[0].project.organisation, user=r1)
    pool = [r1, r2, r3]
    response = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager),
                           json={"reviewers_per_application": 2, "user_ids": [u.id for u in pool]})
    assert response.status_code == 201, response.json
    assert len(response.json["items"]) == 12
    loads = {u.id: 0 for u in pool}
    for application in applications:
        reviewers = [a.reviewer_id for a in db.session.scalars(
            select(ReviewAssignment).where(ReviewAssignment.application_id == application.id))]
        assert len(reviewers) == 2 and len(set(reviewers)) == 2
        for reviewer_id in reviewers:
            loads[reviewer_id] += 1
    assert r1.id not in [a.reviewer_id for a in applications[0].assignments]
    assert sorted(loads.values()) == [4, 4, 4]
    # running it again adds nothing: every application has its reviewers
    again = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager),
                        json={"reviewers_per_application": 2, "user_ids": [u.id for u in pool]})
    assert again.status_code == 201 and again.json["items"] == []


# ---- scores ----------------------------------------------------------------------------------

def test_scores_are_checked_per_criterion(client, factories, bearer):
    _founder, manager, _company, _program, application = _setup()
    reviewer = factories.UserFactory()
    _assign(client, bearer(manager), application, reviewer)
    headers = bearer(reviewer)
    for scores, field in (({"Market": 6, "Team": 3}, "scores.Market"), ({"Market": -1, "Team": 3}, "scores.Market"),
                          ({"Market": 3}, "scores.Team"), ({"Market": 3, "Team": 3, "Luck": 5}, "scores"),
                          ({"Market": "five", "Team": 3}, "scores.Market"), ({"Market": 2.5, "Team": 3}, "scores.Market")):
        response = _review(client, headers, application, scores)
        assert response.status_code == 400, scores
        assert field in response.json["error"]["fields"], (scores, response.json)
    bad_recommendation = _review(client, headers, application, {"Market": 3, "Team": 3}, "perhaps")
    assert bad_recommendation.status_code == 400 and "recommendation" in bad_recommendation.json["error"]["fields"]
    assert _count(ApplicationReview) == 0
    # Market weighs 2, Team 1: (2*5 + 1*2) / 3 = 4.0
    ok = _review(client, headers, application, {"Market": 5, "Team": 2}, "yes", "Solid")
    assert ok.status_code == 201 and ok.json["weighted_score"] == 4.0
    assert _review(client, headers, application, {"Market": 1, "Team": 1}).status_code == 409
    unassigned = _review(client, bearer(factories.UserFactory()), application, {"Market": 1, "Team": 1})
    assert unassigned.status_code == 403


def _reviewers_score(program, manager, plans):
    """plans: {reviewer name: {project label: score}} -> ranking rows by project label."""
    apps = {}
    for plan in plans.values():
        for label in plan:
            if label not in apps:
                _f, _s, project = startup_with_founder(mode="open_source", status="submitted", title=f"P-{label}")
                apps[label] = ApplicationFactory(program=program, project=project)
    for name, plan in plans.items():
        reviewer = services.User(email=f"{name}-{program.id}@example.com", name=name, password_hash="x")
        db.session.add(reviewer)
        db.session.flush()
        for label, value in plan.items():
            assignment = services.assign_reviewer(apps[label], reviewer, manager)
            services.submit_review(assignment, NewReview(scores={"Market": value, "Team": value}, recommendation="maybe"))
    return {r.application.project.title[2:]: r for r in services.ranking(program) if r.reviews}


def test_z_score_ranking_makes_harsh_and_lenient_reviewers_count_equally(db_session):
    """Harsh H reviews A=3, B=2, C=1; lenient L reviews only B=5, C=4. Raw averages put B first
    (3.5 > 3.0 > 2.5) only because L is lenient and did not see A. Per reviewer, A is H's best
    (z=+1.22), B is H's middle (0) and L's best (+1): normalised A=1.22 > B=0.5 > C=-1.11."""
    _f, manager, _company, program, _app = _setup()
    rows = _reviewers_score(program, manager, {"H": {"A": 3, "B": 2, "C": 1}, "L": {"B": 5, "C": 4}})
    assert (rows["A"].average, rows["B"].average, rows["C"].average) == (3.0, 3.5, 2.5)
    assert rows["A"].normalised == pytest.approx(1.2247, abs=1e-3)
    assert rows["B"].normalised == pytest.approx(0.5)
    assert rows["C"].normalised == pytest.approx(-1.1124, abs=1e-3)
    assert [rows[k].rank for k in "ABC"] == [1, 2, 3]


def test_a_reviewer_with_identical_scores_adds_no_signal(db_session):
    _f, manager, _company, program, _app = _setup()
    rows = _reviewers_score(program, manager, {"Flat": {"A": 4, "B": 4}, "Spread": {"A": 5, "B": 1}})
    assert rows["A"].normalised == pytest.approx(0.5) and rows["B"].normalised == pytest.approx(-0.5)


def test_normalisation_changes_the_order_when_a_lenient_reviewer_inflates_one_project(db_session):
    """Harsh reviewer H scores X=3, Y=1; lenient reviewer L scores only Z=5 and Y=4.
    Raw averages: Z=5.0 > X=3.0 > Y=2.5. Per reviewer, X is H's best (+1) and Z is L's best (+1), Y is
    the worst of both (-1): normalised X=+1, Z=+1, Y=-1 -> Z no longer beats X merely because L is lenient."""
    _f, manager, _company, program, _app = _setup()
    h, l_ = (services.User(email=f"{n}z@example.com", name=n, password_hash="x") for n in ("H", "L"))
    db.session.add_all([h, l_])
    apps = {}
    for label in "XYZ":
        _f2, _s2, project = startup_with_founder(mode="open_source", status="submitted", title=f"Proj {label}")
        apps[label] = ApplicationFactory(program=program, project=project)
    for reviewer, plan in ((h, {"X": 3, "Y": 1}), (l_, {"Z": 5, "Y": 4})):
        for label, value in plan.items():
            assignment = services.assign_reviewer(apps[label], reviewer, manager)
            services.submit_review(assignment, NewReview(scores={"Market": value, "Team": value}, recommendation="maybe"))
    rows = {r.application.project.title: r for r in services.ranking(program) if r.reviews}
    assert rows["Proj Z"].average == 5.0 and rows["Proj X"].average == 3.0 and rows["Proj Y"].average == 2.5
    assert rows["Proj X"].normalised == pytest.approx(1.0)
    assert rows["Proj Z"].normalised == pytest.approx(1.0)
    assert rows["Proj Y"].normalised == pytest.approx(-1.0)
    assert rows["Proj Y"].rank == 3


def test_ranking_api_and_page_with_chart(client, factories, bearer, login):
    _founder, manager, _company, program, application = _setup()
    r1, r2 = factories.UserFactory(), factories.UserFactory()
    for reviewer, value in ((r1, 4), (r2, 2)):
        _assign(client, bearer(manager), application, reviewer)
        assert _review(client, bearer(reviewer), application, {"Market": value, "Team": value}).status_code == 201
    ranking = client.get(f"/api/v1/programs/{program.id}/ranking", headers=bearer(manager)).json["items"]
    assert ranking[0]["average"] == 3.0 and ranking[0]["reviews"] == 2 and ranking[0]["rank"] == 1
    assert ranking[0]["recommendations"] == {"yes": 2, "maybe": 0, "no": 0}
    assert client.get(f"/api/v1/programs/{program.id}/ranking", headers=bearer(r1)).status_code == 403
    login(manager)
    page = client.get(f"/programs/{program.id}/applications").get_data(as_text=True)
    assert "data-chart=" in page and "Weighted average" in page and "chart.umd.min.js" in page
    assert application.project.title in page


# ---- blind review and decisions --------------------------------------------------------------

def test_blind_review_hides_the_applicant_from_reviewers(client, factories, bearer, login):
    _founder, manager, _company, program, application = _setup(blind_review=True)
    application.project.title = "Very Identifiable Startup Project"
    reviewer = factories.UserFactory()
    _assign(client, bearer(manager), application, reviewer)
    seen = client.get(f"/api/v1/applications/{application.id}", headers=bearer(reviewer)).json
    assert "project_id" not in seen and "project" not in seen and seen["blind"] is True
    assert seen["title"] == f"Application #{application.id}"
    assert application.project.summary not in str(seen)
    assert "reviewers" not in seen
    managed = client.get(f"/api/v1/applications/{application.id}", headers=bearer(manager)).json
    assert managed["project"]["title"] == "Very Identifiable Startup Project"
    login(reviewer)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Very Identifiable Startup Project" not in page
    assert application.project.organisation.name not in page
    assert "Save review" in page


def test_decision_feedback_reaches_the_founders(client, factories, bearer, login, mail_outbox):
    founder, manager, _company, _program, application = _setup()
    bad = client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(manager),
                      json={"decision": "accepted"})
    assert bad.status_code == 400 and "feedback" in bad.json["error"]["fields"]
    assert client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(founder),
                       json={"decision": "accepted", "feedback": "x"}).status_code == 403
    response = client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(manager),
                           json={"decision": "rejected", "feedback": "Come back with a prototype."})
    assert response.status_code == 200 and response.json["status"] == "rejected"
    project = db.session.get(type(application.project), application.project_id)
    assert project.status == "rejected"
    assert any(m["To"] == founder.email and "Come back with a prototype." in m.get_content() for m in mail_outbox)
    assert client.get(f"/api/v1/applications/{application.id}",
                      headers=bearer(founder)).json["feedback"] == "Come back with a prototype."
    again = client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(manager),
                        json={"decision": "accepted", "feedback": "Changed my mind"})
    assert again.status_code == 409
    login(founder)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Come back with a prototype." in page


def test_review_and_decision_in_the_pages(client, factories, login):
    founder, manager, _company, program, application = _setup()
    reviewer = factories.UserFactory(roles=["mentor"])
    login(manager)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Assign" in page and "Send decision" in page
    conflicted = client.post(f"/applications/{application.id}/reviewers", data={"user_id": founder.id},
                             follow_redirects=True)
    assert "Conflict of interest" in conflicted.get_data(as_text=True)
    client.post(f"/applications/{application.id}/reviewers", data={"user_id": reviewer.id})
    client.post("/auth/logout")
    login(reviewer)
    assert "to review" in client.get("/reviews/").get_data(as_text=True)
    market, team = program.criteria
    client.post(f"/applications/{application.id}/review", data={
        f"score-{market.id}": "4", f"score-{team.id}": "5", "recommendation": "yes", "comment": "Go"})
    review = db.session.scalar(select(ApplicationReview))
    assert review.scores == {"Market": 4, "Team": 5} and review.recommendation == "yes"
    client.post("/auth/logout")
    login(manager)
    client.post(f"/applications/{application.id}/decision", data={"decision": "accepted", "feedback": "Welcome!"})
    assert db.session.get(type(application.project), application.project_id).status == "accepted"


# ---- the typed input layer and the response models ------------------------------------------------------

def assert_out(model, body: dict) -> None:
    """`body` is exactly what `model` describes: valid, every key a field, every required field present."""
    model.model_validate(body)
    fields = model.model_fields
    assert set(body) <= set(fields), set(body) - set(fields)
    assert {name for name, f in fields.items() if f.is_required()} <= set(body)


def test_review_bodies_are_typed_and_refusals_name_the_field(client, factories, bearer):
    _founder, manager, _company, program, application = _setup()
    reviewer = factories.UserFactory()
    headers = bearer(manager)
    for body, field in (({"user_id": "1"}, "user_id"), ({"user_id": 2**31}, "user_id"), ({}, "user_id"),
                        ({"user_id": 999999}, "user_id")):
        response = client.post(f"/api/v1/applications/{application.id}/reviewers", headers=headers, json=body)
        assert response.status_code == 400 and field in response.json["error"]["fields"], (body, response.json)
    _assign(client, headers, application, reviewer)
    mine = bearer(reviewer)
    url = f"/api/v1/applications/{application.id}/reviews"
    for body, field in (({"scores": "5", "recommendation": "yes"}, "scores"),
                        ({"scores": [5, 3], "recommendation": "yes"}, "scores"),
                        ({"scores": {"Market": "5", "Team": 3}, "recommendation": "yes"}, "scores.Market"),
                        ({"scores": {"Market": True, "Team": 3}, "recommendation": "yes"}, "scores.Market"),
                        ({"scores": {"Market": 5, "Team": 3}, "recommendation": 1}, "recommendation"),
                        ({"scores": {"Market": 5, "Team": 3}}, "recommendation"),
                        ({"recommendation": "yes"}, "scores"),
                        ({"scores": {"Market": 5, "Team": 3}, "recommendation": "yes", "comment": ["a"]}, "comment"),
                        ({"scores": {"Market": 5, "Team": 3}, "recommendation": "yes", "comment": "x" * 5001},
                         "comment")):
        response = client.post(url, headers=mine, json=body)
        assert response.status_code == 400, (body, response.json)
        assert field in response.json["error"]["fields"], (body, response.json)
    conflict = f"/api/v1/applications/{application.id}/conflict"
    for body in ({"reason": ["x"]}, {"reason": "   "}, {"reason": "x" * 501}):
        response = client.post(conflict, headers=mine, json=body)
        assert response.status_code == 400 and "reason" in response.json["error"]["fields"], body
    decision = f"/api/v1/applications/{application.id}/decision"
    for body, field in (({"decision": "maybe", "feedback": "x"}, "decision"), ({"decision": "accepted",
                                                                                 "feedback": 5}, "feedback")):
        response = client.post(decision, headers=headers, json=body)
        assert response.status_code == 400 and field in response.json["error"]["fields"], body
    auto = f"/api/v1/programs/{program.id}/auto-assign"
    for body, field in (({"reviewers_per_application": 11}, "reviewers_per_application"),
                        ({"reviewers_per_application": "2"}, "reviewers_per_application"),
                        ({"user_ids": reviewer.id}, "user_ids"), ({"user_ids": [str(reviewer.id)]}, "user_ids.0"),
                        ({"user_ids": [999999]}, "user_ids"), ({"user_ids": []}, "user_ids")):
        response = client.post(auto, headers=headers, json=body)
        assert response.status_code == 400 and field in response.json["error"]["fields"], (body, response.json)
    assert _count(ApplicationReview) == 0
    assert db.session.get(ReviewAssignment, services.assignment_of(application, reviewer).id).conflict_reason == ""


def test_review_responses_match_their_models(client, factories, bearer):
    from incubation.schemas.programs import (
        ApplicationOut,
        AssignmentOut,
        AutoAssignStatusOut,
        ConflictOut,
        RankingOut,
        ReviewAssignmentOut,
        ReviewerAssignedOut,
        ReviewStoredOut,
    )

    _founder, manager, company, program, application = _setup()
    headers = bearer(manager)
    reviewer, second = factories.UserFactory(), factories.UserFactory()
    assert_out(AutoAssignStatusOut, client.get(f"/api/v1/programs/{program.id}/auto-assign", headers=headers).json)
    assigned = _assign(client, headers, application, reviewer)
    assert assigned.status_code == 201
    assert_out(ReviewerAssignedOut, assigned.json)
    for item in client.get(f"/api/v1/programs/{program.id}/ranking", headers=headers).json["items"]:
        assert_out(RankingOut, item)  # not reviewed yet: no average, no rank
    stored = _review(client, bearer(reviewer), application, {"Market": 4, "Team": 2}, "maybe", "Fine")
    assert stored.status_code == 201
    assert_out(ReviewStoredOut, stored.json)
    for item in client.get("/api/v1/reviews", headers=bearer(reviewer)).json["items"]:
        assert_out(ReviewAssignmentOut, item)
    _assign(client, headers, application, second)
    declared = client.post(f"/api/v1/applications/{application.id}/conflict", headers=bearer(second),
                           json={"reason": "My cousin founded it."})
    assert declared.status_code == 200
    assert_out(ConflictOut, declared.json)
    for item in client.get("/api/v1/reviews", headers=bearer(second)).json["items"]:
        assert_out(ReviewAssignmentOut, item)
    managed = client.get(f"/api/v1/applications/{application.id}", headers=headers).json
    assert_out(ApplicationOut, managed)
    assert [r["review"] is None for r in managed["reviewers"]] == [False, True]
    for item in client.get(f"/api/v1/programs/{program.id}/ranking", headers=headers).json["items"]:
        assert_out(RankingOut, item)
    auto = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=headers,
                       json={"reviewers_per_application": 3})
    assert auto.status_code == 201, auto.json
    for item in auto.json["items"]:
        assert_out(AssignmentOut, item)
    assert_out(AutoAssignStatusOut, client.get(f"/api/v1/programs/{program.id}/auto-assign", headers=headers).json)
    decided = client.post(f"/api/v1/applications/{application.id}/decision", headers=headers,
                          json={"decision": "accepted", "feedback": "Welcome."})
    assert decided.status_code == 200
    assert_out(ApplicationOut, decided.json)
