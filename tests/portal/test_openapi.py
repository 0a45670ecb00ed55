"""The OpenAPI 3.1 document describes what the API really answers, and /api/docs browses it offline."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

ERROR_REF = "#/components/schemas/Error"
INT_ARGUMENT = re.compile(r"<int:(\w+)>")


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+(?:\(.*?\))?:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield rule, path, method.lower()


def error_schema_validator(document):
    schema = dict(document["components"]["schemas"]["Error"])
    return Draft202012Validator(schema)


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any structural error


def test_every_int_path_parameter_is_a_bounded_integer(app, document):
    seen = 0
    for rule, path, method in api_rules(app):
        parameters = {p["name"]: p for p in document["paths"][path][method]["parameters"] if p["in"] == "path"}
        assert set(parameters) == set(rule.arguments), f"{method} {path}"
        for name in INT_ARGUMENT.findall(rule.rule):
            assert parameters[name]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}, name
            assert parameters[name]["required"] is True
            seen += 1
    assert seen > 50


def test_every_operation_has_a_success_response_and_errors_use_the_error_schema(document):
    for path, method, operation in operations(document):
        codes = set(operation["responses"])
        assert "default" not in codes, f"{method} {path}: list the real statuses instead"
        assert any(code.startswith("2") for code in codes), f"{method} {path} has no 2xx response"
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                media = response["content"]["application/json"]
                assert media["schema"] == {"$ref": ERROR_REF}, f"{method} {path} {code}"
        if operation.get("x-undocumented"):
            continue
        if operation.get("security") != []:  # not public
            assert "401" in codes, f"{method} {path} needs a login but does not list 401"
        if any(p["in"] == "path" and p["schema"]["type"] == "integer" for p in operation["parameters"]):
            assert "404" in codes, f"{method} {path} takes an id but does not list 404"
        if "requestBody" in operation or any(p["in"] == "query" for p in operation["parameters"]):
            assert "400" in codes, f"{method} {path} takes input but does not list 400"


def test_success_codes_follow_the_views(document):
    paths = document["paths"]
    assert set(paths["/organisations"]["post"]["responses"]) >= {"201", "400", "401", "413"}
    assert "200" not in paths["/organisations"]["post"]["responses"]
    assert "204" in paths["/auth/tokens/{token_id}"]["delete"]["responses"]
    assert "content" not in paths["/auth/tokens/{token_id}"]["delete"]["responses"]["204"]
    assert {"201", "202", "409"} <= set(paths["/programs/{program_id}/auto-assign"]["post"]["responses"])
    assert "200" in paths["/waitlist/{entry_id}"]["delete"]["responses"]
    feed = paths["/resources/{resource_id}/calendar.ics"]["get"]["responses"]["200"]
    assert list(feed["content"]) == ["text/calendar"]
    upload = paths["/projects/{project_id}/documents"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    assert "413" in upload["responses"]


def test_lists_are_described_as_pages(document):
    page_ref = {"$ref": "#/components/schemas/Page"}
    for path in ("/projects", "/organisations", "/me/invitations", "/ideas", "/campaigns/{campaign_id}/ledger"):
        operation = document["paths"][path]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == page_ref or schema["allOf"] == [page_ref], path
        query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
        assert query["per_page"]["type"] == "integer" and query["per_page"]["maximum"] == 100, path
        assert "400" in operation["responses"], path
    page = document["components"]["schemas"]["Page"]
    assert set(page["required"]) == {"items", "page", "per_page", "total"}
    ideas = document["paths"]["/ideas"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ideas["properties"]["items"]["items"] == {"$ref": "#/components/schemas/IdeaOut"}


def test_request_bodies_come_from_the_commands(document):
    """The body of POST /ideas is the NewIdea command: its bounds are the ones the API enforces."""
    body = document["paths"]["/ideas"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/NewIdea"}
    idea = document["components"]["schemas"]["NewIdea"]
    assert idea["required"] == ["title"]
    assert idea["properties"]["title"]["maxLength"] == 160 and idea["properties"]["title"]["minLength"] == 1
    created = document["paths"]["/ideas"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/IdeaOut"}


def test_rate_limited_endpoints_list_429(document):
    assert "429" in document["paths"]["/auth/tokens"]["post"]["responses"]
    assert "429" in document["paths"]["/auth/register"]["post"]["responses"]
    assert "429" not in document["paths"]["/auth/tokens"]["get"]["responses"]
    assert "429" not in document["paths"]["/projects"]["get"]["responses"]


def test_error_examples_and_real_errors_match_the_error_schema(app, client, factories, bearer, document):
    validator = error_schema_validator(document)
    examples = document["components"]["schemas"]["Error"]["examples"]
    assert {e["error"]["code"] for e in examples} >= {"validation_error", "unauthorized", "forbidden", "not_found",
                                                      "conflict", "payload_too_large", "rate_limited"}
    for example in examples:
        validator.validate(example)
    for _path, _method, operation in operations(document):
        for code, response in operation["responses"].items():
            for example in response.get("content", {}).get("application/json", {}).get("examples", {}).values():
                if code >= "400":
                    validator.validate(example["value"])
    headers = bearer(factories.UserFactory())
    real = [
        client.get("/api/v1/me"),
        client.get("/api/v1/projects/999999", headers=headers),
        client.post("/api/v1/organisations", json={"kind": "nonsense"}, headers=headers),
        client.get("/api/v1/organisations?per_page=1000"),
    ]
    assert [r.status_code for r in real] == [401, 404, 400, 400]
    for response in real:
        validator.validate(response.json)


def test_docs_page_is_public_and_uses_only_local_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "<script>" not in html  # the CSP allows no inline script
    for asset in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css",
                  "/static/js/api-docs.js"):
        assert asset in sources
        assert client.get(asset).status_code == 200, asset
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_footer_links_the_docs_page(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/api/docs"' in html and 'href="/api/v1/openapi.json"' in html


@pytest.mark.parametrize("method, path", [
    ("post", "/applications/{application_id}/conflict"),  # reviewed already / declared already
    ("post", "/bookings/{booking_id}/complete"),  # not confirmed / not ended
    ("post", "/campaigns/{campaign_id}/match-funds"),  # organisation_unverified / campaign ended
    ("post", "/bookings/{booking_id}/no-show"),  # not confirmed / not started
    ("post", "/former-employments/{record_id}/verify"),  # verified already
    ("post", "/pledges/{pledge_id}/payment-method"),  # the card can no longer change
])
def test_operations_whose_service_raises_conflict_document_409(document, method, path):
    """Found by schemathesis' status_code_conformance: the service raises Conflict, the view does not."""
    response = document["paths"][path][method]["responses"]["409"]
    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


def test_every_json_answer_and_body_is_described_by_a_model(document):
    """No operation answers JSON, or reads a JSON body, that the document leaves as a bare object: the
    schemas come from the commands and response models the code validates with."""
    generic = ({"type": "object"}, {"$ref": "#/components/schemas/Page"}, {"$ref": "#/components/schemas/ItemList"})
    undescribed = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and body["schema"] in generic:
                undescribed.append(f"{method.upper()} {path} request")
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content and content["schema"] in generic and path != "/openapi.json":
                    undescribed.append(f"{method.upper()} {path} {status}")
    assert undescribed == []
