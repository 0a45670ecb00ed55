"""The public side of the audit chain: the checkpoint list (page and API) and the offline verifier."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, jsonify, render_template
from sqlalchemy import select

from portal import checkpoints
from portal.api import api_blueprint, doc, paginate
from portal.checkpoints import AuditCheckpoint, checkpoint_json
from portal.extensions import db

bp = Blueprint("transparency", __name__)
api_bp = api_blueprint("audit_api", __name__)

PAGE_SIZE = 20


@bp.get("/transparency/audit")
def audit_page():
    latest = list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()).limit(PAGE_SIZE)))
    return render_template("transparency/audit.html", checkpoints=latest, public_key=checkpoints.public_key_b64(),
                           format_version=checkpoints.receipts.CHECKPOINT_FORMAT)


@bp.get("/transparency/audit/verify_receipt.py")
def verifier_source():
    """The offline verifier, one self-contained file (standard library and `cryptography`)."""
    source = Path(checkpoints.receipts.__file__).read_text(encoding="utf-8")
    return Response(source, mimetype="text/x-python",
                    headers={"Content-Disposition": "attachment; filename=verify_receipt.py"})


@api_bp.get("/audit/checkpoints")
@doc("Signed checkpoints of the audit chain, newest first: sequence, rows, head hash, batch root, time, "
     "Ed25519 signature and public key, and the RFC 3161 timestamp token when there is one", auth=False,
     query={"page": "page number", "per_page": "items per page (max 100)"})
def checkpoint_list():
    return jsonify(paginate(select(AuditCheckpoint).order_by(AuditCheckpoint.sequence.desc()), checkpoint_json))


def init_app(app: Flask) -> None:
    from portal.jobs import register_periodic

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    register_periodic("audit.checkpoint", "portal.checkpoints.periodic_checkpoint",
                      checkpoints.CHECKPOINT_EVERY_SECONDS)
