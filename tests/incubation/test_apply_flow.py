"""The apply form does not trap (issue 12, point 7): it offers only projects the program accepts and says
why the others cannot apply, a refusal keeps the typed answers and reads as a sentence, success leads
to the new application. In English and in zh-CN, never a raw mode, status or id."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from incubation.models import Application
from portal.extensions import db
from tests.incubation.factories import (
    ProjectFactory,
    add_question,
    company_with_staff,
    program_with_criteria,
    startup_with_founder,
)

RAW = ("spin_off", "open_source", "crowdfunding", "needs_info", "submitted;", "; ")


def _world(locale: str):
    founder, startup, good = startup_with_founder(mode="open_source", status="submitted", title="Good fit")
    founder.locale = locale
    wrong_mode = ProjectFactory(organisation=startup, mode="spin_off", status="submitted", title="Other mode")
    draft = ProjectFactory(organisation=startup, mode="open_source", status="draft", title="Still a draft")
    _staff, company = company_with_staff()
    program = program_with_criteria(company, mode="open_source")
    question = add_question(program, "Why now?", required=True)
    optional = add_question(program, "Anything else?", required=False)
    db.session.flush()
    return founder, program, question, optional, good, wrong_mode, draft


def _options(page: str) -> list[str]:
    select_html = re.search(r'<select[^>]*name="project_id".*?</select>', page, re.S)
    return re.findall(r'<option[^>]*>([^<]*)</option>', select_html.group(0)) if select_html else []


def _refused(page: str) -> str:
    found = re.search(r'<ul[^>]*id="apply-refused".*?</ul>', page, re.S)
    return found.group(0) if found else ""


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_form_offers_only_eligible_projects_and_says_why_not(client, login, locale):
    founder, program, _q, optional, good, wrong_mode, draft = _world(locale)
    login(founder)
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert _options(page) == ["Good fit"]
    refused = _refused(page)
    assert "Other mode" in refused and "Still a draft" in refused
    assert not any(raw in refused for raw in RAW), refused
    assert str(wrong_mode.id) + ";" not in page
    # The optional question looks optional: no required attribute, a visible "(optional)".
    optional_area = re.search(rf'<textarea[^>]*id="answer-{optional.id}"[^>]*>', page).group(0)
    assert "required" not in optional_area
    if locale == "en":
        assert "(optional)" in page
        assert "Submit the project for screening before applying." in refused
        assert "Open source" in refused  # the mode through its label, not `spin_off`


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_refusal_keeps_the_answers_and_reads_as_a_sentence(client, login, locale):
    founder, program, question, optional, good, _w, _d = _world(locale)
    login(founder)
    # the required question left empty: refused, the other answer survives
    response = client.post(f"/programs/{program.id}/apply", data={
        "project_id": good.id, f"answer-{optional.id}": "We ship in March."})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "We ship in March." in page
    assert f'class="form-control is-invalid" id="answer-{question.id}"' in page
    assert db.session.scalar(select(Application.id).where(Application.project_id == good.id)) is None
    assert not re.search(r"\.; \d", page) and "spin_off" not in page


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_success_leads_to_the_application_and_the_form_does_not_rearm(client, login, locale):
    founder, program, question, optional, good, _w, _d = _world(locale)
    login(founder)
    response = client.post(f"/programs/{program.id}/apply", data={
        "project_id": good.id, f"answer-{question.id}": "Because the rules changed."})
    application = db.session.scalar(select(Application).where(Application.project_id == good.id))
    assert application is not None
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{application.id}")
    landing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Because the rules changed." in landing
    if locale == "en":
        assert "Application sent." in landing
    # Back on the program: the project is no longer offered; it is listed with a link to its application.
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "Good fit" not in _options(page)
    assert f"/applications/{application.id}" in _refused(page)
    # Posting it again (an old tab): a sentence, not "…applied to this program.; 6"
    again = client.post(f"/programs/{program.id}/apply", data={
        "project_id": good.id, f"answer-{question.id}": "Typed again."})
    text = again.get_data(as_text=True)
    assert again.status_code == 409
    assert not re.search(r"\.; \d", text) and f"; {good.id}" not in text
    if locale == "en":
        assert "This project already applied to this program." in text


def test_another_founders_project_is_refused(client, login, factories):
    _founder, program, _q, _o, good, _w, _d = _world("en")
    intruder, _startup, _own = startup_with_founder(mode="open_source", status="submitted")
    login(intruder)
    response = client.post(f"/programs/{program.id}/apply", data={"project_id": good.id})
    assert response.status_code in (403, 404)
