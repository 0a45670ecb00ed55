"""Document receipts: proof that a file existed when a signed audit checkpoint covered its upload,
checked offline by a standalone verifier."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from incubation.models import ProjectStatus
from portal import receipts
from portal.audit import AuditEvent
from portal.checkpoints import create_checkpoint
from portal.extensions import db
from portal.transparency import ReceiptOut
from tests.incubation.factories import startup_with_founder
from tests.portal.test_audit import make_events

PDF = b"%PDF-1.4\n% business plan v3\n%%EOF\n"


def _upload(client, headers, project, title="Business plan", level="nda", data=PDF):
    response = client.post(f"/api/v1/projects/{project.id}/documents", headers=headers,
                           data={"title": title, "confidentiality": level, "file": (io.BytesIO(data), "plan.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return response.json["id"]


def _project(client, bearer):
    founder, _startup, project = startup_with_founder(status=ProjectStatus.SUBMITTED)
    headers = bearer(founder)
    assert client.put(f"/api/v1/projects/{project.id}/nda", headers=headers,
                      json={"nda_text": "Keep it secret."}).status_code == 200
    return founder, project, headers


REPO = Path(__file__).resolve().parents[2]


def _verify(tmp_path: Path, receipt: dict, data: bytes | None, *extra: str, script: Path | None = None):
    """Run the offline verifier in a subprocess: `python -m portal.receipts verify`, or the served file
    alone (run from a folder where the portal cannot be imported)."""
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    args = [str(tmp_path / "receipt.json")]
    if data is not None:
        (tmp_path / "plan.pdf").write_bytes(data)
        args.append(str(tmp_path / "plan.pdf"))
    if script is None:
        command, cwd = [sys.executable, "-m", "portal.receipts", "verify"], REPO
    else:
        command, cwd = [sys.executable, "-I", str(script)], tmp_path
    return subprocess.run(command + args + list(extra), capture_output=True, text=True, cwd=cwd)


def test_the_upload_audit_row_records_the_file_hash(client, bearer):
    _founder, project, headers = _project(client, bearer)
    document_id = _upload(client, headers, project)
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "project_document.added",
                                                     AuditEvent.object_id == str(document_id)))
    assert row.after["sha256"] == hashlib.sha256(PDF).hexdigest()


def test_a_receipt_verifies_offline_and_fails_for_a_modified_file(client, bearer, tmp_path):
    _founder, project, headers = _project(client, bearer)
    make_events(2)
    document_id = _upload(client, headers, project)
    make_events(3)  # the upload sits in the middle of the checkpoint's batch
    pending = client.get(f"/api/v1/documents/{document_id}/receipt", headers=headers)
    assert pending.status_code == 200
    assert pending.json["status"] == "pending" and pending.json["checkpoint"] is None
    ReceiptOut.model_validate(pending.json)  # what the OpenAPI document promises
    code, checks = receipts.verify_receipt(pending.json, PDF)
    assert code == receipts.PENDING and checks[-1].name == "covered by a signed checkpoint"
    create_checkpoint()
    make_events(2)
    receipt = client.get(f"/api/v1/documents/{document_id}/receipt", headers=headers).json
    assert receipt["status"] == "anchored" and receipt["checkpoint"]["sequence"] >= 1
    assert receipt["file"]["sha256"] == receipt["audit_event"]["hashed"]["after"]["sha256"]
    assert {"id", "hash", "prev_hash", "hashed"} <= set(receipt["audit_event"])
    assert {"signature", "public_key", "head", "batch_root"} <= set(receipt["checkpoint"])
    ReceiptOut.model_validate(receipt)

    ok = _verify(tmp_path, receipt, PDF, "--public-key", receipt["checkpoint"]["public_key"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERIFIED" in ok.stdout and "FAIL" not in ok.stdout
    modified = _verify(tmp_path, receipt, PDF.replace(b"v3", b"v4"))
    assert modified.returncode == 1 and "FAIL  file SHA-256 matches the receipt" in modified.stdout
    # a receipt edited to claim the modified file is caught by the audit row's hash
    forged = json.loads(json.dumps(receipt))
    forged_hash = hashlib.sha256(PDF.replace(b"v3", b"v4")).hexdigest()
    forged["file"]["sha256"] = forged["audit_event"]["hashed"]["after"]["sha256"] = forged_hash
    caught = _verify(tmp_path, forged, PDF.replace(b"v3", b"v4"))
    assert caught.returncode == 1 and "FAIL  audit row hash recomputes" in caught.stdout
    wrong_key = _verify(tmp_path, receipt, PDF, "--public-key", "A" * 43 + "=")
    assert wrong_key.returncode == 1


def test_the_served_verifier_runs_alone_and_openssl_agrees(client, bearer, tmp_path):
    _founder, project, headers = _project(client, bearer)
    document_id = _upload(client, headers, project)
    create_checkpoint()
    receipt = client.get(f"/api/v1/documents/{document_id}/receipt", headers=headers).json
    script = tmp_path / "verify_receipt.py"
    script.write_bytes(client.get("/transparency/audit/verify_receipt.py").data)
    imports = [line for line in script.read_text().splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "portal" in line or "flask" in line or "sqlalchemy" in line]
    result = _verify(tmp_path, receipt, PDF, "--extract", str(tmp_path / "parts"), script=script)
    assert result.returncode == 0, result.stdout + result.stderr
    command = next(line.strip() for line in result.stdout.splitlines() if "openssl pkeyutl" in line)
    if shutil.which("openssl"):
        checked = subprocess.run(command.split(), capture_output=True, text=True)
        assert "Signature Verified Successfully" in checked.stdout, checked.stderr


def test_receipts_are_for_the_project_team(client, bearer, factories, login):
    founder, project, headers = _project(client, bearer)
    public_id = _upload(client, headers, project, title="Flyer", level="public")
    nda_id = _upload(client, headers, project)
    create_checkpoint()
    assert client.get(f"/api/v1/documents/{public_id}/receipt").status_code == 401
    outsider = bearer(factories.UserFactory())
    # the outsider may open the public flyer, but the receipt names the uploader's account and address
    assert client.get(f"/api/v1/documents/{public_id}/receipt", headers=outsider).status_code == 403
    assert client.get(f"/api/v1/documents/{nda_id}/receipt", headers=outsider).status_code == 403
    assert client.get(f"/api/v1/documents/{nda_id}/receipt", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/documents/{nda_id}", headers=headers).status_code in (200, 204)
    assert client.get(f"/api/v1/documents/{nda_id}/receipt", headers=headers).status_code == 404
    spec = client.get("/api/v1/openapi.json").json
    assert "/documents/{document_id}/receipt" in spec["paths"]


def test_the_documents_page_offers_the_receipt_once_a_checkpoint_covers_the_upload(client, bearer, login):
    founder, project, headers = _project(client, bearer)
    document_id = _upload(client, headers, project)
    login(founder)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Receipt after the next checkpoint" in page
    assert f"/documents/{document_id}/receipt" not in page
    create_checkpoint()
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f"/documents/{document_id}/receipt" in page
    download = client.get(f"/documents/{document_id}/receipt")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert f"receipt-document-{document_id}.json" in download.headers["Content-Disposition"]
    assert receipts.verify_receipt(download.json, PDF)[0] == 0


@pytest.mark.parametrize("level", ["registered"])
def test_a_visitor_sees_no_receipt_link(client, bearer, factories, login, level):
    _founder, project, headers = _project(client, bearer)
    _upload(client, headers, project, level=level)
    create_checkpoint()
    login(factories.UserFactory())
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "/receipt" not in page and "Receipt after" not in page
