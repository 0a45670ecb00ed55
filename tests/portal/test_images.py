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


# ---- the other slots: cards, uploads, confidential objects ---------------------------------

def stored_image(name: str = "x.png", colour=(1, 2, 3), thumb: bool = True) -> StoredFile:
    stored = store_upload(upload(image_bytes(colour=colour), name), field="image", kinds=IMAGES)
    if thumb:
        make_thumbnail(stored.id)
    return stored


def img_tags(html: str, slot: str) -> list[str]:
    return re.findall(rf'<img[^>]*src="/images/{slot}/[^"]+"[^>]*>', html)


def test_cards_show_covers_logos_avatars_and_photos_lazily(client, db_session):
    from resources.models import ResourcePhoto
    from tests.funding.factories import CampaignFactory
    from tests.incubation.factories import MentorProfileFactory, ProjectFactory
    from tests.resources.factories import ResourceFactory

    campaign = CampaignFactory(title="Quiet kettle")
    campaign.media_id = stored_image(colour=(9, 9, 9)).id
    project = ProjectFactory(title="Compost box")
    project.cover_image_id, project.logo_id = stored_image(colour=(8, 8, 8)).id, stored_image(colour=(7, 7, 7)).id
    mentor = MentorProfileFactory()
    mentor.avatar_id = stored_image(colour=(6, 6, 6)).id
    resource = ResourceFactory(name="CNC lab")
    resource.photos.append(ResourcePhoto(stored_file_id=stored_image(colour=(5, 5, 5)).id, caption="The CNC lab"))
    db_session.flush()
    pages = {"/campaigns/": "campaign-cover", "/projects/": "project-cover", "/mentors/": "mentor-avatar",
             "/resources/": "resource-photo", "/": "campaign-cover"}
    for path, slot in pages.items():
        tags = img_tags(client.get(path).get_data(as_text=True), slot)
        assert tags, (path, slot)
        assert all('loading="lazy"' in t and 'alt="' in t and 'alt=""' not in t and 'width="' in t for t in tags)
    assert img_tags(client.get("/projects/").get_data(as_text=True), "project-logo")
    assert 'alt="The CNC lab"' in client.get("/resources/").get_data(as_text=True)
    assert 'alt="Cover image of Quiet kettle"' in client.get("/campaigns/").get_data(as_text=True)


def test_campaign_list_queries_do_not_grow_with_the_cards(client, db_session):
    from tests.funding.factories import CampaignFactory

    def statements_for(count: int) -> int:
        for index in range(count):
            campaign = CampaignFactory(title=f"Counted {count}-{index}")
            campaign.media_id = stored_image(colour=(count, index, 1)).id
        db_session.flush()
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        client.get("/campaigns/")
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            html = client.get("/campaigns/").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert len(img_tags(html, "campaign-cover")) >= count
        return len(seen)

    few, many = statements_for(3), statements_for(12)
    assert many == few, (few, many)


def test_images_of_confidential_objects_are_refused_to_outsiders(client, login, factories, db_session):
    from funding.models import CampaignStatus
    from incubation.models import ProjectStatus
    from tests.funding.factories import CampaignFactory
    from tests.incubation.factories import ProjectFactory

    founder = factories.UserFactory()
    startup = factories.OrganisationFactory(owner=founder)
    draft = ProjectFactory(organisation=startup, status=ProjectStatus.DRAFT, title="Secret gadget")
    draft.logo_id = stored_image(colour=(40, 1, 1)).id
    pending = CampaignFactory(project=ProjectFactory(organisation=startup), status=CampaignStatus.SUBMITTED)
    pending.media_id = stored_image(colour=(41, 1, 1)).id
    db_session.flush()
    urls = [f"/images/project-logo/{draft.id}/{draft.logo_id}.thumb?v={draft.logo.sha256[:16]}",
            f"/images/campaign-cover/{pending.id}/{pending.media_id}.full?v={pending.media.sha256[:16]}"]
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/auth/login" in anonymous.location  # to the login page
    login(factories.UserFactory())
    for url in urls:
        assert client.get(url).status_code == 403  # signed in, not on the team
    client.post("/auth/logout")
    login(founder)
    for url in urls:
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["Cache-Control"] == "no-store"  # confidential: never cached
    # An image of another object through this one's URL is not found.
    assert client.get(f"/images/project-logo/{draft.id}/{pending.media_id}.full").status_code == 404


def test_mentor_uploads_an_avatar_shown_on_the_list(client, login, db_session):
    from tests.incubation.factories import MentorProfileFactory

    profile = MentorProfileFactory()
    login(profile.user)
    response = client.post("/mentors/me/avatar", data={"avatar": (io.BytesIO(image_bytes("JPEG")), "me.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    html = client.get("/mentors/").get_data(as_text=True)
    assert any(f'alt="Photo of {profile.user.name}"' in tag for tag in img_tags(html, "mentor-avatar"))
    refused = client.post("/mentors/me/avatar", data={"avatar": (io.BytesIO(b"%PDF-1.4 not a photo"), "me.png")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "Photo:" in refused.get_data(as_text=True)


def test_project_logo_and_campaign_gallery_uploads(client, login, factories, db_session):
    from tests.funding.factories import CampaignFactory
    from tests.incubation.factories import ProjectFactory

    founder = factories.UserFactory()
    project = ProjectFactory(organisation=factories.OrganisationFactory(owner=founder), title="Team kettle")
    campaign = CampaignFactory(project=project, title="Team kettle campaign")
    login(founder)
    assert client.post(f"/projects/{project.id}/logo", data={"logo": (io.BytesIO(image_bytes("WEBP")), "l.webp")},
                       content_type="multipart/form-data").status_code == 302
    assert img_tags(client.get("/projects/").get_data(as_text=True), "project-logo")
    for index in range(2):
        assert client.post(f"/campaigns/{campaign.id}/gallery",
                           data={"image": (io.BytesIO(image_bytes(colour=(index, 50, 50))), "g.png"),
                                 "caption": f"Side view {index}"},
                           content_type="multipart/form-data").status_code == 302
    html = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert len(img_tags(html, "campaign-gallery")) == 2 and 'alt="Side view 1"' in html
    too_big = client.post(f"/campaigns/{campaign.id}/gallery",
                          data={"image": (io.BytesIO(png_header_only(9000, 9000)), "bomb.png")},
                          content_type="multipart/form-data")
    assert too_big.status_code == 413 and "Gallery image:" in too_big.get_data(as_text=True)
    db.session.expire_all()
    first = campaign.gallery[0]
    assert client.post(f"/campaigns/{campaign.id}/gallery/{first.id}/remove").status_code == 302
    assert len(img_tags(client.get(f"/campaigns/{campaign.id}").get_data(as_text=True), "campaign-gallery")) == 1


def test_demo_data_has_images_with_thumbnails(app, db_session):
    from funding.models import Campaign
    from incubation.models import MentorProfile, Project
    from portal.demo import seed_demo
    from portal.organisations.models import Organisation
    from resources.models import Resource

    seed_demo()
    db_session.flush()
    for organisation in db.session.query(Organisation):
        assert organisation.logo is not None and organisation.logo.thumb_key
    for profile in db.session.query(MentorProfile):
        assert profile.avatar is not None and profile.avatar.thumb_key
    for project in db.session.query(Project):
        assert project.cover_image is not None and project.logo is not None
    for campaign in db.session.query(Campaign):
        assert campaign.media is not None and len(campaign.gallery) == 3
    for resource in db.session.query(Resource):
        assert resource.photos and resource.photos[0].stored_file.thumb_key
    some = db.session.query(Organisation).first().logo
    assert get_storage().exists(some.storage_key) and get_storage().exists(some.thumb_key)


def test_the_sweep_deletes_a_thumbnail_with_its_orphaned_original(tmp_path):
    """On an app of its own whose commits are real: the sweep reads the rows on a connection of its own."""
    from portal.uploads import sweep_orphans
    from tests.conftest import make_test_app

    own = make_test_app(f"sqlite:///{tmp_path / 'sweep.sqlite3'}", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with own.app_context():
        db.create_all()
        kept = stored_image("kept.png", colour=(70, 1, 1))
        gone = stored_image("gone.png", colour=(71, 1, 1))
        db.session.commit()
        kept_keys, gone_keys = (kept.storage_key, kept.thumb_key), (gone.storage_key, gone.thumb_key)
        db.session.delete(gone)
        db.session.commit()
        result = sweep_orphans(grace_seconds=0)
        storage = get_storage()
        assert result.deleted == 2
        assert not any(storage.exists(key) for key in gone_keys)
        assert all(storage.exists(key) for key in kept_keys)
        db.session.remove()
        db.engine.dispose()
