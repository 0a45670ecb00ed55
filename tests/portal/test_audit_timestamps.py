"""RFC 3161 timestamps on audit checkpoints, with `openssl ts` as a throwaway timestamp authority."""

from __future__ import annotations

import base64
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import checkpoints, receipts
from portal.checkpoints import AuditCheckpoint, checkpoint_now, stamp_pending, verify_checkpoints
from portal.extensions import db
from tests.portal.test_audit import make_events

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

TSA_CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=True)


@pytest.fixture(scope="module")
def tsa():
    """A CA, a TSA certificate (extendedKeyUsage critical timeStamping) and an HTTP server answering
    application/timestamp-query with `openssl ts -reply`."""
    folder = Path(tempfile.mkdtemp(prefix="portal-tsa-"))
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test TSA CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder)
    openssl("req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA", cwd=folder)
    (folder / "ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=critical,timeStamping\n")
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "tsa.pem", "-days", "2", "-extfile", "ext.cnf", cwd=folder)
    (folder / "tsaserial").write_text("01\n")
    (folder / "tsa.cnf").write_text(TSA_CONFIG.format(dir=folder))
    lock = threading.Lock()
    state = {"requests": 0, "fail": False}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["requests"] += 1
            state["content_type"] = self.headers["Content-Type"]
            if state["fail"]:
                self.send_response(503)
                self.end_headers()
                return
            with lock:
                (folder / "query.tsq").write_bytes(body)
                openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq", "-inkey", "tsa.key",
                        "-signer", "tsa.pem", "-out", "reply.tsr", cwd=folder)
                reply = (folder / "reply.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/tsa", "dir": folder, "state": state}
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tsa_url(app):
    def use(url: str | None):
        app.config["TSA_URL"] = url

    yield use
    app.config["TSA_URL"] = None


def test_each_checkpoint_gets_a_timestamp_that_openssl_accepts(db_session, tsa, tsa_url, monkeypatch):
    tsa_url(tsa["url"])
    in_transaction = []
    original = checkpoints._post_timestamp_query

    def spy(url, body, timeout):
        in_transaction.append(db.session().in_transaction())
        return original(url, body, timeout)

    monkeypatch.setattr(checkpoints, "_post_timestamp_query", spy)
    make_events(2)
    checkpoint = checkpoint_now()
    assert in_transaction == [False]  # no database transaction (hence no lock) during the call
    assert tsa["state"]["content_type"] == "application/timestamp-query"
    checkpoint = db.session.get(AuditCheckpoint, checkpoint.id)
    assert checkpoint.timestamp_token and checkpoint.timestamped_at is not None
    info = receipts.check_token(checkpoint.timestamp_token, checkpoint.message)
    assert info.gen_time == checkpoint.timestamped_at
    folder = tsa["dir"]
    (folder / "message.txt").write_bytes(checkpoint.message)
    (folder / "token.tst").write_bytes(checkpoint.timestamp_token)
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", "message.txt", "-in", "token.tst", "-token_in",
                               "-CAfile", "ca.pem"], cwd=folder, capture_output=True, text=True)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr
    (folder / "other.txt").write_bytes(checkpoint.message + b"\n")
    refused = subprocess.run(["openssl", "ts", "-verify", "-data", "other.txt", "-in", "token.tst", "-token_in",
                              "-CAfile", "ca.pem"], cwd=folder, capture_output=True, text=True)
    assert refused.returncode != 0
    item = db.session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.id == checkpoint.id))
    published = checkpoints.checkpoint_json(item)
    assert base64.b64decode(published["timestamp_token"]) == checkpoint.timestamp_token
    assert verify_checkpoints().ok


def test_a_failing_authority_keeps_the_checkpoint_and_a_later_run_stamps_it(db_session, tsa, tsa_url, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/tsa"
    tsa_url(dead)
    make_events(1)
    with caplog.at_level(logging.WARNING, logger="portal.checkpoints"):
        checkpoint = checkpoint_now()
    stored = db.session.get(AuditCheckpoint, checkpoint.id)
    assert stored is not None and stored.timestamp_token is None
    assert f"audit checkpoint {stored.sequence}: timestamp authority failed" in caplog.text
    tsa["state"]["fail"] = True
    tsa_url(tsa["url"])
    assert stamp_pending() == 0
    tsa["state"]["fail"] = False
    assert stamp_pending() == 1
    assert db.session.get(AuditCheckpoint, checkpoint.id).timestamp_token is not None


def test_a_token_for_another_message_is_refused(db_session, tsa, tsa_url, monkeypatch):
    tsa_url(tsa["url"])
    make_events(1)
    checkpoint = checkpoint_now()
    token = db.session.get(AuditCheckpoint, checkpoint.id).timestamp_token
    with pytest.raises(receipts.TimestampError, match="imprint"):
        receipts.check_token(token, b"some other message")
    # a TSA answering with a token for something else is not stored
    original = checkpoints._post_timestamp_query
    monkeypatch.setattr(checkpoints, "_post_timestamp_query", lambda url, body, timeout: original(
        url, receipts.timestamp_request(bytes(32), 1), timeout))
    make_events(1)
    second = checkpoint_now()
    assert db.session.get(AuditCheckpoint, second.id).timestamp_token is None


def test_the_timestamp_request_is_well_formed_der(tsa):
    digest = bytes(range(32))
    query = receipts.timestamp_request(digest, 12345)
    (tsa["dir"] / "q.tsq").write_bytes(query)
    text = subprocess.run(["openssl", "ts", "-query", "-in", "q.tsq", "-text"], cwd=tsa["dir"],
                          capture_output=True, text=True, check=True).stdout
    assert "Hash Algorithm: sha256" in text and "Nonce: 0x3039" in text and "Certificate required: yes" in text
