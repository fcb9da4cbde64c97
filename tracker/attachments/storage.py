"""Where attachments' bytes live: a small store interface, a folder on local disk, or an S3-compatible bucket.

Both stream in chunks both ways (an upload is copied from its spooled file, a download is read a chunk at a time),
so a 25 MB file never sits in a worker's memory. Keys are random names chosen by the service, never derived from
an uploaded file's name. No Flask here: `store_from_url` builds a store from the configured URL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from ..errors import Unavailable

log = logging.getLogger(__name__)
CHUNK = 1 << 16  # 64 KiB a read or write
# S3: multipart parts of 5 MiB (S3's smallest), one at a time, so an upload holds at most one part in memory.
S3_PART = 5 * 1024 * 1024
PARTIAL = ".part-"  # a local file still being written; a crash leaves it for the sweep


class MissingObject(Exception):
    """The store has no object under this key."""


class StoreUnavailable(Unavailable):
    """The store refused or could not be reached (a bucket gone, credentials refused, the endpoint down, a full or
    read-only disk): a 503 saying so, never a 500; the request's database work is rolled back."""


SAVE_FAILED = "The file store could not keep the file just now; nothing was saved. Try again in a minute."
READ_FAILED = "The file store cannot be reached just now. Try again in a minute."


def _unavailable(message: str, exc: BaseException) -> StoreUnavailable:
    """The error to raise for a store that failed with `exc` (logged for whoever runs the store)."""
    log.error("Attachment store failed (%s): %s", type(exc).__name__, (str(exc).splitlines() or [""])[0][:300])
    return StoreUnavailable(message)


@contextlib.contextmanager
def _saving() -> Iterator[None]:
    """The disk's errors while writing an object (full, read-only, not a folder) as StoreUnavailable."""
    try:
        yield
    except OSError as exc:
        raise _unavailable(SAVE_FAILED, exc) from exc


class Store(Protocol):
    """What the attachments service needs from a store."""

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store `source` (a stream at its start) under `key`, read in chunks; the object appears whole or not at
        all."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time; MissingObject if there is none (raised before the first chunk)."""

    def delete(self, keys: Iterable[str]) -> None:
        """Remove these objects (a missing one is no error)."""

    def objects(self) -> Iterator[tuple[str, datetime]]:
        """Every object's key and when it was last written (naive UTC), in no particular order."""

    def download_url(self, key: str, content_type: str, disposition: str, seconds: int) -> str | None:
        """A short-lived URL the browser can fetch the object from directly, or None (the app streams it)."""

    def describe(self) -> str:
        """Where the files are, for the command line and logs."""


def _naive_utc(when: datetime) -> datetime:
    """An aware time as the naive UTC the tables store."""
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


@dataclass
class LocalStore:
    """Files in a folder (`instance/attachments/` by default), two levels of subfolders by the key's first letters."""

    root: Path

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise MissingObject(key)
        return self.root / key

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Write to a partial file beside the target, then rename it into place (atomic on one filesystem)."""
        path = self._path(key)
        partial = path.with_name(path.name + PARTIAL + uuid.uuid4().hex[:8])
        try:
            with _saving():
                path.parent.mkdir(parents=True, exist_ok=True)
                out = open(partial, "wb")  # closed by the with below, where a failed read is not the disk's
            with out:
                while chunk := source.read(CHUNK):  # a failed read is the upload's, not the disk's
                    with _saving():
                        out.write(chunk)
            with _saving():
                os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(OSError):  # a folder that cannot be written holds no partial file
                partial.unlink(missing_ok=True)
            raise

    def chunks(self, key: str) -> Iterator[bytes]:
        """The file's bytes, opened when the first chunk is asked for (a response never sent opens nothing)."""
        path = self._path(key)
        if not path.is_file():
            raise MissingObject(key)
        return _read_and_close(path)

    def delete(self, keys: Iterable[str]) -> None:
        """Remove the files (and any subfolder left empty)."""
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            for folder in (path.parent, path.parent.parent):
                if folder == self.root:
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty, or gone

    def objects(self) -> Iterator[tuple[str, datetime]]:
        """Every file under the root with its modification time."""
        if not self.root.exists():
            return
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                try:
                    modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                except FileNotFoundError:
                    continue  # renamed or removed meanwhile
                yield path.relative_to(self.root).as_posix(), _naive_utc(modified)

    def download_url(self, key: str, content_type: str, disposition: str, seconds: int) -> str | None:
        """A local folder has no URLs of its own: the app streams the file."""
        return None

    def describe(self) -> str:
        """The folder."""
        return f"local folder {self.root}"


def _read_and_close(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@dataclass
class S3Store:
    """Objects in an S3-compatible bucket under a prefix; endpoint, region and credentials come from the environment
    (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION...), as boto3 reads them."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None

    def __post_init__(self):
        self._client = None

    @property
    def client(self):
        """The boto3 client, made on first use (importing boto3 costs a worker memory only once files are stored)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"})
            self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """A multipart upload of 5 MiB parts sent one after another (an object appears only once complete). A file on
        disk (an upload Werkzeug spooled) is sent by its path, so each part is read as it is sent; any other stream
        is read a part at a time into memory."""
        from boto3.exceptions import Boto3Error
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        config = TransferConfig(multipart_threshold=S3_PART, multipart_chunksize=S3_PART, use_threads=False)
        extra = {"ContentType": content_type}
        path = _path_of(source)
        try:
            if path is not None:
                self.client.upload_file(path, self.bucket, self._key(key), ExtraArgs=extra, Config=config)
            else:
                self.client.upload_fileobj(
                    _Unclosable(source), self.bucket, self._key(key), ExtraArgs=extra, Config=config
                )
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise _unavailable(SAVE_FAILED, exc) from exc

    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's body, read as it arrives."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingObject(key) from None
            raise _unavailable(READ_FAILED, exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(READ_FAILED, exc) from exc
        return _stream_body(body)

    def delete(self, keys: Iterable[str]) -> None:
        """Delete in batches of 1,000 (one request each)."""
        batch: list[dict[str, str]] = []
        for key in keys:
            batch.append({"Key": self._key(key)})
            if len(batch) == 1000:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                batch = []
        if batch:
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def objects(self) -> Iterator[tuple[str, datetime]]:
        """Every object under the prefix, listed a page (1,000) at a time."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :], _naive_utc(item["LastModified"])

    def download_url(self, key: str, content_type: str, disposition: str, seconds: int) -> str | None:
        """A presigned GET that makes the bucket answer with this type and Content-Disposition."""
        if seconds <= 0:
            return None
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=seconds,
        )

    def describe(self) -> str:
        """The bucket, prefix and endpoint."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


def _path_of(source: BinaryIO) -> str | None:
    """A path that opens this file anew (Linux: /proc/self/fd/N, also for an unnamed temporary file), if it is
    one; the stream must be at its start (the whole file is sent)."""
    try:
        descriptor = source.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    path = f"/proc/self/fd/{descriptor}"
    return path if os.path.isfile(path) and source.tell() == 0 else None


class _Unclosable:
    """A file handed to boto3, which closes what it uploads: the caller's file stays open (and is the caller's to
    close)."""

    def __init__(self, source: BinaryIO):
        self._source = source

    def __getattr__(self, name: str):
        return getattr(self._source, name)

    def close(self) -> None:
        """Leave the caller's file open."""


def _stream_body(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def store_from_url(url: str, instance_path: str) -> LocalStore | S3Store:
    """The store the configuration names: "" for instance/attachments/, s3://bucket/prefix, or a folder path."""
    url = (url or "").strip()
    if not url:
        return LocalStore(Path(instance_path) / "attachments")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"ATTACHMENTS_URL {url!r} names no bucket (s3://bucket/prefix).")
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Store(parts.netloc, prefix, os.environ.get("AWS_ENDPOINT_URL") or None)
    if parts.scheme in ("", "file"):
        return LocalStore(Path(parts.path if parts.scheme else url))
    raise ValueError(f"ATTACHMENTS_URL {url!r}: use a folder path or s3://bucket/prefix.")
