"""The project state machine: legal moves, illegal ones (409), who may move, audit, timeline, rejection mail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from incubation import services
from incubation.models import OPEN_STATUSES, PROJECT_TRANSITIONS, ProjectEvent, ProjectStatus
from portal.audit import AuditEvent
from portal.extensions import db
from tests.incubation.factories import (
    ApplicationFactory,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)

ALL = ProjectStatus.values()


def _screened(status: str = ProjectStatus.SUBMITTED):
    """A project of a startup that applied to a program of a company, so the company's staff screen it."""
    founder, startup, project = startup_with_founder(status=status)
    staff, company = company_with_staff()
    program = program_with_criteria(company, mode=project.mode)
    ApplicationFactory(program=program, project=project)
    return founder, staff, project


def _move(client, headers, project, status, note=""):
    return client.post(f"/api/v1/projects/{project.id}/transitions", headers=headers,
                       json={"status": status, "note": note})


def test_the_state_machine_is_the_documented_graph():
    assert PROJECT_TRANSITIONS["draft"] == ("submitted", "withdrawn")
    assert set(PROJECT_TRANSITIONS["screening"]) == {"needs_info", "accepted", "rejected", "withdrawn"}
    assert PROJECT_TRANSITIONS["needs_info"] == ("submitted", "withdrawn")
    assert set(OPEN_STATUSES) == {"draft", "submitted", "screening", "needs_info", "accepted", "incubating"}
    for final in ("rejected", "graduated", "withdrawn"):
        assert PROJECT_TRANSITIONS[final] == ()


def test_the_whole_happy_path_with_timeline_and_audit(client, factories, bearer):
    founder, staff, project = _screened(ProjectStatus.DRAFT)
    founder_h, staff_h = bearer(founder), bearer(staff)
    steps = [(founder_h, "submitted", ""), (staff_h, "screening", ""),
             (staff_h, "needs_info", "Please add your BOM cost."), (founder_h, "submitted", "BOM added"),
             (staff_h, "screening", ""), (staff_h, "accepted", "Welcome"), (staff_h, "incubating", ""),
             (staff_h, "graduated", "Raised a seed round")]
    for headers, status, note in steps:
        response = _move(client, headers, project, status, note)
        assert response.status_code == 200, (status, response.json)
        assert response.json["status"] == status
    timeline = client.get(f"/api/v1/projects/{project.id}/timeline").json["items"]
    assert [e["to"] for e in timeline if e["kind"] == "status"] == [s for _h, s, _n in steps]
    assert timeline[2]["note"] == "Please add your BOM cost." and timeline[2]["from"] == "screening"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Project",
                                                                 AuditEvent.object_id == str(project.id))
                                 .order_by(AuditEvent.id)).all()
    assert actions == [f"project.{s}" for _h, s, _n in steps]
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Please add your BOM cost." in page and "Raised a seed round" in page


@pytest.mark.parametrize("start", ALL)
def test_every_illegal_transition_is_a_409_and_changes_nothing(client, factories, start):
    _founder, _staff, project = _screened(start)
    admin = factories.UserFactory(roles=["admin"])
    from portal.auth.services import create_api_token

    _token, raw = create_api_token(admin, "t")
    headers = {"Authorization": f"Bearer {raw}"}
    for target in ALL:
        if target in PROJECT_TRANSITIONS[start]:
            continue
        response = _move(client, headers, project, target, "because")
        assert response.status_code == 409, (start, target)
        assert response.json["error"]["code"] == "conflict"
        db.session.refresh(project)
        assert project.status == start
    assert db.session.scalar(select(ProjectEvent.id).where(ProjectEvent.project_id == project.id)) is None


@pytest.mark.parametrize("start", [s for s in OPEN_STATUSES])
def test_withdrawn_from_any_open_state_by_the_founders(client, bearer, start):
    founder, _staff, project = _screened(start)
    response = _move(client, bearer(founder), project, "withdrawn")
    assert response.status_code == 200
    assert _move(client, bearer(founder), project, "submitted").status_code == 409


def test_who_may_move_what(client, factories, bearer):
    founder, staff, project = _screened(ProjectStatus.SUBMITTED)
    stranger_staff, _other = company_with_staff()
    # founders cannot screen or accept their own project
    assert _move(client, bearer(founder), project, "screening").status_code == 403
    # staff of a company whose program the project did not apply to cannot either
    assert _move(client, bearer(stranger_staff), project, "screening").status_code == 403
    # the screening company cannot withdraw the founders' project
    assert _move(client, bearer(staff), project, "withdrawn").status_code == 403
    assert _move(client, bearer(staff), project, "screening").status_code == 200
    assert client.post(f"/api/v1/projects/{project.id}/transitions", json={"status": "screening"}).status_code == 401


def test_unknown_status_is_a_400(client, bearer):
    founder, _staff, project = _screened()
    response = _move(client, bearer(founder), project, "flying")
    assert response.status_code == 400 and "status" in response.json["error"]["fields"]


def test_rejection_needs_a_reason_and_mails_it_to_every_founder(client, factories, bearer, mail_outbox):
    founder, staff, project = _screened(ProjectStatus.SCREENING)
    cofounder = factories.UserFactory()
    factories.MembershipFactory(organisation=project.organisation, user=cofounder)
    missing = _move(client, bearer(staff), project, "rejected")
    assert missing.status_code == 400 and "note" in missing.json["error"]["fields"]
    assert db.session.get(type(project), project.id).status == "screening"
    mail_outbox.clear()
    response = _move(client, bearer(staff), project, "rejected", "The market is too small for now.")
    assert response.status_code == 200
    to = sorted(m["To"] for m in mail_outbox)
    assert to == sorted([founder.email, cofounder.email])
    assert all("The market is too small for now." in m.get_content() for m in mail_outbox)


def test_html_transition_buttons(client, login):
    founder, staff, project = _screened(ProjectStatus.SUBMITTED)
    login(staff)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Change status" in page
    client.post(f"/projects/{project.id}/transition", data={"status": "screening", "note": ""})
    assert db.session.get(type(project), project.id).status == "screening"
    # an illegal move through the page is refused with a message, not a 500
    response = client.post(f"/projects/{project.id}/transition", data={"status": "graduated"},
                           follow_redirects=True)
    assert response.status_code == 200 and "cannot become Graduated" in response.get_data(as_text=True)  # its label, not the raw value
    client.post("/auth/logout")
    login(founder)
    client.post(f"/projects/{project.id}/transition", data={"status": "withdrawn"})
    assert db.session.get(type(project), project.id).status == "withdrawn"


def test_service_refuses_off_graph_moves(factories, db_session):
    _founder, _startup, project = startup_with_founder(status=ProjectStatus.GRADUATED)
    from portal.errors import Conflict

    with pytest.raises(Conflict):
        services.transition_project(project, ProjectStatus.INCUBATING)
