"""Account security (issue 9, point 8): each reproducer measured on main is a test here."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth import services
from portal.auth.models import ApiToken, User, UserSession
from portal.auth.redirects import safe_redirect_target
from portal.config import load_config
from portal.extensions import db
from tests.conftest import PASSWORD, link_in

# ---- 1. redirects after an action stay on this site ------------------------------------------

HOSTILE_TARGETS = [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", "https://evil.example/x", "javascript:alert(1)",
    "http:/evil.example", " /dashboard", "/ /evil.example", "／／evil.example", "/／evil.example",
    "/\u200b/evil.example", "evil.example", "",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_hostile_redirect_targets_fall_back_to_the_default(app, target):
    with app.test_request_context():
        assert safe_redirect_target(target) == "/dashboard"
        assert safe_redirect_target(target, "/") == "/"


def test_local_paths_are_kept_and_backslashes_read_as_slashes(app):
    with app.test_request_context():
        assert safe_redirect_target("/projects?page=2#top") == "/projects?page=2#top"
        assert safe_redirect_target("/projects\\7") == "/projects/7"
        assert safe_redirect_target("/项目") == "/项目"


def test_login_does_not_redirect_to_another_site(client, factories):
    user = factories.UserFactory()
    response = client.post("/auth/login?next=/%09/evil.example", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_login_keeps_a_local_next(client, factories):
    user = factories.UserFactory()
    response = client.post("/auth/login?next=/auth/account", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/auth/account"


def test_a_newline_in_next_is_refused_not_a_500(client, factories, login):
    login(factories.UserFactory())
    response = client.get("/auth/login?next=/%0a/x")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    response = client.get("/auth/login?next=/%09/evil.example")
    assert response.headers["Location"] == "/dashboard"


def test_language_switch_does_not_redirect_to_another_site(client, factories, login):
    anonymous = client.post("/language", data={"locale": "en", "next": "/\t/evil.example"})
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/"
    login(factories.UserFactory())
    for target in ("/\t/evil.example", "/\\evil.example", "//evil.example"):
        response = client.post("/language", data={"locale": "en", "next": target})
        assert response.headers["Location"] == "/dashboard", target
    hostile_referrer = client.post("/language", data={"locale": "en"},
                                   headers={"Referer": "https://evil.example/phish"})
    assert hostile_referrer.headers["Location"] == "/dashboard"
    tricky_referrer = client.post("/language", data={"locale": "en"},
                                  headers={"Referer": "http://localhost/%09/evil.example"})
    location = tricky_referrer.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "\t" not in location
    same_site = client.post("/language", data={"locale": "en"}, headers={"Referer": "http://localhost/auth/account"})
    assert same_site.headers["Location"] == "/auth/account"


# ---- 2. register and forgot-password do the same work either way ------------------------------

@pytest.fixture
def hash_calls(monkeypatch):
    calls = []
    real = services.hash_password

    def counting(password):
        calls.append(password)
        return real(password)

    monkeypatch.setattr(services, "hash_password", counting)
    return calls


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs queued by the request, recorded instead of run."""
    from portal import jobs

    calls = []
    monkeypatch.setattr(jobs, "enqueue", lambda path, *args, **kwargs: calls.append((path, args)))
    return calls


def register_form(email):
    return {"name": "Chen", "email": email, "password": "a-long-password", "roles": ["founder"], "locale": "en"}


def test_html_registration_hashes_the_password_whether_or_not_the_email_is_taken(client, factories, hash_calls,
                                                                                   mail_outbox):
    factories.UserFactory(email="taken@example.com")
    client.post("/auth/register", data=register_form("fresh@example.com"))
    assert hash_calls == ["a-long-password"]
    client.post("/auth/register", data=register_form("taken@example.com"))
    assert hash_calls == ["a-long-password"] * 2
    # The owner of the taken address still hears about it, from a background job.
    assert mail_outbox[-1]["To"] == "taken@example.com" and "tried" in mail_outbox[-1]["Subject"]


def test_html_registration_queues_one_job_either_way(client, factories, enqueued):
    factories.UserFactory(email="taken@example.com")
    client.post("/auth/register", data=register_form("fresh@example.com"))
    client.post("/auth/register", data=register_form("taken@example.com"))
    assert [path for path, _args in enqueued] == ["portal.mail.deliver",
                                                   "portal.auth.services.notify_existing_account"]


def test_api_registration_hashes_first_and_keeps_its_409(client, factories, hash_calls):
    factories.UserFactory(email="taken@example.com")
    taken = client.post("/api/v1/auth/register", json=register_form("taken@example.com"))
    assert taken.status_code == 409 and taken.json["error"]["code"] == "conflict"
    fresh = client.post("/api/v1/auth/register", json=register_form("fresh@example.com"))
    assert fresh.status_code == 201
    assert hash_calls == ["a-long-password"] * 2


def test_forgot_password_queues_the_same_job_for_known_and_unknown_addresses(client, factories, enqueued):
    factories.UserFactory(email="known@example.com")
    known = client.post("/auth/forgot-password", data={"email": "known@example.com"})
    unknown = client.post("/auth/forgot-password", data={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert enqueued == [("portal.auth.services.send_password_reset", ("known@example.com",)),
                        ("portal.auth.services.send_password_reset", ("ghost@example.com",))]


def test_the_reset_job_mails_known_active_accounts_only(app, db_session, factories, mail_outbox):
    from portal.db import commit

    factories.UserFactory(email="known@example.com")
    factories.UserFactory(email="gone@example.com", is_active_account=False)
    with app.test_request_context():
        for email in ("known@example.com", "ghost@example.com", "gone@example.com"):
            services.send_password_reset(email)
        commit()
    assert [m["To"] for m in mail_outbox] == ["known@example.com"]


# ---- 3. a password change or reset revokes API tokens and other logins ------------------------

def token_works(client, headers) -> bool:
    return client.get("/api/v1/me", headers=headers).status_code == 200


def test_changing_the_password_revokes_every_api_token(client, factories, login, bearer):
    user = login(factories.UserFactory())
    headers = bearer(user)
    other = bearer(user)
    assert token_works(client, headers)
    page = client.get("/auth/account").get_data(as_text=True)
    assert "revokes all your personal API tokens" in page
    response = client.post("/auth/account", data={"action": "change_password", "password-current_password": PASSWORD,
                                                  "password-password": "a-brand-new-password"},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "2 API tokens revoked" in text
    assert "No active tokens." in text  # the account page shows they are gone
    assert not token_works(client, headers) and not token_works(client, other)
    assert client.get("/dashboard").status_code == 200  # the session that changed it stays
    assert db.session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) == 0


def test_resetting_the_password_revokes_tokens_and_every_login(app, client, factories, login, bearer, mail_outbox):
    user = login(factories.UserFactory(email="reset@example.com"))
    headers = bearer(user)
    elsewhere = app.test_client()
    elsewhere.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert elsewhere.get("/dashboard").status_code == 200
    client.post("/auth/forgot-password", data={"email": "reset@example.com"})
    path = link_in(mail_outbox[-1], "/auth/reset-password/")
    done = client.post(path, data={"password": "new-password-123", "confirm": "new-password-123"})
    assert done.status_code == 302
    assert not token_works(app.test_client(), headers)
    assert elsewhere.get("/dashboard").status_code != 200
    assert client.get("/dashboard").status_code != 200


# ---- 4. logout ends the login on the server ----------------------------------------------------

def signed_out(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def replay(app, **cookies):
    """A fresh browser carrying cookies an attacker captured."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value, domain="localhost")
    return thief


def test_a_session_cookie_captured_before_logout_is_dead_after_it(app, client, factories, login):
    user = login(factories.UserFactory())
    captured = client.get_cookie("session").value
    assert replay(app, session=captured).get("/dashboard").status_code == 200  # the cookie is the login
    assert client.post("/auth/logout").status_code == 302
    assert signed_out(replay(app, session=captured).get("/dashboard"))
    assert replay(app, session=captured).get("/api/v1/me").status_code == 401
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert record.revoked_at is not None


def test_a_remember_cookie_captured_before_logout_is_dead_after_it(app, client, factories):
    user = factories.UserFactory()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    remembered = client.get_cookie("remember_token").value
    assert replay(app, remember_token=remembered).get("/dashboard").status_code == 200
    client.post("/auth/logout")
    assert signed_out(replay(app, remember_token=remembered).get("/dashboard"))


def test_each_login_is_its_own_session_and_logout_ends_only_that_one(app, client, factories, login):
    user = login(factories.UserFactory())
    laptop = app.test_client()
    laptop.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    client.post("/auth/logout")
    assert laptop.get("/dashboard").status_code == 200
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 2 and sum(row.revoked_at is None for row in rows) == 1
    # Only a hash of the key is stored.
    assert laptop.get_cookie("session") is not None and all(len(row.key_hash) == 64 for row in rows)


def test_a_login_ends_after_the_maximum_age(client, factories, login):
    user = login(factories.UserFactory())
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    record.created_at -= timedelta(days=31)
    record.last_seen_at -= timedelta(days=31)
    assert signed_out(client.get("/dashboard"))


def test_a_deactivated_account_loses_its_open_sessions(client, factories, login):
    user = login(factories.UserFactory())
    user.is_active_account = False
    assert signed_out(client.get("/dashboard"))


def test_bearer_requests_create_no_session(client, factories, bearer):
    user = factories.UserFactory()
    assert client.get("/api/v1/me", headers=bearer(user)).status_code == 200
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0


def test_a_forged_session_id_is_refused(app, factories):
    user = factories.UserFactory()
    thief = app.test_client()
    with thief.session_transaction() as session:
        session["_user_id"] = str(user.id)  # the old format: a bare user id
    assert signed_out(thief.get("/dashboard"))


# ---- 5, 6. HSTS in production; remember-me cookie ----------------------------------------------

def test_hsts_is_configured_for_production_only():
    production = load_config("/tmp/instance", {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32})
    assert production["HSTS_HEADER"] == "max-age=31536000; includeSubDomains"
    assert load_config("/tmp/instance", {})["HSTS_HEADER"] is None


def test_hsts_header_is_sent_when_configured(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    app.config["HSTS_HEADER"] = "max-age=31536000; includeSubDomains"
    try:
        response = client.get("/")
    finally:
        app.config["HSTS_HEADER"] = None
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_remember_cookie_is_lax_http_only_and_lasts_thirty_days(client, factories):
    user = factories.UserFactory()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("remember_token="))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    remembered = client.get_cookie("remember_token")
    from portal.db import utcnow

    lifetime = remembered.expires - utcnow()
    assert timedelta(days=29) < lifetime <= timedelta(days=30)
    production = load_config("/tmp/instance", {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32})
    assert production["REMEMBER_COOKIE_SECURE"] is True and production["SESSION_COOKIE_SECURE"] is True
    assert production["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


# ---- 7. nothing a signed-in user sees is cacheable ---------------------------------------------

def test_pages_for_signed_in_users_are_not_stored(client, factories, login, bearer):
    anonymous = client.get("/")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    user = login(factories.UserFactory())
    for path in ("/", "/dashboard", "/auth/account", "/api/v1/me"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Pragma"] == "no-cache"
    api = factories.UserFactory()
    assert app_client_get(client, "/api/v1/me", bearer(api)).headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert user  # still logged in while fetching the static file


def app_client_get(client, path, headers):
    fresh = client.application.test_client()
    return fresh.get(path, headers=headers)


# ---- 9. one login budget across HTML and API ---------------------------------------------------

@pytest.fixture
def small_login_budget(app):
    app.config["LOGIN_RATE_LIMIT"] = "4 per minute"
    yield
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"


def test_login_attempts_share_one_budget_across_html_and_api(client, factories, small_login_budget):
    user = factories.UserFactory()
    wrong = {"email": user.email, "password": "wrong-password"}
    codes = [client.post("/auth/login", data=wrong).status_code,
             client.post("/api/v1/auth/tokens", json=wrong).status_code,
             client.post("/auth/login", data=wrong).status_code,
             client.post("/api/v1/auth/tokens", json=wrong).status_code]
    assert codes == [200, 401, 200, 401]
    assert client.post("/auth/login", data=wrong).status_code == 429
    api = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "rate_limited"
    assert client.post("/auth/forgot-password", data={"email": user.email}).status_code == 429


def test_password_reset_requests_spend_the_login_budget(client, factories, small_login_budget):
    user = factories.UserFactory()
    for _ in range(4):
        assert client.post("/auth/forgot-password", data={"email": user.email}).status_code == 302
    assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 429


def test_pages_are_not_limited_only_posts(client, small_login_budget):
    for _ in range(6):
        assert client.get("/auth/login").status_code == 200


# ---- 10. one account per address, however it is typed -----------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("ｆｏｕｎｄｅｒ@example.com", "founder@example.com"),
    ("  Founder@EXAMPLE.com ", "founder@example.com"),
    ("ＦＯＵＮＤＥＲ＠ｅｘａｍｐｌｅ．ｃｏｍ", "founder@example.com"),
    ("STRASSE@example.com", "strasse@example.com"),
])
def test_emails_are_normalised_with_nfkc_and_case_folding(typed, stored):
    assert services.normalise_email(typed) == stored


def test_a_fullwidth_address_is_the_same_account(client, factories):
    factories.UserFactory(email="founder@example.com")
    for typed in ("ｆｏｕｎｄｅｒ@example.com", "FOUNDER@example.com"):
        api = client.post("/api/v1/auth/register", json=register_form(typed))
        assert api.status_code == 409, typed
        client.post("/auth/register", data=register_form(typed))
    assert db.session.scalar(select(func.count(User.id)).where(User.email.like("%ounder@%"))) == 1

    login = client.post("/auth/login", data={"email": "ｆｏｕｎｄｅｒ@example.com", "password": PASSWORD})
    assert login.status_code == 302
    token = client.post("/api/v1/auth/tokens", json={"email": "ＦＯＵＮＤＥＲ@example.com", "password": PASSWORD})
    assert token.status_code == 201


def test_a_new_fullwidth_registration_is_stored_normalised(client):
    response = client.post("/api/v1/auth/register", json=register_form("ｎｅｗ@ＥＸＡＭＰＬＥ.com"))
    assert response.status_code == 201 and response.json["email"] == "new@example.com"


def test_ended_logins_are_purged_after_a_while(client, factories, login):
    from portal import jobs
    from portal.auth.sessions import purge_ended_sessions

    user = login(factories.UserFactory())
    client.post("/auth/logout")
    login(user)
    ended, current = sorted(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)),
                            key=lambda row: row.id)
    assert purge_ended_sessions() == 0
    ended.revoked_at -= timedelta(days=91)
    assert purge_ended_sessions() == 1
    assert client.get("/dashboard").status_code == 200
    assert jobs.PERIODIC["auth.purge_sessions"].path == "portal.auth.sessions.purge_ended_sessions"
