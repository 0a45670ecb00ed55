"""Program managers change a program's terms (title, description, window, capacity, criteria, questions)
until the first review is submitted; afterwards a 409 says why."""

from __future__ import annotations

from sqlalchemy import select

from incubation.models import ApplicationReview, Program, ProgramCriterion, ProgramQuestion, ReviewAssignment
from portal.audit import AuditEvent
from portal.extensions import db
from tests.factories import UserFactory
from tests.incubation.factories import (
    ApplicationFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _body(**changes):
    body = {"title": "Autumn cohort", "description": "Hardware only", "opens_at": "2027-09-01T09:00:00+08:00",
            "closes_at": "2027-10-01T18:00:00+08:00", "capacity": 5,
            "criteria": [{"name": "Market", "weight": 3}, {"name": "Technology", "weight": 2}],
            "questions": [{"text": "What is your BOM cost?", "required": True}, {"text": "Team size?"}]}
    body.update(changes)
    return body


def _program_with_question():
    staff, company = company_with_staff()
    program = program_with_criteria(company)
    program.questions.append(ProgramQuestion(text="Why now?", required=False))
    db.session.flush()
    return staff, program


def test_a_manager_edits_terms_criteria_and_questions(client, factories, bearer):
    staff, program = _program_with_question()
    question_id = program.questions[0].id
    market_id = next(c.id for c in program.criteria if c.name == "Market")
    assert client.put(f"/api/v1/programs/{program.id}", headers=bearer(factories.UserFactory()),
                      json=_body()).status_code == 403
    response = client.put(f"/api/v1/programs/{program.id}", headers=bearer(staff), json=_body())
    assert response.status_code == 200, response.json
    body = response.json
    assert body["title"] == "Autumn cohort" and body["capacity"] == 5
    assert body["opens_at"] == "2027-09-01T01:00:00Z" and body["closes_at"] == "2027-10-01T10:00:00Z"
    assert body["criteria"] == [{"name": "Market", "weight": 3}, {"name": "Technology", "weight": 2}]
    # the first question keeps its id (answers given to it stay with it); the second is new
    assert [(q["id"] == question_id, q["text"], q["required"]) for q in body["questions"]] == [
        (True, "What is your BOM cost?", True), (False, "Team size?", False)]
    assert db.session.scalar(select(ProgramCriterion.id).where(ProgramCriterion.name == "Market",
                                                               ProgramCriterion.program_id == program.id)) == market_id
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "program.updated"))


def test_omitting_criteria_and_questions_keeps_them(client, bearer):
    staff, program = _program_with_question()
    body = _body()
    del body["criteria"], body["questions"]
    response = client.put(f"/api/v1/programs/{program.id}", headers=bearer(staff), json=body)
    assert response.status_code == 200, response.json
    assert [c["name"] for c in response.json["criteria"]] == ["Market", "Team"]
    assert [q["text"] for q in response.json["questions"]] == ["Why now?"]


def test_bad_terms_are_a_400_naming_the_field_and_change_nothing(client, bearer):
    staff, program = _program_with_question()
    headers = bearer(staff)
    title = program.title
    cases = [({"closes_at": "2027-08-01T00:00:00+08:00"}, "closes_at"), ({"capacity": 0}, "capacity"),
             ({"title": ""}, "title"), ({"criteria": [{"name": "A", "weight": 1}, {"name": "a", "weight": 2}]},
                                        "criteria"),
             ({"opens_at": "soon"}, "opens_at")]
    for change, field in cases:
        response = client.put(f"/api/v1/programs/{program.id}", headers=headers, json=_body(**change))
        assert response.status_code == 400, (change, response.json)
        assert field in response.json["error"]["fields"], (change, response.json)
    db.session.expire_all()
    assert db.session.get(Program, program.id).title == title


def test_capacity_cannot_drop_below_the_accepted_startups(client, bearer):
    staff, program = _program_with_question()
    for _ in range(2):
        ApplicationFactory(program=program, project=startup_with_founder(status="accepted")[2], status="accepted")
    response = client.put(f"/api/v1/programs/{program.id}", headers=bearer(staff), json=_body(capacity=1))
    assert response.status_code == 400 and "2 startups are already accepted" in \
        response.json["error"]["fields"]["capacity"][0]
    assert client.put(f"/api/v1/programs/{program.id}", headers=bearer(staff),
                      json=_body(capacity=2)).status_code == 200


def _submit_a_review(program):
    application = ApplicationFactory(program=program, project=startup_with_founder(status="screening")[2],
                                     status="under_review")
    reviewer = UserFactory(roles=["company"])
    assignment = ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id)
    db.session.add(assignment)
    db.session.flush()
    db.session.add(ApplicationReview(assignment_id=assignment.id, scores={"Market": 4, "Team": 3},
                                     weighted_score=3.7, recommendation="yes"))
    db.session.flush()


def test_after_the_first_review_the_terms_are_frozen(client, bearer, login):
    staff, program = _program_with_question()
    _submit_a_review(program)
    response = client.put(f"/api/v1/programs/{program.id}", headers=bearer(staff), json=_body())
    assert response.status_code == 409
    assert "1 review was already submitted" in response.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Program, program.id).title != "Autumn cohort"
    login(staff)
    page = client.get(f"/programs/{program.id}/edit")
    assert page.status_code == 200 and "1 review was already submitted" in page.get_data(as_text=True)
    refused = client.post(f"/programs/{program.id}/edit", data={
        "title": "Autumn cohort", "opens_at": "2027-09-01T09:00", "closes_at": "2027-10-01T18:00", "capacity": 5})
    assert refused.status_code == 409


def test_editing_in_the_page_keeps_the_window_in_the_managers_zone(client, login):
    staff, program = _program_with_question()
    staff.timezone = "Asia/Shanghai"
    login(staff)
    client.post("/language", data={"locale": "en"})
    assert "Edit program" in client.get(f"/programs/{program.id}").get_data(as_text=True)
    form = client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
    assert "Market: 2" in form and "Team: 1" in form and "Why now?" in form
    response = client.post(f"/programs/{program.id}/edit", data={
        "title": "Autumn cohort", "description": "", "opens_at": "2027-09-01T09:00", "closes_at": "2027-10-01T18:00",
        "capacity": 4, "criteria_text": "Market: 2\nTeam: 1\nDesign: 1", "questions_text": "Why now? *"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    program = db.session.get(Program, program.id)
    assert program.title == "Autumn cohort" and program.capacity == 4
    assert program.opens_at.isoformat() == "2027-09-01T01:00:00+00:00"
    assert [(c.name, c.weight) for c in program.criteria] == [("Market", 2), ("Team", 1), ("Design", 1)]
    assert program.questions[0].required is True
    # the form shows the stored window back in the manager's zone, so saving it unchanged keeps it
    assert 'value="2027-09-01T09:00"' in client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
