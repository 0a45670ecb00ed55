import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from portal import audit
from portal.audit import AuditEvent
from portal.extensions import db


def tamper(sql: str = "", **params) -> None:
    """Edit the audit tables by hand, as an attacker with database access would (the guards are lifted)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        db.session.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_guard"))
    else:
        for trigger in ("audit_event_no_update", "audit_event_no_delete", "audit_checkpoint_no_update",
                        "audit_checkpoint_no_delete"):
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    if sql:
        db.session.execute(text(sql), params)
    db.session.expire_all()


def make_events(n: int) -> list[AuditEvent]:
    """n events about no object: all in one stream (the stream of the action "test.event")."""
    return [audit.record("test.event", after={"n": i, "text": "中文 ok"}) for i in range(n)]


class Thing:
    """An audited object of a type of its own."""

    def __init__(self, id: int) -> None:
        self.id = id


def thing_on(stream: int, after: int = 0) -> Thing:
    """The first Thing with an id above `after` whose events go to `stream`."""
    candidate = after + 1
    while audit.stream_for("Thing", str(candidate), "") != stream:
        candidate += 1
    return Thing(candidate)


def events_on(stream: int, n: int, after: int = 0) -> list[AuditEvent]:
    """n events in `stream`, in a transaction of their own (a transaction appends to one stream)."""
    db.session.commit()  # (in the tests: releases a savepoint and ends the session's transaction)
    thing = thing_on(stream, after)
    return [audit.record("test.thing", thing, after={"n": i}) for i in range(n)]


def test_events_form_a_hash_chain(db_session, app):
    first, second, third = make_events(3)
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert first.stream == second.stream == third.stream and [second.seq, third.seq] == [first.seq + 1, first.seq + 2]
    result = audit.verify()
    assert result.ok and result.checked >= 3


def test_rows_cannot_be_updated_or_deleted_through_the_database(db_session):
    event = make_events(1)[0]
    with pytest.raises(DatabaseError):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": event.id})
    with pytest.raises(DatabaseError):
        with db.session.begin_nested():
            db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": event.id})


def test_verify_names_the_first_edited_row(db_session):
    events = make_events(4)
    tamper("UPDATE audit_event SET after = :after WHERE id = :id", after='{"n": 99}', id=events[2].id)
    result = audit.verify()
    assert not result.ok and result.broken_id == events[2].id
    assert "edited" in result.reason


def test_verify_detects_a_deleted_row(db_session):
    events = make_events(3)
    tamper("DELETE FROM audit_event WHERE id = :id", id=events[1].id)
    result = audit.verify()
    assert result.broken_id == events[2].id and "link" in result.reason


def test_cli_verify_exit_codes(db_session, runner):
    events = make_events(2)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    tamper("UPDATE audit_event SET actor_id = NULL, ip = '10.0.0.1' WHERE id = :id", id=events[0].id)
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"row {events[0].id}" in broken.output


def test_security_events_are_recorded_with_actor_and_ip(client, factories):
    user = factories.UserFactory()
    client.post("/auth/login", data={"email": user.email, "password": "wrong-password"},
                environ_base={"REMOTE_ADDR": "203.0.113.7"})
    client.post("/auth/login", data={"email": user.email, "password": "correct-horse-battery"},
                environ_base={"REMOTE_ADDR": "203.0.113.7"})
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(user.id),
                                                       AuditEvent.object_type == "User")).all()
    actions = [r.action for r in rows]
    assert actions[-2:] == ["user.login_failed", "user.login"]
    assert rows[-1].actor_id == user.id and rows[-1].ip == "203.0.113.7"
