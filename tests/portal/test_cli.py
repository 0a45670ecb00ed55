from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db


def test_create_admin(db_session, runner):
    result = runner.invoke(args=["users", "create-admin", "boss@example.com", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user.is_admin and user.is_confirmed


def test_create_admin_refuses_a_weak_password(db_session, runner):
    result = runner.invoke(args=["users", "create-admin", "boss@example.com", "--password", "short"])
    assert result.exit_code != 0 and "password" in result.output
    assert db.session.scalar(select(User).where(User.email == "boss@example.com")) is None


def test_admin_sees_the_numbers(client, factories, login):
    login(factories.UserFactory(roles=["admin"]))
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Platform administration" in page and "Recent audit events" in page


def test_dashboard_panels_follow_roles(client, factories, login):
    login(factories.UserFactory(roles=["backer"]))
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Platform administration" not in page and "Your organisations" in page


def test_seed_demo_if_empty_leaves_existing_data_alone(db_session, runner, factories):
    factories.UserFactory()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "not added" in result.output


def test_seed_demo_prints_logins_and_sends_no_mail(app, db_session, runner, mail_outbox):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example.com" in result.output and "demo-password-2026" in result.output
    assert mail_outbox == []
    assert app.config["MAIL_SUPPRESS"] is False
    assert "audit checkpoint 1 signed" in result.output  # the transparency page has something to show
