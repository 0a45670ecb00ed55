"""Issue 9, points 3 and 4 (the review side): conflicts re-checked after a membership, a review from a
conflicted reviewer refused with `conflict_of_interest`, and blind review that shows reviewers nothing
but the answers written for the program."""

from __future__ import annotations

from sqlalchemy import func, select

from incubation import services
from incubation.models import ApplicationReview, ReviewAssignment
from portal.audit import AuditEvent
from portal.db import commit, utcnow
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    FormerEmploymentFactory,
    add_question,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)

TITLE = "Zephyr Quiet Ventilator"
SUMMARY = "A whisper-quiet ventilator for 30-square-metre flats in Qingdao"
TEAM = "Chen Chen and Wang Lei, ex-Haier HVAC"
ANSWER = "We validated demand with 1,200 pre-orders and two co-creation workshops."
SCORES = {"Market": 4, "Team": 3}


def _blind_setup(factories):
    founder, startup, project = startup_with_founder(mode="open_source", status="submitted", title=TITLE,
                                                     summary=SUMMARY, team=TEAM, problem="Stuffy small flats")
    startup.name = "Zephyr Air Labs"
    manager, company = _verified_company()
    program = program_with_criteria(company, mode="open_source", blind_review=True)
    question = add_question(program, "What demand have you validated?")
    application = ApplicationFactory(program=program, project=project, answers={str(question.id): ANSWER})
    return founder, manager, company, program, application


def _verified_company():
    staff, company = company_with_staff()
    company.verified_at = utcnow()
    return staff, company


def _assign(client, headers, application, user):
    return client.post(f"/api/v1/applications/{application.id}/reviewers", headers=headers,
                       json={"user_id": user.id})


def _review(client, headers, application):
    return client.post(f"/api/v1/applications/{application.id}/reviews", headers=headers,
                       json={"scores": SCORES, "recommendation": "yes"})


def _identity(application) -> list[str]:
    project = application.project
    return [TITLE, SUMMARY, TEAM, project.organisation.name, "Stuffy small flats", f"/projects/{project.id}"]


def _assert_blind(text: str, application) -> None:
    for secret in _identity(application):
        assert secret not in text, secret


# ---- blind review -----------------------------------------------------------------------------

def test_every_reviewer_sees_only_the_answers(client, factories, bearer, login, mail_outbox):
    founder, manager, company, program, application = _blind_setup(factories)
    outsider = factories.UserFactory(roles=["mentor"])
    staff_reviewer = factories.UserFactory(roles=["company"])
    factories.MembershipFactory(organisation=company, user=staff_reviewer)
    for reviewer in (outsider, staff_reviewer):
        assert _assign(client, bearer(manager), application, reviewer).status_code == 201
    # the mail asking for the review names no applicant
    for mail in mail_outbox:
        _assert_blind(mail["Subject"] + mail.get_content(), application)

    for reviewer in (outsider, staff_reviewer):  # company staff reviewing are blind too
        seen = client.get(f"/api/v1/applications/{application.id}", headers=bearer(reviewer))
        assert seen.status_code == 200
        body = seen.get_data(as_text=True)
        _assert_blind(body, application)
        assert seen.json["blind"] is True and seen.json["title"] == f"Application #{application.id}"
        assert seen.json["answers"] == [{"question": "What demand have you validated?", "answer": ANSWER}]
        listed = client.get("/api/v1/reviews", headers=bearer(reviewer))
        assert listed.json["items"][0]["title"] == f"Application #{application.id}"
        _assert_blind(listed.get_data(as_text=True), application)

        login(reviewer)
        page = client.get(f"/applications/{application.id}").get_data(as_text=True)
        _assert_blind(page, application)
        assert ANSWER in page and "Save review" in page
        _assert_blind(client.get("/reviews/").get_data(as_text=True), application)
        _assert_blind(client.get("/dashboard").get_data(as_text=True), application)

    # the staff reviewer also manages the program: the ranking and the project page do not give it away
    ranking = client.get(f"/api/v1/programs/{program.id}/ranking", headers=bearer(staff_reviewer))
    assert ranking.json["items"][0]["title"] == f"Application #{application.id}"
    assert ranking.json["items"][0]["project_id"] is None
    _assert_blind(client.get(f"/api/v1/programs/{program.id}/applications",
                             headers=bearer(staff_reviewer)).get_data(as_text=True), application)
    login(staff_reviewer)
    _assert_blind(client.get(f"/programs/{program.id}/applications").get_data(as_text=True), application)
    project_page = client.get(f"/projects/{application.project_id}").get_data(as_text=True)
    assert f"/applications/{application.id}" not in project_page

    # a manager who reviews nothing in the program runs it with the full view; the founders see their own
    managed = client.get(f"/api/v1/applications/{application.id}", headers=bearer(manager)).json
    assert managed["blind"] is False and managed["project"]["title"] == TITLE
    assert client.get(f"/api/v1/programs/{program.id}/ranking",
                      headers=bearer(manager)).json["items"][0]["title"] == TITLE
    assert client.get(f"/api/v1/applications/{application.id}", headers=bearer(founder)).json["title"] == TITLE


def test_identities_show_after_the_decision(client, factories, bearer):
    _founder, manager, _company, _program, application = _blind_setup(factories)
    reviewer = factories.UserFactory(roles=["mentor"])
    _assign(client, bearer(manager), application, reviewer)
    assert _review(client, bearer(reviewer), application).status_code == 201
    assert client.get(f"/api/v1/applications/{application.id}", headers=bearer(reviewer)).json["blind"] is True
    decided = client.post(f"/api/v1/applications/{application.id}/decision", headers=bearer(manager),
                          json={"decision": "accepted", "feedback": "Welcome."})
    assert decided.status_code == 200
    seen = client.get(f"/api/v1/applications/{application.id}", headers=bearer(reviewer)).json
    assert seen["blind"] is False and seen["project"]["title"] == TITLE


def test_a_blind_program_requires_the_answers_its_reviewers_need(client, factories, bearer, login):
    founder, _startup, project = startup_with_founder(mode="open_source", status="submitted")
    _manager, company = _verified_company()
    without_questions = program_with_criteria(company, mode="open_source", blind_review=True)
    url = f"/api/v1/programs/{without_questions.id}/applications"
    missing = client.post(url, headers=bearer(founder), json={"project_id": project.id})
    assert missing.status_code == 400 and "answers.pitch" in missing.json["error"]["fields"]
    applied = client.post(url, headers=bearer(founder),
                          json={"project_id": project.id, "answers": {"pitch": "An open filter standard."}})
    assert applied.status_code == 201
    assert applied.json["answers"][0]["answer"] == "An open filter standard."
    # optional questions become required in a blind program
    with_question = program_with_criteria(company, mode="open_source", blind_review=True)
    question = add_question(with_question, "Why now?")
    refused = client.post(f"/api/v1/programs/{with_question.id}/applications", headers=bearer(founder),
                          json={"project_id": project.id})
    assert refused.status_code == 400 and f"answers.{question.id}" in refused.json["error"]["fields"]
    login(founder)
    # the project already applied there, so the form asks with it on another blind program (issue 12, point 7)
    fresh = program_with_criteria(company, mode="open_source", blind_review=True)
    page = client.get(f"/programs/{fresh.id}").get_data(as_text=True)
    assert 'name="answer-pitch"' in page and "blind-apply-note" in page


def test_blind_answers_are_never_searchable(client, factories):
    _founder, _manager, _company, _program, application = _blind_setup(factories)
    application.answers = {next(iter(application.answers)): "Xylophonic zebrafish composting protocol"}
    db.session.flush()
    commit()  # runs the search outbox inline, as a request would
    response = client.get("/api/v1/search", query_string={"q": "Xylophonic zebrafish"})
    assert response.status_code == 200 and response.json["items"] == []


# ---- conflicts re-checked ---------------------------------------------------------------------

def test_a_reviewer_who_joins_the_applicant_is_withdrawn_and_managers_are_told(client, factories, bearer,
                                                                               mail_outbox):
    founder, manager, company, program, application = _blind_setup(factories)
    zh_manager = factories.UserFactory(roles=["company"], locale="zh_Hans_CN")
    factories.MembershipFactory(organisation=company, user=zh_manager)
    reviewer = factories.UserFactory(roles=["mentor"])
    bystander = factories.UserFactory(roles=["mentor"])
    for user in (reviewer, bystander):
        _assign(client, bearer(manager), application, user)
    mail_outbox.clear()

    # the lead's invitation acceptance makes the membership, then calls the recheck
    factories.MembershipFactory(organisation=application.project.organisation, user=reviewer)
    withdrawn = services.recheck_conflicts_after_membership(reviewer, application.project.organisation_id)
    assert [a.reviewer_id for a in withdrawn] == [reviewer.id]
    assignment = services.assignment_of(application, reviewer)
    assert assignment.withdrawn_at is not None and "member of the applicant" in assignment.conflict_reason
    assert services.assignment_of(application, bystander).withdrawn_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.withdrawn_for_conflict"))
    assert event is not None and event.after["reviewer_id"] == reviewer.id
    commit()  # mails leave after the commit
    recipients = {m["To"]: m for m in mail_outbox}
    assert {manager.email, zh_manager.email, reviewer.email} <= set(recipients)
    assert "Reviewer withdrawn" in recipients[manager.email]["Subject"]
    assert TITLE in recipients[manager.email]["Subject"]  # a manager who reviews nothing sees the title

    response = _review(client, bearer(reviewer), application)
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict_of_interest"
    assert db.session.scalar(select(func.count()).select_from(ApplicationReview)) == 0
    # running it again changes nothing
    assert services.recheck_conflicts_after_membership(reviewer, application.project.organisation_id) == []
    manager_view = client.get(f"/api/v1/applications/{application.id}", headers=bearer(manager)).json
    assert [r["withdrawn"] for r in manager_view["reviewers"]] == [True, False]


def test_a_review_from_a_reviewer_conflicted_at_submit_time_is_refused(client, factories, bearer):
    _founder, manager, _company, _program, application = _blind_setup(factories)
    reviewer = factories.UserFactory(roles=["mentor"])
    _assign(client, bearer(manager), application, reviewer)
    factories.MembershipFactory(organisation=application.project.organisation, user=reviewer)  # no recheck ran
    response = _review(client, bearer(reviewer), application)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict_of_interest"
    assert "member of the applicant organisation" in response.json["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(ApplicationReview)) == 0


def test_a_new_founder_sharing_a_former_employer_withdraws_the_other_reviewer(client, factories, bearer):
    _founder, manager, _company, _program, application = _blind_setup(factories)
    reviewer = factories.UserFactory(roles=["mentor"])
    _assign(client, bearer(manager), application, reviewer)
    _staff, old_employer = company_with_staff()
    FormerEmploymentFactory(user=reviewer, company=old_employer)
    newcomer = factories.UserFactory()
    FormerEmploymentFactory(user=newcomer, company=old_employer)
    factories.MembershipFactory(organisation=application.project.organisation, user=newcomer)
    withdrawn = services.recheck_conflicts_after_membership(newcomer, application.project.organisation_id)
    assert [a.reviewer_id for a in withdrawn] == [reviewer.id]
    assert old_employer.name in withdrawn[0].conflict_reason


def test_a_finished_review_or_an_unrelated_membership_is_left_alone(client, factories, bearer):
    _founder, manager, _company, _program, application = _blind_setup(factories)
    reviewer = factories.UserFactory(roles=["mentor"])
    _assign(client, bearer(manager), application, reviewer)
    _other_founder, elsewhere, _p = startup_with_founder()
    factories.MembershipFactory(organisation=elsewhere, user=reviewer)
    assert services.recheck_conflicts_after_membership(reviewer, elsewhere.id) == []
    assert _review(client, bearer(reviewer), application).status_code == 201
    factories.MembershipFactory(organisation=application.project.organisation, user=reviewer)
    assert services.recheck_conflicts_after_membership(reviewer, application.project.organisation_id) == []
    assert db.session.scalar(select(func.count()).select_from(ReviewAssignment)
                             .where(ReviewAssignment.withdrawn_at.is_not(None))) == 0


def test_reproducer_a_founder_cannot_make_a_reviewer_a_member_without_consent(client, factories, bearer):
    """Issue 9: adding an assigned reviewer to the applicant organisation used to lift the blind (the review
    still went in) or let a founder block any reviewer. Now it is only an invitation; accepting it withdraws
    the reviewer, whose review then answers 409."""
    founder, manager, _company, _program, application = _blind_setup(factories)
    reviewer = factories.UserFactory(roles=["mentor"])
    assert _assign(client, bearer(manager), application, reviewer).status_code == 201
    invited = client.post(f"/api/v1/organisations/{application.project.organisation_id}/members",
                          headers=bearer(founder), json={"email": reviewer.email, "role": "member"})
    assert invited.status_code == 201 and invited.json["status"] == "invited"
    assert services.assignment_of(application, reviewer).withdrawn_at is None  # nothing changed yet
    accepted = client.post(f"/api/v1/invitations/{invited.json['id']}/accept", headers=bearer(reviewer))
    assert accepted.status_code == 200
    assert services.assignment_of(application, reviewer).withdrawn_at is not None
    response = _review(client, bearer(reviewer), application)
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict_of_interest"


def test_the_blind_responses_match_their_models(client, factories, bearer):
    """Blind answers leave out `project_id` and `project` (and give no `project_id` in lists): the response
    models say so, and every variant validates."""
    from incubation.schemas.programs import ApplicationOut, RankingOut, ReviewAssignmentOut

    def assert_out(model, body: dict) -> None:
        model.model_validate(body)
        assert set(body) <= set(model.model_fields), set(body) - set(model.model_fields)
        assert {name for name, f in model.model_fields.items() if f.is_required()} <= set(body)

    founder, manager, company, program, application = _blind_setup(factories)
    staff_reviewer = factories.UserFactory(roles=["company"])
    factories.MembershipFactory(organisation=company, user=staff_reviewer)
    assert _assign(client, bearer(manager), application, staff_reviewer).status_code == 201
    blind = client.get(f"/api/v1/applications/{application.id}", headers=bearer(staff_reviewer)).json
    assert blind["blind"] is True and "project" not in blind and "project_id" not in blind
    assert_out(ApplicationOut, blind)
    for item in client.get(f"/api/v1/programs/{program.id}/applications", headers=bearer(staff_reviewer)).json["items"]:
        assert_out(ApplicationOut, item)
    ranked = client.get(f"/api/v1/programs/{program.id}/ranking", headers=bearer(staff_reviewer)).json["items"]
    assert ranked[0]["project_id"] is None
    assert_out(RankingOut, ranked[0])
    listed = client.get("/api/v1/reviews", headers=bearer(staff_reviewer)).json["items"]
    assert listed[0]["project_id"] is None
    assert_out(ReviewAssignmentOut, listed[0])
    own = client.get(f"/api/v1/applications/{application.id}", headers=bearer(founder)).json
    assert own["blind"] is False and own["project_id"] == application.project_id
    assert_out(ApplicationOut, own)
