import re

from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from tests.conftest import PASSWORD, link_in


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def register_form(**overrides):
    data = {"name": "Chen", "email": "chen@example.com", "password": "a-long-password", "roles": ["founder"],
            "locale": "en"}
    data.update(overrides)
    return data


def test_html_registration_mails_a_confirmation_link(client, mail_outbox, login):
    response = client.post("/auth/register", data=register_form())
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    user = db.session.scalar(select(User).where(User.email == "chen@example.com"))
    assert user.roles == ["founder"] and not user.is_confirmed
    assert [m["To"] for m in mail_outbox] == ["chen@example.com"]

    login(user, "a-long-password")  # allowed before confirming, as API.md says
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Please confirm your email address" in dashboard

    client.get(link_in(mail_outbox[0], "/auth/confirm/"))
    assert user.is_confirmed
    assert "Please confirm your email address" not in client.get("/dashboard").get_data(as_text=True)


def test_tampered_confirmation_link_is_refused(client, factories):
    user = factories.UserFactory(confirmed_at=None)
    response = client.get("/auth/confirm/not-a-real-token", follow_redirects=True)
    assert "not valid" in response.get_data(as_text=True)
    assert not user.is_confirmed


def test_registering_a_taken_email_reveals_nothing(client, factories, mail_outbox):
    existing = factories.UserFactory(email="taken@example.com")
    before = user_count()
    fresh = client.post("/auth/register", data=register_form(email="fresh@example.com"), follow_redirects=True)
    taken = client.post("/auth/register", data=register_form(email="taken@example.com"), follow_redirects=True)
    def normalised(response, local_part):
        text = response.get_data(as_text=True).replace(local_part + "@", "X@")
        return re.sub(r'(csrf-token" content=|name="csrf_token" value=)"[^"]*"', "", text)

    assert normalised(fresh, "fresh") == normalised(taken, "taken")
    assert "already" not in taken.get_data(as_text=True).lower()
    assert fresh.status_code == taken.status_code == 200
    assert user_count() == before + 1
    # The real owner hears about the attempt; nobody else learns anything.
    assert mail_outbox[-1]["To"] == existing.email
    assert "tried" in mail_outbox[-1]["Subject"]


def test_api_registration_answers_409_for_a_taken_email(client, factories):
    factories.UserFactory(email="taken@example.com")
    response = client.post("/api/v1/auth/register", json=register_form(email="Taken@Example.com"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"


def test_weak_password_is_refused_with_the_field_named_and_nothing_written(client):
    before = user_count()
    short = client.post("/api/v1/auth/register", json=register_form(password="short"))
    same = client.post("/api/v1/auth/register", json=register_form(password="chen@example.com"))
    assert short.status_code == same.status_code == 400
    assert "password" in short.json["error"]["fields"] and "password" in same.json["error"]["fields"]
    assert user_count() == before


def test_registration_validates_every_field(client):
    response = client.post("/api/v1/auth/register", json={"email": "not-an-email", "roles": ["admin"]})
    assert response.status_code == 400
    fields = response.json["error"]["fields"]
    assert {"email", "password", "name", "roles"} <= set(fields)


def test_login_errors_are_the_same_for_unknown_email_and_wrong_password(client, factories):
    user = factories.UserFactory()
    wrong = client.post("/auth/login", data={"email": user.email, "password": "wrong-password"})
    unknown = client.post("/auth/login", data={"email": "nobody@example.com", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 200
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)


def test_login_with_remember_me_sets_a_remember_cookie(client, factories):
    user = factories.UserFactory()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is not None


def test_login_refuses_open_redirects(client, factories):
    user = factories.UserFactory()
    response = client.post("/auth/login?next=//evil.example/x",
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard"


def test_deactivated_account_cannot_log_in(client, factories):
    user = factories.UserFactory(is_active_account=False)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200 and "Wrong email or password." in response.get_data(as_text=True)


def test_login_is_rate_limited(app, client, factories):
    user = factories.UserFactory()
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.post("/auth/login", data={"email": user.email, "password": "wrong-password"}).status_code
                 for _ in range(4)]
        api = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "x"})
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes == [200, 200, 200, 429]
    assert api.status_code == 429  # one budget per address across the login page and the API


def test_password_reset_link_works_once(client, factories, mail_outbox):
    user = factories.UserFactory(email="reset@example.com")
    unknown = client.post("/auth/forgot-password", data={"email": "ghost@example.com"}, follow_redirects=True)
    known = client.post("/auth/forgot-password", data={"email": "reset@example.com"}, follow_redirects=True)
    assert "If an account exists" in unknown.get_data(as_text=True)
    assert "If an account exists" in known.get_data(as_text=True)
    assert [m["To"] for m in mail_outbox] == ["reset@example.com"]

    path = link_in(mail_outbox[0], "/auth/reset-password/")
    mismatch = client.post(path, data={"password": "new-password-123", "confirm": "other-password-1"})
    assert "The passwords differ." in mismatch.get_data(as_text=True)
    done = client.post(path, data={"password": "new-password-123", "confirm": "new-password-123"})
    assert done.status_code == 302
    again = client.post(path, data={"password": "another-pass-456", "confirm": "another-pass-456"},
                        follow_redirects=True)
    assert "not valid or has already been used" in again.get_data(as_text=True)

    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
    assert client.post("/auth/login", data={"email": user.email, "password": "new-password-123"}).status_code == 302


def test_logout_needs_a_post_with_csrf_token(client, factories, login, csrf_enabled):
    user = factories.UserFactory()
    login_page = client.get("/auth/login").get_data(as_text=True)
    assert 'name="csrf_token"' in login_page
    client.application.config["WTF_CSRF_ENABLED"] = False
    login(user)
    client.application.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/auth/logout").status_code == 405
    forged = client.post("/auth/logout")
    assert forged.status_code == 400
    assert client.get("/dashboard").status_code == 200  # still logged in


def test_account_page_creates_and_revokes_tokens(client, factories, login):
    from portal.auth.models import ApiToken

    user = login(factories.UserFactory())
    page = client.post("/auth/account", data={"action": "create_token", "token-name": "laptop"})
    text = page.get_data(as_text=True)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.name == "laptop" and token.prefix in text
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer " + text.split('id="new-token">')[1]
                                             .split("<")[0]}).status_code == 200
    assert client.post(f"/auth/account/tokens/{token.id}/revoke").status_code == 302
    assert token.revoked_at is not None


def test_someone_elses_token_cannot_be_revoked(client, factories, login):
    from portal.auth.services import create_api_token

    owner = factories.UserFactory()
    token, _raw = create_api_token(owner, "theirs")
    login(factories.UserFactory())
    assert client.post(f"/auth/account/tokens/{token.id}/revoke").status_code == 403
    assert client.post("/auth/account/tokens/999999/revoke").status_code == 404
    assert token.revoked_at is None


def test_changing_the_password_ends_other_sessions(app, client, factories, login):
    user = login(factories.UserFactory())
    other_device = app.test_client()
    other_device.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert other_device.get("/dashboard").status_code == 200
    response = client.post("/auth/account", data={"action": "change_password", "password-current_password": PASSWORD,
                                                  "password-password": "a-brand-new-password"})
    assert response.status_code == 302
    assert other_device.get("/dashboard").status_code == 302  # logged out, remember cookie included
