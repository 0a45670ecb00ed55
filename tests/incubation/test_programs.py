"""Programs (cohorts) per incubation mode: creation, window, gates, questions, capacity, credits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from incubation.models import Application, Program, ResourceCredit
from portal.db import utcnow
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    FormerEmploymentFactory,
    ProjectFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _program_body(company, **changes):
    body = {"organisation_id": company.id, "title": "Spring cohort", "mode": "open_source",
            "opens_at": "2027-03-01T09:00:00+08:00", "closes_at": "2027-04-01T18:00:00+08:00", "capacity": 10,
            "criteria": [{"name": "Market", "weight": 40}, {"name": "Team", "weight": 60}],
            "questions": [{"text": "Why now?", "required": True}], "blind_review": True,
            "credit_amount": 500000, "credit_currency": "CNY"}
    body.update(changes)
    return body


def test_company_staff_create_a_program_through_the_api(client, bearer):
    staff, company = company_with_staff()
    response = client.post("/api/v1/programs", headers=bearer(staff), json=_program_body(company))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["opens_at"] == "2027-03-01T01:00:00Z" and body["closes_at"] == "2027-04-01T10:00:00Z"
    assert body["criteria"] == [{"name": "Market", "weight": 40}, {"name": "Team", "weight": 60}]
    assert body["questions"][0]["text"] == "Why now?" and body["questions"][0]["required"] is True
    assert body["blind_review"] is True and body["credits"] == {"amount": 500000, "currency": "CNY"}


def test_program_input_is_checked_and_nothing_written(client, factories, bearer):
    staff, company = company_with_staff()
    headers = bearer(staff)
    before = _count(Program)
    cases = [
        (_program_body(company, closes_at="2027-02-01T00:00:00Z"), "closes_at"),
        (_program_body(company, capacity=0), "capacity"),
        (_program_body(company, mode="sideways"), "mode"),
        (_program_body(company, criteria=[{"name": "A", "weight": 1}, {"name": "a", "weight": 2}]), "criteria"),
        (_program_body(company, criteria=[{"name": "A", "weight": 0}]), "criteria.0.weight"),
        (_program_body(company, opens_at="next tuesday"), "opens_at"),
        (_program_body(company, mode="internal"), "credit_amount"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/programs", headers=headers, json=body)
        assert response.status_code == 400, (field, response.json)
        assert field in response.json["error"]["fields"], (field, response.json)
    assert _count(Program) == before
    outsider = factories.UserFactory(roles=["company"])
    assert client.post("/api/v1/programs", headers=bearer(outsider), json=_program_body(company)).status_code == 403
    founder, startup, _p = startup_with_founder()
    not_company = client.post("/api/v1/programs", headers=bearer(founder), json=_program_body(startup))
    assert not_company.status_code == 400 and "organisation_id" in not_company.json["error"]["fields"]


def _apply(client, headers, program, project, answers=None):
    body = {"project_id": project.id}
    if answers is not None:
        body["answers"] = answers
    return client.post(f"/api/v1/programs/{program.id}/applications", headers=headers, json=body)


def test_apply_answers_questions_and_goes_on_the_timeline(client, bearer):
    founder, _startup, project = startup_with_founder(mode="open_source", status="submitted")
    _staff, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source")
    from incubation.models import ProgramQuestion

    required = ProgramQuestion(program_id=program.id, text="Why now?", required=True)
    db.session.add(required)
    db.session.flush()
    headers = bearer(founder)
    missing = _apply(client, headers, program, project)
    assert missing.status_code == 400 and f"answers.{required.id}" in missing.json["error"]["fields"]
    unknown = _apply(client, headers, program, project, {"999999": "x"})
    assert unknown.status_code == 400 and "answers" in unknown.json["error"]["fields"]
    assert _count(Application) == 0
    response = _apply(client, headers, program, project, {str(required.id): "Because the rules changed."})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "submitted"
    assert response.json["answers"] == [{"question": "Why now?", "answer": "Because the rules changed."}]
    again = _apply(client, headers, program, project, {str(required.id): "again"})
    assert again.status_code == 409
    timeline = client.get(f"/api/v1/projects/{project.id}/timeline").json["items"]
    assert timeline[-1]["kind"] == "applied" and program.title in timeline[-1]["note"]


def test_window_status_and_ownership(client, factories, bearer):
    founder, startup, project = startup_with_founder(mode="open_source", status="submitted")
    _staff, company = company_with_staff()
    closed = program_with_criteria(company, mode="open_source", opens_at=utcnow() - timedelta(days=30),
                                   closes_at=utcnow() - timedelta(days=1))
    later = program_with_criteria(company, mode="open_source", opens_at=utcnow() + timedelta(days=1),
                                  closes_at=utcnow() + timedelta(days=30))
    open_ = program_with_criteria(company, mode="open_source")
    headers = bearer(founder)
    assert _apply(client, headers, closed, project).status_code == 409
    assert _apply(client, headers, later, project).status_code == 409
    draft = ProjectFactory(organisation=startup, mode="open_source", status="draft")
    assert _apply(client, headers, open_, draft).status_code == 409
    other = bearer(factories.UserFactory())
    assert _apply(client, other, open_, project).status_code == 403
    assert _count(Application) == 0


def test_mode_gates(client, factories, bearer):
    staff, company = company_with_staff()
    # the project's mode must be the program's
    founder, _s, crowd = startup_with_founder(mode="crowdfunding", status="submitted")
    open_source = program_with_criteria(company, mode="open_source")
    mismatch = _apply(client, bearer(founder), open_source, crowd)
    assert mismatch.status_code == 400 and "project_id" in mismatch.json["error"]["fields"]

    # spin-off: a founder needs a VERIFIED former-employee record of the company
    spin_founder, _s2, spin = startup_with_founder(mode="spin_off", status="submitted")
    spin_off = program_with_criteria(company, mode="spin_off")
    assert _apply(client, bearer(spin_founder), spin_off, spin).status_code == 400
    record = FormerEmploymentFactory(user=spin_founder, company=company, verified_at=None)
    assert _apply(client, bearer(spin_founder), spin_off, spin).status_code == 400
    other_company_staff, other_company = company_with_staff()
    FormerEmploymentFactory(user=spin_founder, company=other_company)  # verified, but another company
    assert _apply(client, bearer(spin_founder), spin_off, spin).status_code == 400
    verified = client.post(f"/api/v1/former-employments/{record.id}/verify", headers=bearer(staff))
    assert verified.status_code == 200 and verified.json["verified"] is True
    assert _apply(client, bearer(spin_founder), spin_off, spin).status_code == 201

    # internal: a founder must be staff of the company
    int_founder, _s3, internal_project = startup_with_founder(mode="internal", status="submitted")
    internal = program_with_criteria(company, mode="internal")
    assert _apply(client, bearer(int_founder), internal, internal_project).status_code == 400
    factories.MembershipFactory(organisation=company, user=int_founder)
    assert _apply(client, bearer(int_founder), internal, internal_project).status_code == 201


def test_former_employment_records_are_verified_only_by_that_company(client, factories, bearer):
    founder = factories.UserFactory()
    staff, company = company_with_staff()
    other_staff, _other = company_with_staff()
    created = client.post("/api/v1/former-employments", headers=bearer(founder),
                          json={"company_id": company.id, "position": "HVAC engineer", "years": "2016-2023"})
    assert created.status_code == 201 and created.json["verified"] is False
    duplicate = client.post("/api/v1/former-employments", headers=bearer(founder), json={"company_id": company.id})
    assert duplicate.status_code == 409
    record_id = created.json["id"]
    assert client.post(f"/api/v1/former-employments/{record_id}/verify", headers=bearer(founder)).status_code == 403
    assert client.post(f"/api/v1/former-employments/{record_id}/verify",
                       headers=bearer(other_staff)).status_code == 403
    assert client.post(f"/api/v1/former-employments/{record_id}/verify", headers=bearer(staff)).status_code == 200
    assert client.post(f"/api/v1/former-employments/{record_id}/verify", headers=bearer(staff)).status_code == 409


def test_capacity_and_open_source_credits(client, bearer, mail_outbox):
    staff, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source", capacity=1, credit_amount=300000)
    first_founder, first_startup, first = startup_with_founder(mode="open_source", status="screening")
    _f2, _s2, second = startup_with_founder(mode="open_source", status="screening")
    a1 = ApplicationFactory(program=program, project=first)
    a2 = ApplicationFactory(program=program, project=second)
    headers = bearer(staff)
    accepted = client.post(f"/api/v1/applications/{a1.id}/decision", headers=headers,
                           json={"decision": "accepted", "feedback": "Great fit."})
    assert accepted.status_code == 200, accepted.json
    assert db.session.get(type(first), first.id).status == "accepted"
    credit = db.session.scalar(select(ResourceCredit).where(ResourceCredit.organisation_id == first_startup.id))
    assert credit.amount == 300000 and credit.currency == "CNY"
    full = client.post(f"/api/v1/applications/{a2.id}/decision", headers=headers,
                       json={"decision": "accepted", "feedback": "Also great."})
    assert full.status_code == 409
    assert db.session.get(Application, a2.id).status == "submitted"
    assert any(m["To"] == first_founder.email and "Great fit." in m.get_content() for m in mail_outbox)


def test_program_pages(client, factories, login):
    staff, company = company_with_staff()
    founder, _startup, project = startup_with_founder(mode="open_source", status="submitted")
    program = program_with_criteria(company, mode="open_source")
    login(founder)
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "Send application" in page and project.title in page
    response = client.post(f"/programs/{program.id}/apply", data={"project_id": project.id})
    assert response.status_code == 302
    assert db.session.scalar(select(Application).where(Application.project_id == project.id)) is not None
    client.post("/auth/logout")
    login(staff)
    created = client.post("/programs/new", data={
        "organisation_id": company.id, "title": "Autumn cohort", "mode": "internal",
        "opens_at": "2027-09-01T09:00", "closes_at": "2027-10-01T09:00", "capacity": "8",
        "criteria_text": "Market: 3\nTeam: 1", "questions_text": "What do you need? *\nAnything else?"})
    assert created.status_code == 302, created.get_data(as_text=True)
    program = db.session.scalar(select(Program).where(Program.title == "Autumn cohort"))
    assert [(c.name, c.weight) for c in program.criteria] == [("Market", 3), ("Team", 1)]
    assert [(q.text, q.required) for q in program.questions] == [("What do you need?", True), ("Anything else?", False)]
    # 09:00 in the staff member's zone (Asia/Shanghai by default) is 01:00 UTC
    assert program.opens_at.hour == 1
    bad = client.post("/programs/new", data={
        "organisation_id": company.id, "title": "Broken", "mode": "internal", "opens_at": "2027-09-01T09:00",
        "closes_at": "2027-10-01T09:00", "capacity": "8", "criteria_text": "Market three"})
    assert bad.status_code == 200 and "name: weight" in bad.get_data(as_text=True)


# ---- the typed input layer and the response models ------------------------------------------------------

def assert_out(model, body: dict) -> None:
    """`body` is exactly what `model` describes: valid, every key a field, every required field present."""
    model.model_validate(body)
    fields = model.model_fields
    assert set(body) <= set(fields), set(body) - set(fields)
    assert {name for name, f in fields.items() if f.is_required()} <= set(body)


def test_program_bodies_are_typed_and_refusals_name_the_field(client, bearer):
    staff, company = company_with_staff()
    headers = bearer(staff)
    cases = [
        ({"title": 5}, "title"), ({"title": ["Spring"]}, "title"), ({"title": "two\nlines"}, "title"),
        ({"capacity": "10"}, "capacity"), ({"capacity": 2**31}, "capacity"), ({"capacity": True}, "capacity"),
        ({"blind_review": "yes"}, "blind_review"), ({"published": 1}, "published"),
        ({"criteria": {"name": "Market"}}, "criteria"), ({"criteria": [{"name": "Market", "weight": "40"}]},
                                                         "criteria.0.weight"),
        ({"questions": [{"text": "Why?", "required": "yes"}]}, "questions.0.required"),
        ({"credit_amount": 2**31}, "credit_amount"), ({"credit_currency": "XXQ"}, "credit_currency"),
        ({"organisation_id": "1"}, "organisation_id"), ({"opens_at": 1700000000}, "opens_at"),
        ({"closes_at": "9999-12-31T23:00:00-05:00"}, "closes_at"), ({"opens_at": "0226-03-01T14:28:27-02:59"},
                                                                     "opens_at"),
    ]
    before = _count(Program)
    for change, field in cases:
        response = client.post("/api/v1/programs", headers=headers, json=_program_body(company, **change))
        assert response.status_code == 400, (change, response.json)
        assert field in response.json["error"]["fields"], (change, response.json)
    assert _count(Program) == before
    program = program_with_criteria(company, mode="open_source")
    for body in ({}, {"published": "false"}, {"published": None}):
        response = client.post(f"/api/v1/programs/{program.id}/publication", headers=headers, json=body)
        assert response.status_code == 400 and "published" in response.json["error"]["fields"], body
    for query in ({"organisation_id": "abc"}, {"organisation_id": "0"}, {"open": "maybe"}):
        response = client.get("/api/v1/programs", query_string=query)
        assert response.status_code == 400 and list(response.json["error"]["fields"]) == list(query), query


def test_application_bodies_are_typed(client, bearer):
    founder, _startup, project = startup_with_founder(mode="open_source", status="submitted")
    _staff, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source")
    headers = bearer(founder)
    for answers, field in ((["Because"], "answers"), ("Because", "answers"), ({"pitch": 5}, "answers.pitch"),
                           ({"pitch": "x" * 5001}, "answers.pitch")):
        response = _apply(client, headers, program, project, answers)
        assert response.status_code == 400 and field in response.json["error"]["fields"], (answers, response.json)
    not_an_id = client.post(f"/api/v1/programs/{program.id}/applications", headers=headers,
                            json={"project_id": str(project.id)})
    assert not_an_id.status_code == 400 and "project_id" in not_an_id.json["error"]["fields"]
    assert _count(Application) == 0


def test_program_responses_match_their_models(client, bearer, factories):
    from incubation.schemas.programs import ApplicationOut, ProgramOut

    staff, company = company_with_staff()
    company.verified_at = utcnow()
    headers = bearer(staff)
    created = client.post("/api/v1/programs", headers=headers, json=_program_body(company))
    assert created.status_code == 201, created.json
    assert_out(ProgramOut, created.json)
    without_credits = client.post("/api/v1/programs", headers=headers, json=_program_body(
        company, mode="internal", credit_amount=None, published=False))
    assert without_credits.status_code == 201 and without_credits.json["credits"] is None
    assert_out(ProgramOut, without_credits.json)
    program_id = created.json["id"]
    assert_out(ProgramOut, client.get(f"/api/v1/programs/{program_id}").json)
    for item in client.get("/api/v1/programs", headers=headers).json["items"]:
        assert_out(ProgramOut, item)
    withdrawn = client.post(f"/api/v1/programs/{program_id}/publication", headers=headers, json={"published": False})
    assert withdrawn.status_code == 200 and withdrawn.json["published"] is False
    assert_out(ProgramOut, withdrawn.json)
    edited = client.put(f"/api/v1/programs/{program_id}", headers=headers, json={
        "title": "Renamed", "opens_at": "2027-03-01T09:00:00Z", "closes_at": "2027-04-01T09:00:00Z", "capacity": 3})
    assert edited.status_code == 200 and edited.json["title"] == "Renamed"
    assert_out(ProgramOut, edited.json)

    founder, _startup, project = startup_with_founder(mode="open_source", status="submitted")
    program = program_with_criteria(company, mode="open_source")
    applied = _apply(client, bearer(founder), program, project)
    assert applied.status_code == 201
    assert_out(ApplicationOut, applied.json)
    assert "reviewers" not in applied.json  # the founder does not manage the program
    managed = client.get(f"/api/v1/applications/{applied.json['id']}", headers=headers).json
    assert_out(ApplicationOut, managed)
    assert managed["reviewers"] == [] and managed["project"]["id"] == project.id
    for item in client.get(f"/api/v1/programs/{program.id}/applications", headers=headers).json["items"]:
        assert_out(ApplicationOut, item)
