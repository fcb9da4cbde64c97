"""The attachment stores: a local folder (a temporary one) and S3, tested against moto's S3 server over HTTP (started
here on a free port, as a real S3-compatible service would be reached), not a mock of the client."""

from __future__ import annotations

import io
import os
import socket
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from tests.files import image
from tests.helpers import count_rows
from tracker import create_app
from tracker.attachments import service, web
from tracker.attachments.storage import CHUNK, LocalStore, MissingObject, S3Store, StoreUnavailable, store_from_url
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.models import Attachment, Issue, utcnow

BUCKET = "tracker-files"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1 for this module's tests, with test credentials in the environment."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = {name: os.environ.get(name) for name in [*AWS_ENV, "AWS_ENDPOINT_URL"]}
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": endpoint})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def bucket(s3_endpoint):
    """An empty bucket (made afresh for each test)."""
    store = S3Store(BUCKET, "", s3_endpoint)
    client = store.client
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    store.delete(key for key, _ in store.objects())
    yield BUCKET
    store.delete(key for key, _ in store.objects())


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """Each kind of store, empty."""
    if request.param == "local":
        return LocalStore(tmp_path / "files")
    endpoint = request.getfixturevalue("s3_endpoint")
    request.getfixturevalue("bucket")
    return S3Store(BUCKET, "tracker/", endpoint)


def test_store_round_trip(store):
    big = os.urandom(CHUNK * 3 + 17)
    store.put("aa/bb/one", io.BytesIO(big), "application/octet-stream")
    store.put("aa/bb/two", io.BytesIO(b"two"), "text/plain")
    assert b"".join(store.chunks("aa/bb/one")) == big
    assert all(len(chunk) <= CHUNK for chunk in store.chunks("aa/bb/one"))
    listed = dict(store.objects())
    assert set(listed) == {"aa/bb/one", "aa/bb/two"}
    assert all(abs(modified - utcnow()) < timedelta(minutes=5) for modified in listed.values())
    store.delete(["aa/bb/one", "aa/bb/missing"])
    assert [key for key, _ in store.objects()] == ["aa/bb/two"]
    with pytest.raises(MissingObject):
        store.chunks("aa/bb/one")


@pytest.mark.parametrize("on_disk", [True, False], ids=["spooled-file", "stream"])
def test_a_large_object_goes_up_in_parts(s3_endpoint, bucket, on_disk):
    """Three parts of 5 MiB at most: read from disk as they are sent (a spooled upload), or a part at a time."""
    store = S3Store(BUCKET, "", s3_endpoint)
    data = os.urandom(12 * 1024 * 1024)
    with tempfile.TemporaryFile() as spooled:
        spooled.write(data)
        spooled.seek(0)
        store.put("big", spooled if on_disk else io.BytesIO(data), "application/zip")
        assert not spooled.closed
    assert b"".join(store.chunks("big")) == data
    head = store.client.head_object(Bucket=BUCKET, Key="big")
    assert head["ContentType"] == "application/zip" and head["ETag"].strip('"').endswith("-3")


def test_local_store_writes_whole_files_only(tmp_path):
    store = LocalStore(tmp_path)

    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 10:
                raise OSError("the upload stopped")
            return super().read(5)

    with pytest.raises(OSError):
        store.put("aa/bb/broken", Failing(b"x" * 100), "text/plain")
    assert list(store.objects()) == []  # neither the file nor its partial copy
    with pytest.raises(MissingObject):
        store.chunks("../outside")


def test_store_from_url(tmp_path):
    assert store_from_url("", str(tmp_path)) == LocalStore(tmp_path / "attachments")
    assert store_from_url("/srv/files", str(tmp_path)) == LocalStore(Path("/srv/files"))
    assert store_from_url("file:///srv/files", str(tmp_path)) == LocalStore(Path("/srv/files"))
    s3 = store_from_url("s3://bucket/some/prefix", str(tmp_path))
    assert (s3.bucket, s3.prefix) == ("bucket", "some/prefix/")
    with pytest.raises(ValueError, match="names no bucket"):
        store_from_url("s3:///prefix", str(tmp_path))
    with pytest.raises(ValueError, match="use a folder path or s3://bucket/prefix"):
        store_from_url("ftp://host/x", str(tmp_path))


def test_unknown_types_setting_fails_at_start():
    with pytest.raises(ValueError, match="ATTACHMENT_TYPES: unknown type 'exe'"):
        create_app(TestConfig, {"ATTACHMENT_TYPES": "image,exe"})


@pytest.fixture
def s3_app(database_url, s3_endpoint, bucket):
    """The app storing attachments in the bucket (downloads redirect to presigned links)."""
    application = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "ATTACHMENTS_URL": f"s3://{BUCKET}/tracker"}
    )
    from tests.conftest import empty_database

    with application.app_context():
        yield application
        db.session.rollback()
        empty_database()
        db.session.remove()
        db.engine.dispose()


def signed_in_issue(app):
    """A member's test client, signed in, and an issue of theirs."""
    from tests.conftest import PASSWORD_HASH
    from tests.helpers import sign_in_client
    from tracker.issues import service as issues
    from tracker.models import User

    me = User(name="Ada", email="ada@example.com", password_hash=PASSWORD_HASH, role="member")
    db.session.add(me)
    db.session.commit()
    issue = issues.create_issue(db.session, me, {"title": "Stored in S3"})
    client = app.test_client()
    sign_in_client(client, me)
    return client, issue


def test_pages_with_s3(s3_app):
    client, issue = signed_in_issue(s3_app)
    data = {"file": [(io.BytesIO(image()), "shot.png"), (io.BytesIO(b"log\n"), "Ärger.log")]}
    assert client.post(f"/issues/{issue.id}/attachments", data=data).status_code == 303
    shot, log = db.session.query(Attachment).order_by(Attachment.id).all()
    keys = {key for key, _ in web.store().objects()}
    assert keys == {shot.storage_key, shot.thumbnail_key, log.storage_key}

    # A download redirects to a short-lived link that names the file and its type; the bucket answers it.
    response = client.get(f"/files/{log.id}/x")
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(response.headers["Location"]) as direct:  # noqa: S310 (moto on 127.0.0.1)
        assert direct.read() == b"log\n"
        assert direct.headers["Content-Disposition"] == (
            "attachment; filename=\"Arger.log\"; filename*=UTF-8''%C3%84rger.log"
        )
    # Images shown on the pages are streamed by the app (the pages load images from Tracker only).
    inline = client.get(f"/files/{shot.id}/shot.png")
    assert inline.status_code == 200 and inline.data == image()
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert client.get(f"/thumbnails/{shot.id}").status_code == 200

    s3_app.config["ATTACHMENT_LINK_SECONDS"] = 0  # redirects off: the app streams every file
    streamed = client.get(f"/files/{log.id}/x")
    assert streamed.status_code == 200 and streamed.data == b"log\n"

    assert client.post(f"/attachments/{log.id}/delete").status_code == 303
    assert {key for key, _ in web.store().objects()} == {shot.storage_key, shot.thumbnail_key}

    web.store().put("zz/zz/orphan", io.BytesIO(b"left"), "text/plain")
    result = service.remove_orphans(db.session, web.store(), utcnow() + timedelta(hours=2), timedelta(hours=1))
    assert result.removed == ["zz/zz/orphan"] and count_rows(Attachment) == 1


def test_a_store_that_fails_is_a_503_and_saves_nothing(s3_app):
    # A bucket deleted or renamed (or credentials refused, the endpoint down) answered every upload and every
    # streamed download with a bare 500 ("Something went wrong on our side").
    from tests.helpers import text
    from tracker.models import IssueEvent

    client, issue = signed_in_issue(s3_app)
    sent = client.post(f"/issues/{issue.id}/attachments", data={"file": (io.BytesIO(image()), "shot.png")})
    assert sent.status_code == 303
    (shot,) = db.session.query(Attachment).all()
    events = count_rows(IssueEvent)

    web.store().bucket = "no-such-bucket"
    response = client.post(f"/issues/{issue.id}/attachments", data={"file": (io.BytesIO(b"log\n"), "a.log")})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "The file store could not keep the file just now; nothing was saved." in text(response)
    db.session.rollback()
    assert count_rows(Attachment) == 1 and count_rows(IssueEvent) == events

    response = client.post("/issues/new", data={"title": "With a file", "file": (io.BytesIO(b"log\n"), "a.log")})
    assert response.status_code == 503
    assert db.session.query(Issue).count() == 1

    response = client.get(f"/files/{shot.id}/shot.png")  # an image is streamed by the app
    assert response.status_code == 503 and "The file store cannot be reached just now." in text(response)


def test_a_local_store_that_cannot_write_is_a_503(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"")
    with pytest.raises(StoreUnavailable, match="nothing was saved"):
        LocalStore(blocked).put("ab/cd/key", io.BytesIO(b"x"), "text/plain")
