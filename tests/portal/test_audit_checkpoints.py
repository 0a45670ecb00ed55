"""Signed checkpoints anchor the audit chain: truncating it or rewriting every hash is caught and named."""

from __future__ import annotations

import base64
import json
import os
import re
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from portal import checkpoints, jobs, receipts
from portal.audit import GENESIS, STREAMS, AuditEvent, compute_hash
from portal.checkpoints import AuditCheckpoint, create_checkpoint, verify_checkpoints
from portal.config import ConfigError, load_config, parse_audit_signing_key, validate_config
from portal.extensions import db
from portal.transparency import CheckpointOut
from tests.portal.test_audit import events_on, make_events, tamper


def rewrite_chain(edit_id: int, after: dict) -> None:
    """What an attacker with database access does: edit a row, then recompute every hash after it in
    its stream."""
    tamper("UPDATE audit_event SET after = :after WHERE id = :id", after=json.dumps(after), id=edit_id)
    stream = db.session.get(AuditEvent, edit_id).stream
    expected_prev = GENESIS
    for row in db.session.scalars(select(AuditEvent).where(AuditEvent.stream == stream).order_by(AuditEvent.seq)):
        row.prev_hash = expected_prev
        row.hash = compute_hash(row)
        expected_prev = row.hash
    db.session.flush()
    db.session.expire_all()


def test_a_checkpoint_signs_the_heads_of_all_streams_with_a_canonical_message(db_session):
    events = make_events(3)
    other_stream = events[0].stream % STREAMS + 1
    others = events_on(other_stream, 2)
    checkpoint = create_checkpoint()
    rows = db.session.scalar(select(db.func.count(AuditEvent.id)))
    assert rows == 5
    assert checkpoint.sequence == 1 and checkpoint.rows == rows and checkpoint.previous_rows == 0
    assert checkpoint.head_event_id == others[-1].id and checkpoint.head_hash == others[-1].hash
    published = checkpoints.checkpoint_json(checkpoint)
    heads = sorted([(events[0].stream, 3, events[-1].hash), (other_stream, 2, others[-1].hash)])
    assert published["format"] == "haichuang-audit-checkpoint:v2"
    assert published["streams"] == [{"stream": s, "rows": n, "head": h} for s, n, h in heads]
    message = receipts.message_of(published)
    assert message.decode("ascii").split("\n") == [
        "haichuang-audit-checkpoint:v2", "sequence=1", f"rows={rows}", f"head_event_id={others[-1].id}",
        f"head={others[-1].hash}", "previous_rows=0", f"batch_root={checkpoint.batch_root}",
        f"created_at={published['created_at']}", "streams=2", *[f"stream.{s}={n} {h}" for s, n, h in heads]]
    # the batch is the new rows stream by stream, each stream in order
    batch = [e.hash for e in sorted(events + others, key=lambda e: (e.stream, e.seq))]
    assert checkpoint.batch_root == receipts.merkle_root(batch)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", published["created_at"])
    assert receipts.verify_signature(published["public_key"], published["signature"], message)
    assert not receipts.verify_signature(published["public_key"], published["signature"], message + b"x")
    # nothing new: no second checkpoint; one more event: sequence 2 continues from the first
    assert create_checkpoint() is None
    make_events(2)
    second = create_checkpoint()
    assert second.sequence == 2 and second.previous_rows == checkpoint.rows and second.rows == rows + 2
    assert dict((s["stream"], s["rows"]) for s in checkpoints.checkpoint_json(second)["streams"]) == {
        events[0].stream: 3, other_stream: 4}
    assert verify_checkpoints().ok


@pytest.mark.parametrize("size", range(1, 18))
def test_merkle_inclusion_paths_verify_for_every_leaf(size):
    hashes = [f"{i:064x}" for i in range(size)]
    root = receipts.merkle_root(hashes)
    for index, leaf in enumerate(hashes):
        path = receipts.inclusion_path(hashes, index)
        assert receipts.verify_inclusion(leaf, index, size, path, root)
        assert not receipts.verify_inclusion(f"{999:064x}", index, size, path, root)
        if size > 1:
            assert not receipts.verify_inclusion(leaf, (index + 1) % size, size, path, root)


def test_truncating_the_tail_is_caught_and_the_checkpoint_named(db_session, runner):
    make_events(3)
    first = create_checkpoint()
    events = make_events(4)
    second = create_checkpoint()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # the attacker deletes the newest rows: the chain itself still links up
    tamper("DELETE FROM audit_event WHERE id >= :id", id=events[2].id)
    from portal.audit import verify

    assert verify().ok
    report = verify_checkpoints()
    assert [p.sequence for p in report.problems] == [second.sequence]
    assert "newest rows were deleted" in report.problems[0].reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"checkpoint {second.sequence} no longer matches" in result.output
    assert f"checkpoint {first.sequence} " not in result.output


def test_rewriting_every_hash_after_an_edit_is_caught(db_session, runner):
    events = make_events(4)
    first = create_checkpoint()
    make_events(3)
    second = create_checkpoint()
    rewrite_chain(events[1].id, {"n": 99, "text": "rewritten"})
    from portal.audit import verify

    assert verify().ok  # the old check alone passes
    report = verify_checkpoints()
    assert [p.sequence for p in report.problems] == [first.sequence, second.sequence]
    assert "rewritten" in report.problems[0].reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"checkpoint {first.sequence} no longer matches" in result.output


def test_a_rewrite_after_the_first_checkpoint_names_only_the_later_one(db_session):
    make_events(2)
    first = create_checkpoint()
    later = make_events(3)
    second = create_checkpoint()
    rewrite_chain(later[0].id, {"n": -1})
    assert [p.sequence for p in verify_checkpoints().problems] == [second.sequence]
    assert first.sequence not in [p.sequence for p in verify_checkpoints().problems]


def test_edited_or_foreign_signed_checkpoints_are_refused(db_session):
    make_events(2)
    checkpoint = create_checkpoint()
    db.session.flush()
    tamper()  # an attacker with database access lifts the guard first
    checkpoint.rows -= 1
    db.session.flush()
    assert "signature does not verify" in verify_checkpoints().problems[0].reason
    # re-signed by the attacker's own key: the signature holds, but it is not the portal's key
    attacker = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    checkpoint.public_key = base64.b64encode(attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    checkpoint.signature = base64.b64encode(attacker.sign(checkpoint.message)).decode()
    db.session.flush()
    assert "not this portal's audit key" in verify_checkpoints().problems[0].reason


def test_a_deleted_checkpoint_leaves_a_gap_that_is_named(db_session):
    make_events(1)
    create_checkpoint()
    make_events(1)
    middle = create_checkpoint()
    make_events(1)
    create_checkpoint()
    tamper("DELETE FROM audit_checkpoint WHERE id = :id", id=middle.id)
    problems = verify_checkpoints().problems
    assert problems and "missing" in problems[0].reason


def test_checkpoint_refuses_to_sign_a_tampered_chain(db_session, runner):
    events = make_events(3)
    create_checkpoint()
    make_events(1)
    tamper("UPDATE audit_event SET action = 'x' WHERE id = :id", id=events[-1].id)
    make_events(1)
    db.session.commit()  # (only releases the test's savepoint)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and "no longer matches checkpoint" in result.output
    assert db.session.scalar(select(db.func.count(AuditCheckpoint.id))) == 1


def test_checkpoint_refuses_to_sign_over_an_edited_new_row(db_session, runner):
    make_events(2)
    create_checkpoint()
    fresh = make_events(3)
    tamper("UPDATE audit_event SET action = 'x' WHERE id = :id", id=fresh[1].id)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and f"Audit row {fresh[1].id} does not continue the chain" in result.output


def test_cli_checkpoint_and_periodic_job(db_session, runner):
    make_events(2)
    first = runner.invoke(args=["audit", "checkpoint"])
    assert first.exit_code == 0, first.output
    assert re.search(r"Checkpoint \d+: \d+ rows, head [0-9a-f]{64}", first.output)
    again = runner.invoke(args=["audit", "checkpoint"])
    assert again.exit_code == 0 and "nothing to sign" in again.output
    assert jobs.PERIODIC["audit.checkpoint"].every_seconds == 3600
    make_events(1)
    before = db.session.scalar(select(db.func.max(AuditCheckpoint.sequence)))
    jobs.resolve(jobs.PERIODIC["audit.checkpoint"].path)()
    assert db.session.scalar(select(db.func.max(AuditCheckpoint.sequence))) == before + 1


def test_checkpoints_are_public_in_the_api_and_on_the_transparency_page(client, db_session):
    make_events(2)
    checkpoint = create_checkpoint()
    listing = client.get("/api/v1/audit/checkpoints?per_page=5")
    assert listing.status_code == 200
    body = listing.json
    assert body["page"] == 1 and body["per_page"] == 5 and body["total"] == 1
    item = body["items"][0]
    assert {"sequence", "rows", "head", "created_at", "signature", "public_key"} <= set(item)
    assert "timestamp_token" not in item
    CheckpointOut.model_validate(item)
    assert receipts.verify_signature(item["public_key"], item["signature"], receipts.message_of(item))
    spec = client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/audit/checkpoints"]["get"]["security"] == []
    page = client.get("/transparency/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert checkpoint.public_key in html and checkpoint.head_hash[:16] in html
    shown = re.search(r'<time datetime="[^"]+">([^<]+)</time>', html).group(1)
    assert not re.search(r"\d:\d\d:\d\d", shown)  # minutes, no seconds
    assert "/transparency/audit" in client.get("/").get_data(as_text=True)
    verifier = client.get("/transparency/audit/verify_receipt.py")
    assert verifier.status_code == 200 and b"def verify_receipt" in verifier.data


# ---- the key -------------------------------------------------------------------------------------

def test_production_requires_the_signing_key_and_bad_keys_are_named():
    with pytest.raises(ConfigError, match="AUDIT_SIGNING_KEY is required"):
        validate_config(load_config("/tmp/instance", {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32}))
    with pytest.raises(ConfigError, match="AUDIT_SIGNING_KEY must decode to 32 bytes"):
        validate_config(load_config("/tmp/instance", {"AUDIT_SIGNING_KEY": base64.b64encode(b"short").decode()}))
    with pytest.raises(ConfigError, match="TSA_URL must be a URL"):
        validate_config(load_config("/tmp/instance", {"TSA_URL": "tsa.example"}))
    raw = base64.b64encode(os.urandom(32)).decode()
    validate_config(load_config("/tmp/instance", {"PORTAL_ENV": "production", "SECRET_KEY": "x" * 32,
                                                  "AUDIT_SIGNING_KEY": raw, "REDIS_URL": "redis://127.0.0.1:6379/0"}))
    from cryptography.hazmat.primitives import serialization

    key = parse_audit_signing_key(raw)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    same = parse_audit_signing_key(pem.replace("\n", "\\n"))
    assert same.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


def test_the_development_key_is_generated_once_and_private(tmp_path):
    path = tmp_path / "instance" / "audit-signing-key.pem"
    first = checkpoints._development_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = checkpoints._development_key(path)
    assert first.public_key().public_bytes_raw() == second.public_key().public_bytes_raw()


def test_the_configured_key_signs(app, db_session):
    key = Ed25519PrivateKey.generate()
    raw = base64.b64encode(key.private_bytes_raw()).decode()
    saved = app.config.get("AUDIT_SIGNING_KEY")
    app.extensions.pop("audit_signing_key", None)
    app.config["AUDIT_SIGNING_KEY"] = raw
    try:
        make_events(1)
        checkpoint = create_checkpoint()
        assert checkpoint.public_key == base64.b64encode(key.public_key().public_bytes_raw()).decode()
    finally:
        app.config["AUDIT_SIGNING_KEY"] = saved
        app.extensions.pop("audit_signing_key", None)


def test_checkpoints_are_append_only_except_for_a_missing_timestamp(db_session):
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    make_events(1)
    checkpoint = create_checkpoint()
    db.session.flush()
    for sql in ("UPDATE audit_checkpoint SET rows = rows + 1 WHERE id = :id",
                "DELETE FROM audit_checkpoint WHERE id = :id"):
        with pytest.raises(DatabaseError), db.session.begin_nested():
            db.session.execute(text(sql), {"id": checkpoint.id})
    db.session.execute(text("UPDATE audit_checkpoint SET timestamp_token = :t WHERE id = :id"),
                       {"t": b"token", "id": checkpoint.id})
    with pytest.raises(DatabaseError), db.session.begin_nested():
        db.session.execute(text("UPDATE audit_checkpoint SET timestamp_token = :t WHERE id = :id"),
                           {"t": b"other", "id": checkpoint.id})
