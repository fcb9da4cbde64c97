"""The attachments API: attach (multipart, several files), list, details, download, delete; errors as JSON."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.files import HTML, image
from tests.helpers import count_rows
from tests.test_api import assert_error
from tracker.attachments import web
from tracker.extensions import db
from tracker.models import Attachment, IssueEvent


@pytest.fixture
def member(token_for):
    """Headers of a member's token."""
    return token_for("member")


def upload(client, issue_id: int, headers, *files: tuple[bytes, str]):
    """POST files to the issue's attachments."""
    data = {"file": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(f"/api/issues/{issue_id}/attachments", data=data, headers=headers)


def test_attach_list_get_download_delete(client, member, make_issue):
    issue = make_issue()
    response = upload(client, issue.id, member, (image(), "shot.png"), (b"boom\n", "app.log"), (image(), "again.png"))
    assert response.status_code == 201
    shot, log, again = response.get_json()
    assert {k: shot[k] for k in ("name", "content_type", "image", "duplicate", "sent_as", "page_url", "url")} == {
        "name": "shot.png",
        "content_type": "image/png",
        "image": True,
        "duplicate": False,
        "sent_as": "shot.png",
        "page_url": f"/files/{shot['id']}/shot.png",
        "url": f"/api/attachments/{shot['id']}/content",
    }
    assert (shot["width"], shot["height"], shot["issue_id"], shot["comment_id"]) == (64, 48, issue.id, None)
    assert (log["content_type"], log["size"], log["image"], log["width"]) == ("text/plain", 5, False, None)
    assert again["id"] == shot["id"] and again["duplicate"] is True and again["sent_as"] == "again.png"

    listed = client.get(f"/api/issues/{issue.id}/attachments", headers=member).get_json()
    assert [a["name"] for a in listed] == ["shot.png", "app.log"]
    assert client.get(f"/api/attachments/{log['id']}", headers=member).get_json()["sha256"] == log["sha256"]

    content = client.get(log["url"], headers=member)
    assert content.status_code == 200 and content.data == b"boom\n"
    assert content.headers["Content-Disposition"] == 'attachment; filename="app.log"'
    assert content.headers["X-Content-Type-Options"] == "nosniff"

    timeline = client.get(f"/api/issues/{issue.id}/timeline", headers=member).get_json()["entries"]
    assert timeline[-1]["kind"] == "attached" and [f["name"] for f in timeline[-1]["changes"]["files"]] == [
        "shot.png",
        "app.log",
    ]

    assert client.delete(f"/api/attachments/{log['id']}", headers=member).status_code == 204
    assert count_rows(Attachment) == 1
    kinds = db.session.execute(sa.select(IssueEvent.kind).order_by(IssueEvent.id)).scalars().all()
    assert kinds == ["created", "attached", "attachment_deleted"]
    assert_error(client.get(log["url"], headers=member), 404, "not_found")


@pytest.mark.parametrize(
    ("files", "status", "code", "message"),
    [
        ([(HTML, "x.png")], 422, "file_refused", "x.png is an HTML page"),
        ([(b"ok\n", "a.txt"), (b"", "b.txt")], 422, "file_refused", "b.txt is empty."),
        ([(b"x" * 2048, "big.log")], 413, "too_large", "big.log is 2 KB; files of up to 1 KB can be attached."),
    ],
)
def test_refused_files_are_json_errors(app, client, member, make_issue, snapshot, files, status, code, message):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    issue = make_issue()
    before = snapshot()
    body = assert_error(upload(client, issue.id, member, *files), status, code)
    assert message in body["message"]
    assert snapshot() == before and count_rows(Attachment) == 0
    assert list(web.store().objects()) == []


def test_a_form_field_is_not_a_file(client, member, make_issue):
    issue = make_issue()
    response = client.post(f"/api/issues/{issue.id}/attachments", data={"file": "just text"}, headers=member)
    assert_error(response, 422, "invalid", "file", "file part")


def test_missing_issue_and_attachment(client, member):
    assert_error(upload(client, 999, member, (b"x\n", "x.txt")), 404, "not_found")
    assert_error(client.get("/api/attachments/999", headers=member), 404, "not_found")
    assert_error(client.delete("/api/attachments/999", headers=member), 404, "not_found")


def test_only_the_uploader_or_an_admin_deletes(client, member, token_for, make_issue):
    issue = make_issue()
    (shot,) = upload(client, issue.id, member, (b"x\n", "x.txt")).get_json()
    body = assert_error(client.delete(f"/api/attachments/{shot['id']}", headers=token_for("member")), 403, "forbidden")
    assert body["message"] == "Only the person who attached this file or an admin can delete it."
    assert_error(upload(client, issue.id, token_for("viewer"), (b"y\n", "y.txt")), 403, "forbidden")
    assert client.delete(f"/api/attachments/{shot['id']}", headers=token_for("admin")).status_code == 204


def test_the_document_describes_the_attachment_operations(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    upload_op = paths["/api/issues/{issue_id}/attachments"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"201", "403", "404", "413", "422"} <= set(upload_op["responses"])
    assert set(paths["/api/attachments/{attachment_id}"]) >= {"get", "delete"}
    assert "get" in paths["/api/attachments/{attachment_id}/content"]
