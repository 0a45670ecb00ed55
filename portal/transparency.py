"""The public side of the audit chain: the checkpoint list (page and API) and the offline verifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, Flask, Response, jsonify, render_template
from pydantic import Field
from sqlalchemy import select

from portal import checkpoints
from portal.api import api_blueprint, doc, paginate
from portal.checkpoints import AuditCheckpoint, checkpoint_json
from portal.extensions import db
from portal.schemas import Out

bp = Blueprint("transparency", __name__)
api_bp = api_blueprint("audit_api", __name__)

PAGE_SIZE = 20


@bp.get("/transparency/audit")
def audit_page():
    latest = list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()).limit(PAGE_SIZE)))
    return render_template("transparency/audit.html", checkpoints=latest, public_key=checkpoints.public_key_b64(),
                           format_version=checkpoints.receipts.CHECKPOINT_FORMAT_V2)


@bp.get("/transparency/audit/verify_receipt.py")
def verifier_source():
    """The offline verifier, one self-contained file (standard library and `cryptography`)."""
    source = Path(checkpoints.receipts.__file__).read_text(encoding="utf-8")
    return Response(source, mimetype="text/x-python",
                    headers={"Content-Disposition": "attachment; filename=verify_receipt.py"})


class StreamHeadOut(Out):
    stream: int = Field(ge=0)
    rows: int = Field(ge=1, description="rows of this stream covered, from its first")
    head: str = Field(description="hash of the stream's last covered row")


class CheckpointOut(Out):
    """A signed checkpoint of the audit streams (`portal.checkpoints.checkpoint_json`)."""

    sequence: int = Field(ge=1)
    rows: int = Field(ge=0, description="audit rows covered, all streams together")
    head: str = Field(description="hash of the newest covered row")
    head_event_id: int | None
    previous_rows: int = Field(ge=0, description="rows covered by the previous checkpoint")
    batch_root: str = Field(description="Merkle root of the rows since the previous checkpoint")
    created_at: str
    signature: str = Field(description="Ed25519 signature (base64) of the checkpoint message")
    public_key: str
    timestamp_token: str | None = Field(None, description="RFC 3161 token (base64), when one was obtained")
    timestamped_at: str | None = None
    format: str | None = Field(None, description="haichuang-audit-checkpoint:v2 (streams) or v1 (one chain, older)")
    streams: list[StreamHeadOut] | None = Field(None, description="v2: length and head hash of every stream, signed")


class InclusionOut(Out):
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    path: list[Any]


class ReceiptOut(Out):
    """A receipt proving a file existed (`portal.checkpoints.upload_receipt`); verify it offline."""

    format: str
    issued_at: str
    portal: str | None
    document: dict[str, Any]
    file: dict[str, str]
    audit_event: dict[str, Any]
    status: Literal["pending", "anchored"]
    checkpoint: CheckpointOut | None
    inclusion: InclusionOut | None
    verify: str
    note: str | None = None


@api_bp.get("/audit/checkpoints")
@doc("Signed checkpoints of the audit chain, newest first: sequence, rows, head hash, batch root, time, "
     "Ed25519 signature and public key, the signed heads of every audit stream, and the RFC 3161 timestamp "
     "token when there is one", auth=False,
     query={"page": "page number", "per_page": "items per page (max 100)"}, response=CheckpointOut)
def checkpoint_list():
    return jsonify(paginate(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()), checkpoint_json))


def init_app(app: Flask) -> None:
    from portal.jobs import register_periodic

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    register_periodic("audit.checkpoint", "portal.checkpoints.periodic_checkpoint",
                      checkpoints.CHECKPOINT_EVERY_SECONDS)
