"""Issue 10's reproducers: input that cannot be stored is refused at the edge (400 naming the field, or
404 for an id past the column), never a 500, and JSON types are never coerced into text."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from incubation.models import Idea
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.inputs import INT_MAX, digits_at_most, json_depth
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import ProjectFactory

TOO_BIG = INT_MAX + 1  # 2147483648


def fields(response) -> set[str]:
    return set(response.get_json()["error"]["fields"])


@pytest.mark.parametrize("path", [
    "/api/v1/projects/2147483648", "/api/v1/resources/2147483648", "/api/v1/campaigns/2147483648",
    "/api/v1/organisations/99999999999", "/projects/2147483648", "/resources/2147483648",
    "/campaigns/2147483648",
])
def test_an_id_past_the_column_is_not_found(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_id_past_the_column_is_not_found_on_a_path_with_two_methods(client, method):
    """GET and POST /programs/<id>/applications are two rules: werkzeug checks the method before the
    converter, so an id refused only after matching answered 405 "use POST" instead of 404."""
    for program_id in (TOO_BIG, 3718996646, 99999999999):
        response = client.open(f"/api/v1/programs/{program_id}/applications", method=method, json={})
        assert response.status_code == 404, (program_id, response.status_code)
    assert client.get(f"/api/v1/programs/{INT_MAX}/applications").status_code == 401  # in range: it routes


def test_the_id_pattern_accepts_exactly_zero_to_the_bound():
    pattern = re.compile(digits_at_most(INT_MAX))
    for number in (0, 7, 999_999_999, 1_000_000_000, 2_147_483_639, 2_147_483_646, INT_MAX):
        assert pattern.fullmatch(str(number)) and pattern.fullmatch(f"00{number}"), number
    for number in (INT_MAX + 1, 2_147_483_650, 2_147_483_700, 2_148_000_000, 3_000_000_000, 10**10):
        assert not pattern.fullmatch(str(number)), number
    for limit in (0, 5, 10, 99, 100, 105, 2024):
        pattern = re.compile(digits_at_most(limit))
        assert [n for n in range(3000) if pattern.fullmatch(str(n))] == list(range(limit + 1)), limit


def test_query_ids_past_the_column_are_refused_naming_the_field(client):
    response = client.get("/api/v1/resources?organisation_id=99999999999")
    assert response.status_code == 400 and fields(response) == {"organisation_id"}
    assert client.get("/api/v1/projects?page=99999999999").status_code == 400


def _live_campaign(factories):
    founder = factories.UserFactory(roles=[Role.FOUNDER])
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup, mode="crowdfunding")
    campaign = CampaignFactory(project=project, status="live", deadline=utcnow() + timedelta(days=10))
    return founder, project, campaign


def test_amounts_past_the_column_are_refused(client, factories, bearer):
    founder, project, campaign = _live_campaign(factories)
    backer = factories.UserFactory(roles=[Role.BACKER])
    goal = client.post("/api/v1/campaigns", headers=bearer(founder), json={
        "project_id": project.id, "title": "Huge", "goal": {"amount": TOO_BIG, "currency": "CNY"},
        "deadline": (utcnow() + timedelta(days=30)).isoformat(), "funding_model": "all_or_nothing"})
    assert goal.status_code == 400 and fields(goal) == {"goal.amount"}
    reward = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", headers=bearer(founder),
                         json={"title": "Gold", "amount": TOO_BIG})
    assert reward.status_code == 400 and fields(reward) == {"amount"}
    pledge = client.post(f"/api/v1/campaigns/{campaign.id}/pledges", headers=bearer(backer),
                         json={"amount": TOO_BIG, "payment_method": "4242424242424242"})
    assert pledge.status_code == 400 and fields(pledge) == {"amount"}


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/search?q=lab&city=%00", "city"),
    ("/api/v1/projects?industry=%00", "industry"),
    ("/api/v1/bookings/calendar.ics?token=%00", "token"),
])
def test_nul_in_a_query_is_refused_naming_the_parameter(client, path, field):
    response = client.get(path)
    assert response.status_code == 400 and fields(response) == {field}


def test_nul_and_lone_surrogates_in_json_are_refused_and_nothing_is_written(client, factories, bearer):
    user = factories.UserFactory()
    tokens = client.post("/api/v1/auth/tokens", json={"email": "a\u0000@example.com", "password": "x" * 12})
    assert tokens.status_code == 400 and fields(tokens) == {"email"}
    register = client.post("/api/v1/auth/register", json={
        "email": "nul@example.com", "password": "a-long-password-1", "name": "\u0000", "roles": ["founder"]})
    assert register.status_code == 400 and fields(register) == {"name"}
    before = db.session.scalar(select(func.count()).select_from(Idea))
    surrogate = client.post("/api/v1/ideas", headers=bearer(user), data='{"title": "x\\ud83d"}',
                            content_type="application/json")
    assert surrogate.status_code == 400 and fields(surrogate) == {"title"}
    nested = client.post("/api/v1/ideas", headers=bearer(user), json={"title": "ok", "tags": [["\u0007"]]})
    assert nested.status_code == 400 and fields(nested) == {"tags.0.0"}
    assert db.session.scalar(select(func.count()).select_from(Idea)) == before


def test_deeply_nested_json_is_refused_without_parsing_it(client, factories, bearer):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/ideas", headers=bearer(factories.UserFactory()), data=body,
                           content_type="application/json")
    assert response.status_code == 400 and fields(response) == {"_body"}
    assert json_depth('{"a": "[[[[", "b": [{"c": []}]}') == 4  # brackets inside strings do not count


def test_nul_in_a_form_field_or_an_upload_name_is_refused(client, factories, login):
    founder = login(factories.UserFactory(roles=[Role.FOUNDER]))
    response = client.post("/ideas/new", data={"title": "Kettle\u0000", "description": "x"})
    assert response.status_code == 400
    startup = factories.OrganisationFactory(kind="startup", owner=founder)
    project = ProjectFactory(organisation=startup)
    upload = client.post(f"/projects/{project.id}/documents", data={
        "title": "Plan", "confidentiality": "public",
        "file": (io.BytesIO(b"%PDF-1.4 plan"), "plan\u0000.pdf")}, content_type="multipart/form-data")
    assert upload.status_code == 400


def test_a_non_ascii_calendar_token_is_not_found(client, factories):
    from tests.resources.factories import ResourceFactory

    resource = ResourceFactory(calendar_token="feed-token")
    assert client.get(f"/api/v1/resources/{resource.id}/calendar.ics?token=%C3%A9").status_code == 404
    assert client.get(f"/api/v1/resources/{resource.id}/calendar.ics?token=feed-token").status_code == 200


def test_a_newline_in_next_after_login_is_a_safe_redirect(client, factories, login):
    login(factories.UserFactory())
    response = client.get("/auth/login?next=/%0a/x")
    assert response.status_code == 302 and "\n" not in response.headers["Location"]


def test_a_signed_webhook_whose_body_is_an_array_is_refused(client, app):
    secret = "whsec_edge"
    app.config["STRIPE_WEBHOOK_SECRET"] = secret
    try:
        payload = json.dumps([{"id": "evt_1"}])
        header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(time.time()))
        response = client.post("/funding/stripe/webhook", data=payload,
                               headers={"Stripe-Signature": header, "Content-Type": "application/json"})
        assert response.status_code == 400
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = None


@pytest.mark.parametrize(("body", "field"), [
    ({"title": [None, None], "description": "x"}, "title"),
    ({"title": True, "description": "x"}, "title"),
    ({"title": 12345, "description": "x"}, "title"),
    ({"title": "Kettle", "description": {"a": 1}}, "description"),
])
def test_json_types_are_never_coerced_into_text(client, factories, bearer, body, field):
    response = client.post("/api/v1/ideas", headers=bearer(factories.UserFactory()), json=body)
    assert response.status_code == 400 and fields(response) == {field}


def test_an_unknown_currency_is_refused(client, factories, bearer):
    founder, project, campaign = _live_campaign(factories)
    response = client.post("/api/v1/campaigns", headers=bearer(founder), json={
        "project_id": project.id, "title": "Kettle", "goal": {"amount": 100000, "currency": "ZZZ"},
        "deadline": (utcnow() + timedelta(days=30)).isoformat(), "funding_model": "all_or_nothing"})
    assert response.status_code == 400 and fields(response) == {"currency"}


def test_a_form_number_past_the_column_is_a_field_error(app):
    """Every form's IntegerField (portal.forms) refuses what no integer column can hold."""
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from portal.forms import IntegerField

    class Numbers(Form):
        n = IntegerField()

    with app.test_request_context():
        big = Numbers(formdata=MultiDict({"n": "99999999999"}))
        assert not big.validate() and big.n.data is None and "Out of range" in big.n.errors[0]
        fine = Numbers(formdata=MultiDict({"n": str(INT_MAX)}))
        assert fine.validate() and fine.n.data == INT_MAX
