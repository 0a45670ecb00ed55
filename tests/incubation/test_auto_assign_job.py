"""Automatic assignment of a large program runs as a background job; the result is shown when done."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incubation import services
from incubation.models import ReviewAssignment
from incubation.schemas.programs import AutoAssignment
from portal import jobs
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)


@pytest.fixture
def small_inline_limit(app):
    app.config["AUTO_ASSIGN_INLINE_MAX"] = 2
    yield
    app.config.pop("AUTO_ASSIGN_INLINE_MAX")


def _large_program(factories, applications=4):
    r1, r2 = (factories.UserFactory(roles=["company"]) for _ in range(2))
    manager, company = company_with_staff(r1, r2)
    program = program_with_criteria(company, mode="open_source")
    for _ in range(applications):
        ApplicationFactory(program=program, project=startup_with_founder(mode="open_source", status="submitted")[2])
    return manager, program, [r1, r2]


def _assignments() -> int:
    return db.session.scalar(select(func.count()).select_from(ReviewAssignment))


def test_a_large_program_is_assigned_in_the_background_and_the_result_is_reported(
        client, factories, bearer, mail_outbox, small_inline_limit):
    manager, program, pool = _large_program(factories)
    headers = bearer(manager)
    assert client.get(f"/api/v1/programs/{program.id}/auto-assign", headers=headers).json["status"] == "none"
    response = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=headers,
                           json={"reviewers_per_application": 2, "user_ids": [u.id for u in pool]})
    assert response.status_code == 202, response.json
    assert response.json["status"] == "running"
    # the job ran after the request committed (inline without Redis)
    status = client.get(f"/api/v1/programs/{program.id}/auto-assign", headers=headers).json
    assert status["status"] == "done" and status["created"] == 8 and status["short"] == 0
    assert _assignments() == 8
    (mail,) = [m for m in mail_outbox if m["To"] == manager.email]
    assert "8 new assignments" in mail.get_content()
    assert client.get(f"/api/v1/programs/{program.id}/auto-assign",
                      headers=bearer(factories.UserFactory())).status_code == 403


def test_the_page_shows_the_result(client, factories, login, small_inline_limit):
    manager, program, _pool = _large_program(factories)
    login(manager)
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/programs/{program.id}/auto-assign", data={"reviewers_per_application": 1})
    assert response.status_code == 302
    page = client.get(f"/programs/{program.id}/applications").get_data(as_text=True)
    assert "Automatic assignment finished" in page and "4 new assignments." in page


def test_a_running_assignment_is_not_started_twice(client, factories, bearer, small_inline_limit):
    manager, program, pool = _large_program(factories)
    # queued but not yet run: the job only starts after the commit
    services.request_auto_assign(program, AutoAssignment(reviewers_per_application=1,
                                                       user_ids=[u.id for u in pool]), manager)
    jobs.discard_pending()
    assert services.auto_assign_status(program).state == "running"
    refused = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager),
                          json={"reviewers_per_application": 1})
    assert refused.status_code == 409 and "already running" in refused.json["error"]["message"]


def test_a_failed_job_is_reported(client, factories, bearer, small_inline_limit, monkeypatch):
    manager, program, pool = _large_program(factories)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "auto_assign", broken)
    response = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager),
                           json={"reviewers_per_application": 1})
    assert response.status_code == 202
    status = client.get(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager)).json
    assert status["status"] == "failed" and status["error"] == "The automatic assignment failed."
    assert _assignments() == 0


def test_small_programs_are_still_assigned_at_once(client, factories, bearer):
    manager, program, pool = _large_program(factories, applications=3)
    response = client.post(f"/api/v1/programs/{program.id}/auto-assign", headers=bearer(manager),
                           json={"reviewers_per_application": 1, "user_ids": [u.id for u in pool]})
    assert response.status_code == 201 and len(response.json["items"]) == 3
