from sqlalchemy import select

from portal.auth.models import ApiToken
from portal.extensions import db


def test_unknown_routes_answer_404_in_the_right_format(client):
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json == {"error": {"code": "not_found", "message": api.json["error"]["message"]}}
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)


def test_wrong_method_is_405_with_allow_header(client):
    response = client.put("/api/v1/me")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.json["error"]["code"] == "method_not_allowed"


def test_token_lifecycle_shown_once_stored_hashed_revocable(client, factories):
    user = factories.UserFactory(email="api@example.com")
    created = client.post("/api/v1/auth/tokens", json={"email": "API@example.com", "password": "correct-horse-battery",
                                                       "name": "ci"})
    assert created.status_code == 201
    raw = created.json["token"]
    stored = db.session.scalar(select(ApiToken).where(ApiToken.id == created.json["id"]))
    assert raw not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/me", headers=headers).json["id"] == user.id
    listed = client.get("/api/v1/auth/tokens", headers=headers).json["items"]
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
    assert client.delete(f"/api/v1/auth/tokens/{stored.id}", headers=headers).status_code == 204
    revoked = client.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "unauthorized"


def test_wrong_credentials_for_a_token_are_401(client, factories):
    user = factories.UserFactory()
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "not-the-password"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_anonymous_and_bad_bearer_get_401_json(client):
    assert client.get("/api/v1/me").status_code == 401
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer hcp_forged"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "unauthorized"
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert basic.status_code == 401


def test_me_lists_roles_and_organisations(client, factories, bearer):
    user = factories.UserFactory(roles=["founder", "mentor"])
    organisation = factories.OrganisationFactory(owner=user, name="AirCare")
    me = client.get("/api/v1/me", headers=bearer(user)).json
    assert me["roles"] == ["founder", "mentor"]
    assert me["organisations"] == [{"id": organisation.id, "name": "AirCare", "kind": "startup", "role": "owner"}]


def test_malformed_json_and_non_objects_are_400(client, factories, bearer):
    headers = bearer(factories.UserFactory())
    broken = client.post("/api/v1/organisations", data="{not json", headers=headers,
                         content_type="application/json")
    assert broken.status_code == 400 and broken.json["error"]["code"] == "validation_error"
    array = client.post("/api/v1/organisations", json=[1, 2], headers=headers)
    assert array.status_code == 400
    form = client.post("/api/v1/organisations", data={"name": "x"}, headers=headers)
    assert form.status_code == 400


def test_oversized_requests_are_413(app, client, factories, bearer):
    headers = bearer(factories.UserFactory())
    limit = app.config["MAX_CONTENT_LENGTH"]
    api = client.post("/api/v1/organisations", data=b"x" * (limit + 1), headers=headers,
                      content_type="application/json")
    assert api.status_code == 413 and api.json["error"]["code"] == "payload_too_large"
    page = client.post("/auth/login", data={"email": "a" * (limit + 1)})
    assert page.status_code == 413 and page.mimetype == "text/html"


def test_pagination_is_validated_and_bounded(client, factories):
    for _ in range(3):
        factories.OrganisationFactory()
    page = client.get("/api/v1/organisations?per_page=2&page=2").json
    assert page["page"] == 2 and page["per_page"] == 2 and page["total"] >= 3 and len(page["items"]) >= 1
    for query in ("per_page=101", "per_page=0", "page=0", "page=abc"):
        response = client.get(f"/api/v1/organisations?{query}")
        assert response.status_code == 400, query
        assert set(response.json["error"]["fields"]) & {"page", "per_page"}


def test_cookie_writes_need_csrf_but_bearer_writes_do_not(client, factories, login, bearer, csrf_enabled):
    user = factories.UserFactory()
    client.application.config["WTF_CSRF_ENABLED"] = False
    login(user)
    client.application.config["WTF_CSRF_ENABLED"] = True
    body = {"name": "Cookie Co", "kind": "startup"}
    refused = client.post("/api/v1/organisations", json=body)
    assert refused.status_code == 400 and "csrf_token" in refused.json["error"]["fields"]

    page = client.get("/auth/account").get_data(as_text=True)
    token = page.split('<meta name="csrf-token" content="')[1].split('"')[0]
    accepted = client.post("/api/v1/organisations", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    other = factories.UserFactory()
    with_bearer = client.application.test_client().post("/api/v1/organisations", json=body, headers=bearer(other))
    assert with_bearer.status_code == 201


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule[len("/api/v1"):]
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from openapi.json"
            operation = document["paths"][path][method.lower()]
            assert not operation.get("x-undocumented"), f"{method} {path} has no @doc"
            assert operation["summary"], f"{method} {path} has no summary"
    register = document["paths"]["/auth/register"]["post"]
    schema = register["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]  # the command Registration
    assert {"email", "password", "name", "roles"} <= set(schema["required"])
