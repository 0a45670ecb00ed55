"""Uploaded files: checked by content, size-limited, stored outside the static folder, served only
through routes that check access first.

Domain packages call `store_upload(file, kinds=..., max_bytes=...)` in a service and keep the
returned `StoredFile` on their own row (a project document, a resource photo...). Their view
loads the owning object through the permission helper, then answers with `send_stored(file)`.
Files are downloaded under the uploader's name with the extension of the type found in the content
(`plan.exe` holding a PDF downloads as `plan.pdf`), so a browser or desktop never treats them as
something else.

The bytes live in the file storage (`portal.storage`: a local folder or an S3-compatible bucket),
under a key made of the sha256 of the content (`sha256/ab/abcdef...`), never the uploader's name:
identical content is one object, shared by every row that holds it. The object is written during
the request, before the row is committed; when the request then fails and rolls back, the object
has no row, and `sweep_orphans` (a periodic job, and `flask --app portal storage sweep`) deletes it
once it is older than a grace period. An object that a row refers to is never deleted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import click
from flask import Response, abort
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import FileStorage

from portal import jobs
from portal.db import UTCDateTime, utcnow
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.storage import LocalStorage, ObjectMissing, StorageError, get_storage

log = logging.getLogger(__name__)


class PayloadTooLarge(PortalError):
    status = 413
    code = "payload_too_large"


class StorageUnavailable(PortalError):
    status = 503
    code = "storage_unavailable"


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
# An object without a row is deleted once it is older than this (longer than any request that uploads).
SWEEP_GRACE_SECONDS = 3600
SWEEP_EVERY_SECONDS = 3600


class StoredFile(db.Model):
    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Several rows may share one object (same content): not unique; indexed for the orphan sweep.
    storage_key: Mapped[str] = mapped_column(String(128), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Images (portal.images): size in pixels, and the thumbnail the job writes (None until it is ready).
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    thumb_key: Mapped[str | None] = mapped_column(String(160))
    thumb_width: Mapped[int | None] = mapped_column()
    thumb_height: Mapped[int | None] = mapped_column()


def upload_folder() -> Path:
    """The folder of the local backend (tests and single-host tools); the S3 backend has none."""
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise RuntimeError(f"uploads are not in a local folder but in {storage.describe()}")
    storage.root.mkdir(parents=True, exist_ok=True)
    return storage.root


def content_key(sha256: str) -> str:
    """The storage key of content with this sha256 (hex): the same bytes always get the same key."""
    return f"sha256/{sha256[:2]}/{sha256}"


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
    content_type, _extension, _check = SIGNATURES[kind]
    dimensions = (None, None)
    if kind in IMAGES:
        from portal.images import check_image

        dimensions = check_image(data, field)  # Pillow opens and verifies it: 400/413 naming the field
    digest = hashlib.sha256(data).hexdigest()
    key = content_key(digest)
    # Written before the row (and before anything locks it); a rollback leaves an orphan for the sweep.
    # Writing identical content again refreshes the object's time, so the sweep keeps it.
    storage = get_storage()
    try:
        storage.put(key, data, content_type)
    except StorageError:
        log.exception("cannot store upload %s in %s", key, storage.describe())
        raise StorageUnavailable(_("Files cannot be stored right now. Please try again in a few minutes.")) \
            from None
    stored = StoredFile(storage_key=key, original_name=os.path.basename(file.filename)[:255],
                        content_type=content_type, kind=kind, size=len(data),
                        sha256=digest, uploaded_by_id=uploaded_by_id, width=dimensions[0], height=dimensions[1])
    db.session.add(stored)
    db.session.flush()
    if kind in IMAGES and kinds <= IMAGES:  # an image upload (not a document that is an image): a thumbnail
        from portal.images import enqueue_thumbnail

        enqueue_thumbnail(stored.id)
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


def send_stored(stored: StoredFile | None, *, as_attachment: bool = True, key: str | None = None,
                content_type: str | None = None, extension: str | None = None, max_age: int | None = None):
    """Answer with the file, streamed from the storage (never a public bucket URL). Call only after the
    caller's access check. `key`/`content_type`/`extension`: a derived object (an image's thumbnail).
    `max_age`: a public, immutable cache header, for content anyone may see under a URL naming its hash."""
    if stored is None:
        abort(404)
    storage = get_storage()
    try:
        opened = storage.open(key or stored.storage_key)
    except ObjectMissing:
        # The row outlived its object (restored database, lost volume): say so in the log, not as a 500.
        log.error("stored file %s (%s) is missing from %s", stored.id, stored.storage_key, storage.describe())
        abort(404)
    except StorageError:
        log.exception("cannot read stored file %s (%s) from %s", stored.id, stored.storage_key, storage.describe())
        abort(503)
    name = download_name(stored)
    if extension:
        name = f"{os.path.splitext(name)[0]}.{extension}"
    response = Response(opened, mimetype=content_type or stored.content_type, direct_passthrough=True)
    response.call_on_close(opened.close)
    response.content_length = opened.size
    response.headers["Content-Disposition"] = content_disposition(name, as_attachment=as_attachment)
    response.headers["Cache-Control"] = (f"public, max-age={max_age}, immutable" if max_age
                                         else "private, no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# What the portal writes: content-addressed keys (with `.<row id>` for the copies a schema downgrade
# makes) and the random keys of uploads stored before them. The sweep deletes nothing else, should the
# folder or bucket prefix also hold other files.
UPLOAD_KEY = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{64}(\.[0-9]+|\.thumb[0-9]+\.webp)?|[0-9a-f]{32}\.[a-z0-9]{1,5}")
# An image's thumbnail (portal.images) lives and goes with its original.
THUMB_KEY = re.compile(r"(sha256/[0-9a-f]{2}/[0-9a-f]{64})\.thumb[0-9]+\.webp")


@dataclass
class SweepResult:
    checked: int = 0  # objects older than the grace period
    deleted: int = 0  # of those, without a row
    kept: int = 0  # of those, referred to by a row (or rewritten meanwhile)


def sweep_orphans(grace_seconds: int | None = None, *, dry_run: bool = False) -> SweepResult:
    """Delete the stored objects that no row refers to and that are older than the grace period (what
    a rolled-back upload leaves, or a deleted row). Only keys of the portal's own form are considered.
    Never deletes an object a committed row refers to: each candidate is
    checked against the table, then its time is read again just before the delete, so content that
    an upload is writing again right now (its time is refreshed) is kept."""
    if grace_seconds is None:
        grace_seconds = SWEEP_GRACE_SECONDS
    storage = get_storage()
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    result = SweepResult()
    batch: list[str] = []

    def settle(keys: list[str]) -> None:
        # A connection of its own, closed before talking to the store: no lock or transaction is held
        # across S3 calls, and the caller's unit of work is left alone.
        owners = {key: (THUMB_KEY.fullmatch(key) or (None, key))[1] for key in keys}
        with db.engine.connect() as connection:
            referenced = set(connection.scalars(select(StoredFile.storage_key)
                                                .where(StoredFile.storage_key.in_(set(owners.values())))))
        for key in keys:
            if owners[key] in referenced:
                result.kept += 1
                continue
            current = storage.stat(key)
            if current is None:
                continue
            if current.last_modified >= cutoff:
                result.kept += 1
                continue
            if not dry_run:
                storage.delete(key)
            result.deleted += 1
            log.info("storage sweep: %s orphan %s (%d bytes, written %s)", "would delete" if dry_run else "deleted",
                     key, current.size, current.last_modified.isoformat())

    for item in storage.iterate():
        if item.last_modified >= cutoff or not UPLOAD_KEY.fullmatch(item.key):
            continue
        result.checked += 1
        batch.append(item.key)
        if len(batch) >= 500:
            settle(batch)
            batch = []
    if batch:
        settle(batch)
    if isinstance(storage, LocalStorage) and not dry_run:
        storage.remove_stale_temporaries(grace_seconds)
    if result.deleted:
        log.info("storage sweep of %s: %d orphans %s, %d kept", storage.describe(), result.deleted,
                 "found" if dry_run else "deleted", result.kept)
    return result


def periodic_sweep() -> None:
    sweep_orphans()


jobs.register_periodic("storage.sweep", "portal.uploads.periodic_sweep", SWEEP_EVERY_SECONDS)


storage_cli = AppGroup("storage", help="The file storage of uploads (STORAGE_URL).")


@storage_cli.command("check")
def storage_check_command() -> None:
    """Say where uploads are stored and whether the store answers."""
    storage = get_storage()
    try:
        storage.check()
    except StorageError as error:
        raise click.ClickException(f"{storage.describe()}: {error}") from None
    click.echo(f"{storage.describe()}: ok")


@storage_cli.command("sweep")
@click.option("--grace", "grace_seconds", type=click.IntRange(min=0), default=None,
              help=f"Keep objects younger than this many seconds (default {SWEEP_GRACE_SECONDS}; 0 only when no "
                   "upload is in flight).")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def storage_sweep_command(grace_seconds: int | None, dry_run: bool) -> None:
    """Delete stored objects that no row refers to (left by rolled-back uploads), past the grace period."""
    result = sweep_orphans(grace_seconds, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{get_storage().describe()}: {result.checked} objects past the grace period, "
               f"{verb} {result.deleted} without a row, kept {result.kept}")
