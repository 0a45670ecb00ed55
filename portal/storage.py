"""Where uploaded files live: one small interface, two backends (as Warehouse's `IFileStorage`).

`STORAGE_URL` chooses the backend, once per app (kept in `app.extensions`, created on first use):

- unset, or `file:///absolute/path`: `LocalStorage`, a folder on this host (by default
  `UPLOAD_FOLDER`, itself by default the instance folder's `uploads/`). Fine for one host.
- `s3://BUCKET[/prefix]`: `S3Storage`, any S3-compatible store (AWS S3, SeaweedFS, MinIO, Ceph, R2)
  through boto3. Credentials, endpoint and region come from boto3's own variables and files
  (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3`...), never
  from the portal's settings; with a custom endpoint, path-style addressing is used.

Keys are chosen by the caller (`portal.uploads` names objects by the sha256 of their content, so an
object never changes once written). Objects are read back only through `open`, which streams: the
bucket stays private, and every download goes through the portal's access check.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

log = logging.getLogger(__name__)

EXTENSION_KEY = "portal.storage"
CHUNK_SIZE = 64 * 1024
TEMP_PREFIX = ".tmp-"


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation (network, permissions, full disk)."""


class ObjectMissing(StorageError):
    """No object under that key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime  # timezone-aware, UTC


class OpenedObject:
    """An object being read: its size and its bytes in chunks. Close it (a response does, on close)."""

    def __init__(self, size: int, chunks: Iterator[bytes], close=None):
        self.size = size
        self._chunks = chunks
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read(self) -> bytes:
        try:
            return b"".join(self._chunks)
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()


class Storage(ABC):
    """The file storage interface: what the portal needs from a store, nothing more."""

    kind: str

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write `data` under `key` (replacing any object there, which refreshes its last-modified time)."""

    @abstractmethod
    def open(self, key: str) -> OpenedObject:
        """The object's bytes, streamed; `ObjectMissing` when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def stat(self, key: str) -> StoredObject | None:
        """Size and last-modified time of one object, or None."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""

    @abstractmethod
    def iterate(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object (with its last-modified time) whose key starts with `prefix`, for the sweep."""

    @abstractmethod
    def check(self) -> None:
        """Cheap readiness probe: raise when the store cannot be used."""

    @abstractmethod
    def describe(self) -> str:
        """Where the objects live, for logs and the CLI (never a secret)."""


class LocalStorage(Storage):
    """Objects as files under one folder (keys may contain `/`: sub-folders)."""

    kind = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or part.startswith(TEMP_PREFIX) for part in parts) \
                or "\\" in key or "\x00" in key:
            raise ValueError(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write next to the target, then rename: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(f"cannot write {key}: {error.strerror or error}") from error

    def open(self, key: str) -> OpenedObject:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        except OSError as error:
            raise StorageError(f"cannot read {key}: {error.strerror or error}") from error
        size = os.fstat(handle.fileno()).st_size
        return OpenedObject(size, iter(lambda: handle.read(CHUNK_SIZE), b""), handle.close)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stat(self, key: str) -> StoredObject | None:
        try:
            info = self._path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Drop the sub-folders left empty (sha256/ab/), never the root itself.
        parent = path.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def iterate(self, prefix: str = "") -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue  # being written (or left by a crash: remove_stale_temporaries)
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                yield StoredObject(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    def remove_stale_temporaries(self, older_than: float) -> int:
        """Half-written files of a crashed process (`.tmp-*`) older than `older_than` seconds."""
        removed, limit = 0, time.time() - older_than
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                if name.startswith(TEMP_PREFIX):
                    try:
                        if path.stat().st_mtime < limit:
                            path.unlink()
                            removed += 1
                    except FileNotFoundError:
                        pass
        return removed

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"{self.root} is not writable")

    def describe(self) -> str:
        return f"local folder {self.root}"


class S3Storage(Storage):
    """Objects in one bucket of an S3-compatible store, under an optional key prefix."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client
        self._probe_client = client

    @property
    def client(self):
        if self._client is None:
            self._client = make_s3_client()
        return self._client

    @property
    def probe_client(self):
        """For the readiness probe: one attempt, short timeouts (a balancer waits a few seconds at most)."""
        if self._probe_client is None:
            self._probe_client = make_s3_client(timeout=1, attempts=1)
        return self._probe_client

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key

    @staticmethod
    def _is_missing(error) -> bool:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in ("404", "NoSuchKey", "NotFound") or status == 404

    def _call(self, what: str, key: str, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            if self._is_missing(error):
                raise ObjectMissing(key) from None
            raise StorageError(f"S3 {what} {key}: {error.response.get('Error', {}).get('Code')}") from error
        except BotoCoreError as error:
            raise StorageError(f"S3 {what} {key}: {error}") from error

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call("put", key, self.client.put_object, Key=self._key(key), Body=data, ContentType=content_type,
                   ContentLength=len(data))

    def open(self, key: str) -> OpenedObject:
        answer = self._call("get", key, self.client.get_object, Key=self._key(key))
        body = answer["Body"]
        return OpenedObject(int(answer["ContentLength"]), body.iter_chunks(CHUNK_SIZE), body.close)

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def stat(self, key: str) -> StoredObject | None:
        try:
            answer = self._call("head", key, self.client.head_object, Key=self._key(key))
        except ObjectMissing:
            return None
        return StoredObject(key, int(answer["ContentLength"]), answer["LastModified"].astimezone(UTC))

    def delete(self, key: str) -> None:
        try:
            self._call("delete", key, self.client.delete_object, Key=self._key(key))
        except ObjectMissing:
            pass

    def iterate(self, prefix: str = "") -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self.prefix):]
                    if key and not key.endswith("/"):
                        yield StoredObject(key, int(item["Size"]), item["LastModified"].astimezone(UTC))
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"S3 list s3://{self.bucket}/{self.prefix}: {error}") from error

    def check(self) -> None:
        try:
            self._call("head bucket", self.bucket, self.probe_client.head_bucket)
        except ObjectMissing:
            raise StorageError(f"bucket {self.bucket} not found") from None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def make_s3_client(*, timeout: int = 30, attempts: int = 3):
    """A boto3 S3 client configured by boto3's own environment variables and files, with bounded timeouts
    (a download must not hang) and path-style addressing for custom endpoints (SeaweedFS, MinIO...)."""
    import boto3
    from botocore.config import Config

    custom_endpoint = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    config = Config(connect_timeout=min(3, timeout), read_timeout=timeout,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    s3={"addressing_style": "path"} if custom_endpoint else None)
    return boto3.session.Session().client("s3", config=config)


def parse_storage_url(url: str | None) -> tuple[str, str, str]:
    """`(kind, location, prefix)` for a STORAGE_URL; ValueError with the reason when it cannot work."""
    if not url:
        return "local", "", ""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError("a file URL needs an absolute path, e.g. file:///var/lib/portal/uploads")
        return "local", parts.path, ""
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not 3 <= len(bucket) <= 63 or not all(c.islower() or c.isdigit() or c in ".-" for c in bucket):
            raise ValueError("an s3 URL needs a bucket name of 3-63 lower-case letters, digits, '.' or '-', "
                             "e.g. s3://portal-uploads/prefix")
        if parts.query or parts.fragment or "@" in url:
            raise ValueError("an s3 URL takes no credentials or options: boto3 reads them from AWS_* variables")
        return "s3", bucket, parts.path.strip("/")
    raise ValueError(f"the scheme must be file:// or s3://, got {parts.scheme!r}")


def storage_for(config, instance_path: str) -> Storage:
    kind, location, prefix = parse_storage_url(config.get("STORAGE_URL"))
    if kind == "s3":
        return S3Storage(location, prefix)
    return LocalStorage(location or config.get("UPLOAD_FOLDER") or os.path.join(instance_path, "uploads"))


def get_storage(app=None) -> Storage:
    """This app's store, created on first use and kept for the app's life (one S3 client per app)."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get(EXTENSION_KEY)
    if storage is None:
        storage = app.extensions[EXTENSION_KEY] = storage_for(app.config, app.instance_path)
        log.info("file storage: %s", storage.describe())
    return storage
