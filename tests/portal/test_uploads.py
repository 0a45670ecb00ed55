import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from portal.errors import ValidationFailed
from portal.uploads import (
    IMAGES,
    PayloadTooLarge,
    StoredFile,
    download_name,
    send_stored,
    store_upload,
    upload_folder,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
       b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_files_are_typed_by_content_and_stored_under_their_content_hash(app, db_session):
    stored = store_upload(upload(PDF, "../../etc/pitch deck.pdf"))
    assert stored.kind == "pdf" and stored.content_type == "application/pdf" and stored.size == len(PDF)
    assert stored.original_name == "pitch deck.pdf"
    path = upload_folder() / stored.storage_key
    assert path.read_bytes() == PDF and "pitch" not in stored.storage_key
    assert stored.storage_key == f"sha256/{stored.sha256[:2]}/{stored.sha256}"
    assert not str(path).startswith(app.static_folder)


def test_a_renamed_file_is_refused(app, db_session):
    with pytest.raises(ValidationFailed) as error:
        store_upload(upload(b"MZ\x90\x00 not really a pdf", "deck.pdf"), field="deck")
    assert "deck" in error.value.fields
    with pytest.raises(ValidationFailed):
        store_upload(upload(PDF, "photo.png"), kinds=IMAGES)


def test_size_limit_and_empty_files(app, db_session):
    with pytest.raises(PayloadTooLarge) as error:
        store_upload(upload(PNG + b"\x00" * 2048, "big.png"), kinds=IMAGES, max_bytes=1024)
    assert error.value.status == 413
    with pytest.raises(ValidationFailed):
        store_upload(upload(b"", "empty.pdf"))
    assert db_session.query(StoredFile).filter_by(original_name="big.png").count() == 0


def test_served_as_private_downloads(app, db_session):
    stored = store_upload(upload(PNG, "photo.png"), kinds=IMAGES)
    with app.test_request_context():
        response = send_stored(stored)
        response.direct_passthrough = False
        assert response.mimetype == "image/png"
        assert "no-store" in response.headers["Cache-Control"]
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.get_data() == PNG


def test_a_row_without_its_file_is_a_404_not_a_500(app, db_session):
    from werkzeug.exceptions import NotFound

    stored = store_upload(upload(PNG, "photo.png"), kinds=IMAGES)
    (upload_folder() / stored.storage_key).unlink()
    with app.test_request_context(), pytest.raises(NotFound):
        send_stored(stored)


def disposition_of(app, stored, **kwargs) -> str:
    with app.test_request_context():
        response = send_stored(stored, **kwargs)
        response.close()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        return response.headers["Content-Disposition"]


def test_a_download_is_named_with_the_extension_of_its_detected_type(app, db_session):
    stored = store_upload(upload(PDF, "plan.exe"))
    assert download_name(stored) == "plan.pdf"
    assert disposition_of(app, stored) == "attachment; filename=\"plan.pdf\"; filename*=UTF-8''plan.pdf"
    assert download_name(store_upload(upload(PDF, "plan.pdf.html"))) == "plan.pdf.pdf"
    assert download_name(store_upload(upload(PNG, "photo"), kinds=IMAGES)) == "photo.png"
    assert download_name(store_upload(upload(PNG, ".htaccess"), kinds=IMAGES)) == "htaccess.png"


def test_extensions_of_the_same_container_are_kept(app, db_session):
    zipped = b"PK\x03\x04" + b"\x00" * 40
    assert download_name(store_upload(upload(zipped, "Budget.XLSX"))) == "Budget.xlsx"
    assert download_name(store_upload(upload(zipped, "tool.jar"))) == "tool.zip"
    jpeg = io.BytesIO()
    Image.new("RGB", (2, 2)).save(jpeg, "JPEG")  # images are opened by Pillow: a real one
    assert download_name(store_upload(upload(jpeg.getvalue(), "me.jpeg"), kinds=IMAGES)) == "me.jpeg"


def test_non_ascii_and_hostile_names_give_a_safe_header(app, db_session):
    chinese = store_upload(upload(PDF, "商业计划书.exe"))
    header = disposition_of(app, chinese)
    assert header == ("attachment; filename=\"download.pdf\"; "
                      "filename*=UTF-8''%E5%95%86%E4%B8%9A%E8%AE%A1%E5%88%92%E4%B9%A6.pdf")
    hostile = store_upload(upload(PDF, 'a"b;\r\nSet-Cookie: x=1\\..\\evil.pdf'))
    name = download_name(hostile)
    assert name == "evil.pdf"
    mixed = store_upload(upload(PNG, 'Plan "v2"\t; final.png'), kinds=IMAGES)
    header = disposition_of(app, mixed, as_attachment=False)
    assert header.startswith("inline; filename=\"Plan v2 final.png\"; filename*=UTF-8''")
    assert "\r" not in header and "\n" not in header
