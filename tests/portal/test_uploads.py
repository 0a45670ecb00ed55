import io

import pytest
from werkzeug.datastructures import FileStorage

from portal.errors import ValidationFailed
from portal.uploads import IMAGES, PayloadTooLarge, StoredFile, send_stored, store_upload, upload_folder

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_files_are_typed_by_content_and_stored_under_a_random_name(app, db_session):
    stored = store_upload(upload(PDF, "../../etc/pitch deck.pdf"))
    assert stored.kind == "pdf" and stored.content_type == "application/pdf" and stored.size == len(PDF)
    assert stored.original_name == "pitch deck.pdf"
    path = upload_folder() / stored.storage_key
    assert path.read_bytes() == PDF and "pitch" not in stored.storage_key
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
