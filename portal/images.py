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
        image.save(out, "WEBP", quality=82, method=3)
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


def replace_from_form(obj, attribute: str, *, field: str, label: str, action: str, saved: str, removed: str):
    """For an upload form of one image (`field` is the file input's name; a `remove` button clears it): store
    or clear, and say so. A refusal propagates (400/413; the error page names the field) and the request rolls
    back."""
    from flask import flash
    from flask_login import current_user

    if request.form.get("remove"):
        clear_image(obj, attribute, action=action.replace("_set", "_removed"))
        flash(removed, "success")
        return None
    try:
        stored = set_image(obj, attribute, request.files.get(field), field=field, user=current_user, action=action)
    except PortalError as error:
        error.message = _("%(field)s: %(message)s", field=label, message=error.message)
        raise
    flash(saved, "success")
    return stored


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


# ---- demo pictures ---------------------------------------------------------------------------

# Pleasant colour pairs (start, end of the gradient) for generated pictures.
DEMO_PALETTES = (
    ((11, 92, 173), (94, 176, 239)), ((13, 110, 96), (122, 204, 170)), ((191, 90, 36), (255, 196, 112)),
    ((96, 58, 160), (190, 150, 240)), ((170, 44, 82), (250, 150, 160)), ((38, 70, 83), (42, 157, 143)),
    ((120, 94, 24), (233, 196, 106)), ((52, 58, 64), (134, 142, 150)),
)


def latin_initials(name: str) -> str:
    """Initials from the Latin words of a bilingual name ('净风科技 AirCare Tech' -> 'AT'): the built-in
    font of Pillow has no Chinese glyphs."""
    words = [w for w in (name or "").replace("-", " ").split() if w[:1].isascii() and w[:1].isalnum()]
    return "".join(w[0].upper() for w in words[:2])


def demo_picture(name: str, *, size: tuple[int, int] = (800, 450), fmt: str = "JPEG", motif: int = 0) -> bytes:
    """A simple picture for demo data: a diagonal gradient, a few soft shapes and the name's initials."""
    import hashlib

    from PIL import ImageDraw, ImageFilter, ImageFont

    digest = hashlib.sha256(f"{name}/{motif}".encode()).digest()
    start, end = DEMO_PALETTES[digest[0] % len(DEMO_PALETTES)]
    width, height = size
    vertical = Image.linear_gradient("L")
    mask = Image.blend(vertical.rotate(90), vertical, 0.5)  # diagonal, no empty corners
    if digest[1] % 2:
        mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mask = mask.resize(size)
    picture = Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)
    small = (max(1, width // 4), max(1, height // 4))  # soft shapes drawn small, blurred, then enlarged: cheap
    shapes = Image.new("RGBA", small, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for index in range(4):
        radius = int(min(small) * (0.18 + digest[2 + index] / 255 * 0.35))
        x, y = digest[6 + index] / 255 * small[0], digest[10 + index] / 255 * small[1]
        alpha = 25 + digest[14 + index] % 35
        if (digest[18] + index) % 3 == 0:
            draw.rounded_rectangle((x - radius, y - radius * 0.6, x + radius, y + radius * 0.6), radius // 4,
                                   fill=(255, 255, 255, alpha))
        else:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, alpha))
    shapes = shapes.filter(ImageFilter.GaussianBlur(1.5)).resize(size, Image.Resampling.BILINEAR)
    picture = Image.alpha_composite(picture.convert("RGBA"), shapes)
    text = latin_initials(name)
    if text:
        font = ImageFont.load_default(size=int(min(size) * (0.42 if width == height else 0.3)))
        draw = ImageDraw.Draw(picture)
        draw.text((width / 2 + 2, height / 2 + 3), text, font=font, anchor="mm", fill=(0, 0, 0, 40))
        draw.text((width / 2, height / 2), text, font=font, anchor="mm", fill=(255, 255, 255, 235))
    out = io.BytesIO()
    picture.convert("RGB").save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def store_demo_picture(name: str, *, size: tuple[int, int] = (640, 360), motif: int = 0, filename: str = "demo"):
    """Generate, check and store a demo picture through the file storage, with its thumbnail made now."""
    from werkzeug.datastructures import FileStorage

    from portal.uploads import IMAGES, store_upload

    square = size[0] == size[1]
    data = demo_picture(name, size=size, fmt="PNG" if square else "JPEG", motif=motif)
    stored = store_upload(FileStorage(io.BytesIO(data), filename=f"{filename}.{'png' if square else 'jpg'}"),
                          field="image", kinds=IMAGES)
    make_thumbnail(stored.id)  # ready at once (the job queued by the upload then finds nothing to do)
    return stored


def seed_demo_images(progress=lambda label: None) -> int:
    """Logos, avatars, covers, a campaign gallery and lab photos for the demo objects that have none."""
    from sqlalchemy import select

    from funding.models import Campaign, CampaignImage
    from incubation.models import MentorProfile, Project
    from portal.organisations.models import Organisation
    from resources.models import Resource, ResourcePhoto

    progress("images")
    made = 0
    for organisation in db.session.scalars(select(Organisation).where(Organisation.logo_id.is_(None))):
        organisation.logo = store_demo_picture(organisation.name, size=(256, 256), filename="logo")
        made += 1
    for project in db.session.scalars(select(Project)):
        if project.cover_image_id is None:
            project.cover_image = store_demo_picture(project.title, filename="cover")
            made += 1
        if project.logo_id is None:
            project.logo = store_demo_picture(project.title, size=(256, 256), motif=1, filename="logo")
            made += 1
    for profile in db.session.scalars(select(MentorProfile).where(MentorProfile.avatar_id.is_(None))):
        profile.avatar = store_demo_picture(profile.user.name, size=(256, 256), motif=2, filename="avatar")
        made += 1
    for campaign in db.session.scalars(select(Campaign)):
        if campaign.media_id is None:
            campaign.media = store_demo_picture(campaign.title, motif=3, filename="cover")
            made += 1
        if not campaign.gallery:
            for motif in (4, 5, 6):
                stored = store_demo_picture(campaign.title, motif=motif, filename="gallery")
                campaign.gallery.append(CampaignImage(stored_file=stored, caption=""))
                made += 1
    for resource in db.session.scalars(select(Resource)):
        if not resource.photos:
            stored = store_demo_picture(resource.name, size=(640, 480), motif=7, filename="photo")
            resource.photos.append(ResourcePhoto(stored_file=stored, caption=""))
            made += 1
    db.session.flush()
    return made
