"""Uploaded files: checked by content, size-limited, stored outside the static folder, served only
through routes that check access first.

Domain packages call `store_upload(file, kinds=..., max_bytes=...)` in a service and keep the
returned `StoredFile` on their own row (a project document, a resource photo...). Their view
loads the owning object through the permission helper, then answers with `send_stored(file)`.
Files are named by a random key on disk, never by the uploader's file name, and are downloaded
under the uploader's name with the extension of the type found in the content (`plan.exe` holding
a PDF downloads as `plan.pdf`), so a browser or desktop never treats them as something else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from flask import abort, current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import FileStorage

from portal.db import UTCDateTime, utcnow
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db

log = logging.getLogger(__name__)


class PayloadTooLarge(PortalError):
    status = 413
    code = "payload_too_large"


# kind -> (content type, extension, test on the first bytes)
SIGNATURES = {
    "pdf": ("application/pdf", "pdf", lambda head: head.startswith(b"%PDF-")),
    "png": ("image/png", "png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpeg": ("image/jpeg", "jpg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "webp": ("image/webp", "webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    "gif": ("image/gif", "gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    # Office documents and most CAD exchange bundles are ZIP containers.
    "zip": ("application/zip", "zip", lambda head: head.startswith(b"PK\x03\x04")),
    "step": ("model/step", "step", lambda head: head.lstrip().startswith(b"ISO-10303-21")),
}
# Extensions an uploader may keep because they name the same container (an Office document is
# a ZIP); any other extension is replaced by the kind's own.
KEEP_EXTENSIONS = {
    "jpeg": {"jpg", "jpeg"},
    "zip": {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp"},
    "step": {"step", "stp"},
}
IMAGES = frozenset({"png", "jpeg", "webp", "gif"})
DOCUMENTS = frozenset({"pdf", "zip", "step"}) | IMAGES
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class StoredFile(db.Model):
    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def upload_folder() -> Path:
    folder = Path(current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def detect_kind(head: bytes, allowed: frozenset[str] | set[str]) -> str | None:
    for kind in allowed:
        if SIGNATURES[kind][2](head):
            return kind
    return None


def store_upload(file: FileStorage | None, *, field: str = "file", kinds: frozenset[str] | set[str] = DOCUMENTS,
                 max_bytes: int = DEFAULT_MAX_BYTES, uploaded_by_id: int | None = None) -> StoredFile:
    """Check and store an upload; raise 400 (wrong type, empty) or 413 (too large), writing nothing."""
    if file is None or not file.filename:
        raise ValidationFailed.field(field, _("Choose a file to upload."))
    data = file.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(_("The file is larger than %(mb)d MB.", mb=max(1, max_bytes // (1024 * 1024))),
                              {field: [_("file too large")]})
    if not data:
        raise ValidationFailed.field(field, _("The file is empty."))
    kind = detect_kind(data[:64], kinds)
    if kind is None:
        raise ValidationFailed.field(field, _("This type of file is not accepted here."))
    content_type, extension, _check = SIGNATURES[kind]
    key = f"{secrets.token_hex(16)}.{extension}"
    path = upload_folder() / key
    path.write_bytes(data)
    stored = StoredFile(storage_key=key, original_name=os.path.basename(file.filename)[:255],
                        content_type=content_type, kind=kind, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=uploaded_by_id)
    db.session.add(stored)
    db.session.flush()
    return stored


def download_name(stored: StoredFile) -> str:
    """The uploader's file name, cleaned, with the extension of the detected type."""
    name = unicodedata.normalize("NFC", (stored.original_name or "").replace("\\", "/").rpartition("/")[2])
    name = "".join(" " if unicodedata.category(char).startswith("Z") else char for char in name
                   if not unicodedata.category(char).startswith("C") and char not in "\"';:*?<>|")
    stem, dot_extension = os.path.splitext(name.strip(" ."))
    own = SIGNATURES[stored.kind][1] if stored.kind in SIGNATURES else "bin"
    extension = dot_extension[1:].lower()
    if extension not in KEEP_EXTENSIONS.get(stored.kind, set()) | {own}:
        extension = own
    return f"{stem.strip(' .')[:120] or 'download'}.{extension}"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_ ()+-]", "_", text).strip(" _")


def content_disposition(name: str, *, as_attachment: bool = True) -> str:
    """A header value that is safe for any name: a plain ASCII `filename` for old clients and an
    RFC 5987 `filename*` with the exact UTF-8 name."""
    stem, extension = os.path.splitext(name)
    fallback = (_ascii(stem) or "download") + ("." + _ascii(extension[1:]) if _ascii(extension[1:]) else "")
    value = "attachment" if as_attachment else "inline"
    return f"{value}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_stored(stored: StoredFile, *, as_attachment: bool = True):
    """Answer with the file. Call only after the caller's access check."""
    path = upload_folder() / stored.storage_key
    if not path.is_file():
        # The row outlived its file (restored database, lost volume): say so in the log, not as a 500.
        log.error("stored file %s (%s) is missing from %s", stored.id, stored.storage_key, upload_folder())
        abort(404)
    name = download_name(stored)
    response = send_file(path, mimetype=stored.content_type, as_attachment=as_attachment,
                         download_name=name, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(name, as_attachment=as_attachment)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
