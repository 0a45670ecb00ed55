"""Images where people look for them: covers, galleries, logos, avatars and photos.

- **Checked by content.** `portal.uploads.store_upload` calls `check_image` for every image it stores:
  Pillow opens the bytes and verifies them, so a text file renamed `.png` is refused (400 naming the
  field), and so is a decompression bomb (413 naming the field: more than `MAX_PIXELS` pixels).
- **Thumbnails in a job.** An image upload enqueues `make_thumbnail(stored_file_id)` (after the commit,
  through `portal.jobs`); the thumbnail is a WebP of at most `THUMB_SIZE` pixels a side, stored next to
  the original under a key derived from the original's content (`sha256/ab/<sha>.thumb480.webp`), so
  identical content shares one thumbnail, and the orphan sweep removes it with its original.
- **Served with the owner's access check.** Each image belongs to an object through a *slot*
  (`campaign-cover`, `organisation-logo`...); `/images/<slot>/<object>/<file>.<size>` loads the object
  through the permission helper, so images of confidential objects (a draft project, a campaign awaiting
  approval, an unpublished lab) are refused to outsiders. Images of objects anyone may see are served
  with a year-long, immutable cache header: their URL carries the content hash (`?v=`).
- **Shown lazily.** `image_tag(...)` (a template global) writes an `<img loading="lazy">` with its width,
  height and alt text, or a neutral placeholder with the object's initials when there is no image or its
  thumbnail is not ready yet. Lists eager-load the files (`lazy="selectin"` relationships), so a page of
  cards costs the same number of queries whatever the number of cards.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from PIL import Image, ImageOps
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.permissions import Permission, can, load

log = logging.getLogger(__name__)

# Refused before decoding: an image this large is a bomb or a scan nobody needs here (8000 x 5000).
MAX_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
THUMB_SIZE = 480
THUMB_SUFFIX = f".thumb{THUMB_SIZE}.webp"
# Public images carry their content hash in the URL, so a browser may keep them this long.
PUBLIC_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("images", __name__)


# ---- content checks --------------------------------------------------------------------------

def check_image(data: bytes, field: str) -> tuple[int, int]:
    """(width, height) of an image Pillow can open and verify; 400 naming `field` when the bytes are not
    an image, 413 when it has more than MAX_PIXELS pixels (a decompression bomb)."""
    from portal.uploads import PayloadTooLarge

    def too_large(width: int | None = None, height: int | None = None):
        message = (_("The image is too large: %(width)d × %(height)d pixels (at most %(mp)d million).",
                     width=width, height=height, mp=MAX_PIXELS // 1_000_000) if width
                   else _("The image is too large (at most %(mp)d million pixels).", mp=MAX_PIXELS // 1_000_000))
        return PayloadTooLarge(message, {field: [message]})

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise too_large(width, height)
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large() from None
    except PortalError:
        raise
    except Exception:  # UnidentifiedImageError, truncated or corrupt data, SyntaxError from plugins
        raise ValidationFailed.field(field, _("This file is not an image that can be read (PNG, JPEG, WebP or "
                                              "GIF).")) from None
    if width < 1 or height < 1:
        raise ValidationFailed.field(field, _("This image is empty."))
    return width, height


# ---- thumbnails ------------------------------------------------------------------------------

def thumbnail_key(storage_key: str) -> str:
    return f"{storage_key}{THUMB_SUFFIX}"


def render_thumbnail(data: bytes, size: int = THUMB_SIZE) -> tuple[bytes, int, int]:
    """A WebP of the image's first frame, turned upright (EXIF), at most `size` pixels a side."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale, much faster
        image = ImageOps.exif_transpose(image)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "WEBP", quality=82, method=4)
        return out.getvalue(), image.width, image.height


def make_thumbnail(stored_file_id: int) -> bool:
    """The job: read the original from the storage, write its thumbnail, note it on the row."""
    from portal.storage import ObjectMissing, get_storage
    from portal.uploads import StoredFile

    stored = db.session.get(StoredFile, stored_file_id)
    if stored is None or stored.thumb_key:
        return False
    storage = get_storage()
    try:
        data = storage.open(stored.storage_key).read()
    except ObjectMissing:
        log.error("thumbnail: stored file %s (%s) is missing", stored.id, stored.storage_key)
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        thumb, width, height = render_thumbnail(data)
    key = thumbnail_key(stored.storage_key)
    storage.put(key, thumb, "image/webp")
    stored.thumb_key, stored.thumb_width, stored.thumb_height = key, width, height
    if stored.width is None:
        with Image.open(io.BytesIO(data)) as image:
            stored.width, stored.height = image.size
    db.session.flush()
    return True


def enqueue_thumbnail(stored_file_id: int) -> None:
    from portal import jobs

    jobs.enqueue("portal.images.make_thumbnail", stored_file_id)


# ---- uploading them: one service for every logo, avatar and cover ---------------------------

ACCEPT = "image/png,image/jpeg,image/webp,image/gif"
FORMATS_HINT = _l("PNG, JPEG, WebP or GIF, at most 5 MB.")


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo"), description=FORMATS_HINT, render_kw={"accept": ACCEPT})


class AvatarForm(FlaskForm):
    avatar = FileField(_l("Photo"), description=FORMATS_HINT, render_kw={"accept": ACCEPT})


class GalleryForm(FlaskForm):
    image = FileField(_l("Gallery image"), description=FORMATS_HINT, render_kw={"accept": ACCEPT})
    caption = StringField(_l("Caption (optional)"), validators=[Optional(), Length(max=255)])


def set_image(obj, attribute: str, file, *, field: str, user, action: str):
    """Check and store an uploaded image (400/413 naming `field`), make it `obj.<attribute>` (an id column
    such as `logo_id`) and audit it; the thumbnail follows in a job after the commit."""
    from portal import audit
    from portal.uploads import IMAGES, store_upload

    stored = store_upload(file, field=field, kinds=IMAGES, max_bytes=MAX_IMAGE_BYTES,
                          uploaded_by_id=getattr(user, "id", None))
    before = getattr(obj, attribute)
    setattr(obj, attribute, stored.id)
    db.session.flush()
    db.session.expire(obj)  # the relationship (`logo`) follows the new id
    audit.record(action, obj, before={attribute: before}, after={attribute: stored.id})
    return stored


def clear_image(obj, attribute: str, *, action: str) -> None:
    from portal import audit

    before = getattr(obj, attribute)
    if before is None:
        return
    setattr(obj, attribute, None)
    db.session.flush()
    db.session.expire(obj)
    audit.record(action, obj, before={attribute: before}, after={attribute: None})


# ---- slots: which object an image belongs to ----------------------------------------------

@dataclass(frozen=True)
class Slot:
    model: type
    files: Callable[[Any], list]  # the object's StoredFile rows in this slot (None for an empty one)


def slots() -> dict[str, Slot]:
    from funding.models import Campaign
    from incubation.models import MentorProfile, Project
    from portal.organisations.models import Organisation
    from resources.models import Resource

    return {
        "campaign-cover": Slot(Campaign, lambda c: [c.media]),
        "campaign-gallery": Slot(Campaign, lambda c: [item.stored_file for item in c.gallery]),
        "project-logo": Slot(Project, lambda p: [p.logo]),
        "project-cover": Slot(Project, lambda p: [p.cover_image]),
        "organisation-logo": Slot(Organisation, lambda o: [o.logo]),
        "mentor-avatar": Slot(MentorProfile, lambda m: [m.avatar]),
        "resource-photo": Slot(Resource, lambda r: [photo.stored_file for photo in r.photos]),
    }


def image_url(slot: str, obj, stored, size: str = "thumb", **values) -> str:
    return url_for("images.serve", slot=slot, object_id=obj.id, file_id=stored.id, size=size,
                   v=stored.sha256[:16], **values)


@bp.get("/images/<slot>/<int:object_id>/<int:file_id>.<any(full, thumb):size>")
def serve(slot: str, object_id: int, file_id: int, size: str):
    from portal.uploads import send_stored

    entry = slots().get(slot)
    if entry is None:
        abort(404)
    obj = load(entry.model, object_id, Permission.VIEW)  # confidential objects: 401/403 for outsiders
    stored = next((f for f in entry.files(obj) if f is not None and f.id == file_id), None)
    if stored is None:
        abort(404)
    public = can(None, Permission.VIEW, obj) and request.args.get("v") == stored.sha256[:16]
    if size == "thumb" and stored.thumb_key:
        return send_stored(stored, as_attachment=False, key=stored.thumb_key, content_type="image/webp",
                           extension="webp", max_age=PUBLIC_MAX_AGE if public else None)
    return send_stored(stored, as_attachment=False, max_age=PUBLIC_MAX_AGE if public else None)


# ---- showing them ---------------------------------------------------------------------------

def initials(name: str | None) -> str:
    """'GreenBrew Labs' -> 'GL', '海尔卡奥斯' -> '海尔', '' -> '·'."""
    name = (name or "").strip()
    if not name:
        return "·"
    if unicodedata.east_asian_width(name[0]) in ("W", "F"):
        return "".join(ch for ch in name if not ch.isspace())[:2]
    words = [w for w in name.replace("-", " ").split() if w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or name[0].upper()


PLACEHOLDER_HUES = (210, 160, 32, 280, 340, 190, 120, 10)


def placeholder(name: str | None, alt: str, *, shape: str = "cover", cls: str = "") -> Markup:
    hue = PLACEHOLDER_HUES[sum(map(ord, name or "")) % len(PLACEHOLDER_HUES)]
    return Markup('<span class="img-placeholder img-{shape} {cls}" role="img" aria-label="{alt}" '
                  'style="--ph-hue: {hue}"><span aria-hidden="true">{initials}</span></span>').format(
        shape=shape, cls=cls, alt=alt, hue=hue, initials=initials(name))


@bp.app_template_global()
def image_tag(slot: str, obj, stored, *, alt: str, name: str | None = None, size: str = "thumb",
              shape: str = "cover", cls: str = "", eager: bool = False) -> Markup:
    """An <img> of `stored` (the thumbnail by default) or the placeholder when there is none yet."""
    if stored is None or (size == "thumb" and not stored.thumb_key):
        return placeholder(name if name is not None else alt, alt, shape=shape, cls=cls)
    if size == "thumb":
        width, height = stored.thumb_width, stored.thumb_height
    else:
        width, height = stored.width, stored.height
    dimensions = Markup(' width="{}" height="{}"').format(width, height) if width and height else ""
    return Markup('<img class="img-{shape} {cls}" src="{src}" alt="{alt}"{dimensions} loading="{loading}" '
                  'decoding="async">').format(shape=shape, cls=cls, src=image_url(slot, obj, stored, size),
                                              alt=alt, dimensions=dimensions, loading="eager" if eager else "lazy")


@bp.app_template_global()
def image_src(slot: str, obj, stored, size: str = "full") -> str:
    return image_url(slot, obj, stored, size)
