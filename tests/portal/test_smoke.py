def test_home_and_login_pages_render(client):
    assert client.get("/").status_code == 200
    assert client.get("/auth/login").status_code == 200
    assert client.get("/auth/register").status_code == 200


def test_register_confirm_login_flow(client, mail_outbox):
    from tests.conftest import link_in

    response = client.post("/api/v1/auth/register", json={
        "email": "New@Example.com", "password": "a-long-password", "name": "New", "roles": ["founder", "backer"]})
    assert response.status_code == 201, response.json
    assert response.json["roles"] == ["backer", "founder"]
    assert response.json["email"] == "new@example.com"
    assert len(mail_outbox) == 1
    path = link_in(mail_outbox[0], "/auth/confirm/")
    assert client.get(path).status_code == 302
    token = client.post("/api/v1/auth/tokens", json={"email": "new@example.com", "password": "a-long-password"})
    assert token.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json['token']}"})
    assert me.status_code == 200 and me.json["email_confirmed"] is True
