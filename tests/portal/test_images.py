"""Images (issue 12, point 4): checked by content, thumbnails made in a job, shown lazily with alt text
and a placeholder, confidential ones refused to outsiders, lists constant in queries."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import event
from werkzeug.datastructures import FileStorage

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.images import MAX_PIXELS, THUMB_SIZE, initials, make_thumbnail
from portal.storage import get_storage
from portal.uploads import IMAGES, PayloadTooLarge, StoredFile, store_upload


def image_bytes(fmt: str = "PNG", size=(640, 360), colour=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels in a few bytes: what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


# ---- content checks ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_real_images_are_accepted_with_their_size(app, db_session, fmt):
    stored = store_upload(upload(image_bytes(fmt), f"picture.{fmt.lower()}"), field="logo", kinds=IMAGES)
    assert (stored.width, stored.height) == (640, 360)
    assert stored.kind == {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[fmt]


def test_a_text_file_renamed_png_is_refused_naming_the_field(app, db_session):
    with pytest.raises(ValidationFailed) as refused:
        store_upload(upload(b"hello, I am not a picture\n" * 10, "logo.png"), field="logo", kinds=IMAGES)
    assert "logo" in refused.value.fields


def test_a_png_signature_over_garbage_is_refused(app, db_session):
    with pytest.raises(ValidationFailed) as refused:
        store_upload(upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fake.png"), field="avatar", kinds=IMAGES)
    assert "avatar" in refused.value.fields
    assert db.session.query(StoredFile).count() == 0


def test_a_decompression_bomb_is_refused_with_413(app, db_session):
    side = int(MAX_PIXELS ** 0.5) + 100
    with pytest.raises(PayloadTooLarge) as refused:
        store_upload(upload(png_header_only(side, side), "bomb.png"), field="logo", kinds=IMAGES)
    assert refused.value.status == 413 and "logo" in refused.value.fields
    assert "pixels" in refused.value.message


def test_an_oversized_file_is_refused_with_413(app, db_session):
    with pytest.raises(PayloadTooLarge):
        store_upload(upload(image_bytes(), "big.png"), field="logo", kinds=IMAGES, max_bytes=100)


# ---- thumbnails -----------------------------------------------------------------------------

def test_the_thumbnail_job_writes_a_small_webp_to_storage(app, db_session):
    stored = store_upload(upload(image_bytes("JPEG", (2000, 1000)), "wide.jpg"), field="logo", kinds=IMAGES)
    assert stored.thumb_key is None  # the job runs after the commit
    assert make_thumbnail(stored.id)
    data = get_storage().open(stored.thumb_key).read()
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (THUMB_SIZE, THUMB_SIZE // 2)
    assert (stored.thumb_width, stored.thumb_height) == (THUMB_SIZE, THUMB_SIZE // 2)
    assert not make_thumbnail(stored.id)  # done once


def test_the_thumbnail_is_kept_by_the_sweep_while_its_original_has_a_row(app, db_session):
    from portal.uploads import THUMB_KEY, UPLOAD_KEY

    stored = store_upload(upload(image_bytes(), "a.png"), field="logo", kinds=IMAGES)
    make_thumbnail(stored.id)
    assert UPLOAD_KEY.fullmatch(stored.thumb_key) and THUMB_KEY.fullmatch(stored.thumb_key)[1] == stored.storage_key


def test_initials():
    assert initials("GreenBrew Labs") == "GL"
    assert initials("海尔卡奥斯 COSMOPlat") == "海尔"
    assert initials("") == "·"


# ---- organisation logo: upload, cards, placeholder, caching --------------------------------

@pytest.fixture
def owned_org(factories):
    owner = factories.UserFactory()
    organisation = factories.OrganisationFactory(name="Lotus Robotics", owner=owner)
    return owner, organisation


def test_owner_uploads_a_logo_and_the_list_shows_it_lazily(client, login, owned_org):
    owner, organisation = owned_org
    login(owner)
    response = client.post(f"/organisations/{organisation.id}/logo",
                           data={"logo": (io.BytesIO(image_bytes()), "logo.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert organisation.logo is not None and organisation.logo.thumb_key  # the job ran after the commit
    html = client.get("/organisations/").get_data(as_text=True)
    img = re.search(rf'<img[^>]*src="(/images/organisation-logo/{organisation.id}/[^"]+)"[^>]*>', html)
    assert img, html
    tag = img.group(0)
    assert 'loading="lazy"' in tag and 'alt="Logo of Lotus Robotics"' in tag
    assert 'width="' in tag and 'height="' in tag
    served = client.get(img.group(1).replace("&amp;", "&"))
    assert served.status_code == 200 and served.mimetype == "image/webp"
    # A public object under a URL naming its content: kept by the browser (privately: this user is signed in).
    assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"


def test_a_text_file_as_logo_is_a_400_naming_the_field(client, login, owned_org):
    owner, organisation = owned_org
    login(owner)
    for data in (b"just text", b"\x89PNG\r\n\x1a\n" + b"text behind a PNG signature"):
        response = client.post(f"/organisations/{organisation.id}/logo", data={"logo": (io.BytesIO(data), "logo.png")},
                               content_type="multipart/form-data")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "not accepted here" in html or "not an image" in html
        assert re.search(r'id="logo"[^>]*>\s*<div class="form-text">[^<]*</div>\s*<div class="invalid-feedback', html) \
            or 'is-invalid' in html


def test_a_bomb_as_logo_is_a_413(client, login, owned_org):
    owner, organisation = owned_org
    login(owner)
    side = int(MAX_PIXELS ** 0.5) + 100
    response = client.post(f"/organisations/{organisation.id}/logo",
                           data={"logo": (io.BytesIO(png_header_only(side, side)), "logo.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_only_owners_upload_logos(client, login, owned_org, factories):
    _owner, organisation = owned_org
    login(factories.UserFactory())
    response = client.post(f"/organisations/{organisation.id}/logo",
                           data={"logo": (io.BytesIO(image_bytes()), "logo.png")}, content_type="multipart/form-data")
    assert response.status_code == 403


def test_placeholder_with_initials_when_there_is_no_logo(client, owned_org):
    html = client.get("/organisations/").get_data(as_text=True)
    match = re.search(r'<span class="img-placeholder img-logo[^"]*" role="img" aria-label="Logo of Lotus Robotics"'
                      r'[^>]*><span aria-hidden="true">LR</span>', html)
    assert match, html


def test_placeholder_while_the_thumbnail_is_not_ready(client, owned_org, db_session):
    _owner, organisation = owned_org
    stored = store_upload(upload(image_bytes(), "l.png"), field="logo", kinds=IMAGES)
    organisation.logo_id = stored.id
    from portal import jobs

    jobs.discard_pending()  # the job has not run yet
    html = client.get("/organisations/").get_data(as_text=True)
    assert "/images/organisation-logo/" not in html and 'aria-label="Logo of Lotus Robotics"' in html


def test_organisation_list_queries_do_not_grow_with_the_cards(client, factories, db_session):
    def statements_for(count: int) -> int:
        for index in range(count):
            organisation = factories.OrganisationFactory(name=f"Logo org {count}-{index}")
            organisation.logo_id = store_upload(upload(image_bytes(colour=(index, count, 9)), "l.png"),
                                                field="logo", kinds=IMAGES).id
        db_session.flush()
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        client.get("/")  # warm-up: first-request work is not the list's
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            html = client.get("/organisations/").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert html.count("/images/organisation-logo/") >= count
        return len(seen)

    few = statements_for(3)
    many = statements_for(12)
    assert many == few, (few, many)
