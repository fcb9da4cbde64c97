"""Attachments through the pages (no JavaScript) and the service: attach, refuse, list, serve, delete, timeline."""

from __future__ import annotations

import io
import json
import tempfile
import threading
import tracemalloc

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from tests.files import HTML, SVG, exif_of, image, zip_file
from tests.helpers import count_rows, hx, text
from tracker.attachments import service, web
from tracker.attachments.checks import FileRefused
from tracker.comments import service as comments
from tracker.extensions import db
from tracker.markdown import render_markdown
from tracker.models import Attachment, Comment, Issue, IssueEvent, User


def squashed(html: str) -> str:
    """HTML with every run of white space as one space, to read it as a sentence."""
    return " ".join(html.split())


def stored_keys() -> set[str]:
    """Every object key in the test's store."""
    return {key for key, _modified in web.store().objects()}


def stored_bytes(attachment: Attachment) -> bytes:
    """The stored object of an attachment."""
    return b"".join(web.store().chunks(attachment.storage_key))


def attachments_rows() -> list[Attachment]:
    """Every attachment row, oldest first."""
    db.session.expire_all()
    return list(db.session.execute(sa.select(Attachment).order_by(Attachment.id)).scalars())


def post_files(client, issue_id: int, *files: tuple[bytes, str], headers=None):
    """Send files through the issue page's attach form."""
    data = {"file": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(f"/issues/{issue_id}/attachments", data=data, headers=headers or {})


def attach(user, issue_id: int, *files: tuple[bytes, str]) -> list[service.Attached]:
    """Attach files through the service."""
    uploads = [service.Upload(name, io.BytesIO(content)) for content, name in files]
    return service.attach_files(db.session, user, issue_id, service.Incoming(web.store(), uploads, web.limits()))


# ---- attaching -----------------------------------------------------------------------------------


def test_attached_files_are_stored_listed_and_in_the_timeline(client, login_as, make_issue):
    me = login_as("member", name="Grace")
    issue = make_issue("Crash on save")
    response = post_files(client, issue.id, (image(), "screen shot.png"), (b"line 1\nline 2\n", "server.log"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/issues/{issue.id}#attachments")
    shot, log = attachments_rows()
    assert (shot.file_name, shot.content_type, shot.uploader_id) == ("screen shot.png", "image/png", me.id)
    assert shot.is_image
    assert (log.file_name, log.content_type, log.size, log.is_image) == ("server.log", "text/plain", 14, False)
    assert stored_bytes(log) == b"line 1\nline 2\n" and shot.thumbnail_key and log.thumbnail_key is None
    assert stored_keys() == {shot.storage_key, shot.thumbnail_key, log.storage_key}
    assert "screen shot" not in "".join(stored_keys())  # never the uploaded name
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Attached screen shot.png, server.log." in page
    section = page[page.index('id="issue-attachments"') :]
    assert '<a class="attachment-name" href="/files/1/screen%20shot.png">screen shot.png</a>' in section
    assert "14 bytes · Grace" in section and f'src="/thumbnails/{shot.id}"' in section
    event = db.session.execute(sa.select(IssueEvent).where(IssueEvent.kind == "attached")).scalar_one()
    assert event.changes == {
        "files": [
            {"id": shot.id, "name": "screen shot.png", "size": shot.size},
            {"id": log.id, "name": "server.log", "size": 14},
        ]
    }
    assert event.version == 1  # attaching never changes the issue's version (no edit conflicts)
    timeline = squashed(page[page.index('id="issue-timeline"') :])
    assert "Grace</strong> attached" in timeline
    assert f'href="/files/{log.id}/server.log">server.log</a>' in timeline


def test_htmx_attach_swaps_the_section_and_tells_the_page(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    response = post_files(client, issue.id, (image(), "a.png"), headers=hx("issue-attachments"))
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<section id="issue-attachments"') and "<html" not in body
    trigger = json.loads(response.headers["HX-Trigger"])
    assert "issue-changed" in trigger
    assert trigger["tracker:attached"] == [
        {"id": 1, "name": "a.png", "sent_as": "a.png", "url": "/files/1/a.png", "image": True, "duplicate": False}
    ]


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([(SVG, "logo.svg")], 422, "logo.svg is an SVG image; this Tracker accepts"),
        ([(HTML, "page.html")], 422, "page.html is an HTML page"),
        ([(HTML, "innocent.png")], 422, "innocent.png is an HTML page"),
        ([(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png")], 422, "broken.png starts like a PNG image but"),
        ([(b"\x00\x01\x02binary", "blob.bin")], 422, "blob.bin is a file of an unknown kind"),
        ([(b"", "empty.txt")], 422, "empty.txt is empty."),
        ([], 422, "Choose a file to attach."),
        ([(b"fine\n", "ok.txt"), (b"x" * (150 * 1024), "big.log")], 413,
         "big.log is 150 KB; files of up to 100 KB can be attached."),
    ],
)
def test_refused_files_store_nothing(app, client, login_as, make_issue, snapshot, files, status, message):
    app.config["ATTACHMENT_MAX_BYTES"] = 100 * 1024  # small: the test client spools bodies over 500 KB to files
    login_as("member")
    issue = make_issue()
    before = snapshot()
    response = post_files(client, issue.id, *files)
    assert response.status_code == status
    page = text(response)
    assert message in page and "Nothing was attached." in page
    assert 'id="attach-file-error"' in page  # the reason sits by the file field, which stays on the page
    assert snapshot() == before and count_rows(Attachment) == 0 and stored_keys() == set()


def test_the_issue_holds_at_most_its_number_of_files(app, client, login_as, make_issue):
    app.config["ATTACHMENTS_PER_ISSUE"] = 2
    login_as("member")
    issue = make_issue()
    assert post_files(client, issue.id, (b"one\n", "1.txt")).status_code == 303
    response = post_files(client, issue.id, (b"two\n", "2.txt"), (b"three\n", "3.txt"))
    assert response.status_code == 422
    assert "An issue holds at most 2 files; this one has 1, so at most 1 more can be attached." in text(response)
    assert count_rows(Attachment) == 1 and len(stored_keys()) == 1


def test_two_attaches_at_once_keep_the_issue_within_its_number_of_files(app, postgres_only, make_user, make_issue,
                                                                         monkeypatch):
    """The first attach is held while it stores its file (after counting the issue's files); the second, sent then,
    waits for it and is refused, instead of counting the files before the first one's row was written."""
    app.config["ATTACHMENTS_PER_ISSUE"] = 2
    user, issue_id = make_user("member"), make_issue().id
    attach(user, issue_id, (b"zero\n", "0.txt"))
    storing, go_on = threading.Event(), threading.Event()
    real_store = service.store_files

    def held_store(store, checked):
        if not storing.is_set():
            storing.set()
            go_on.wait(10)
        real_store(store, checked)

    monkeypatch.setattr(service, "store_files", held_store)
    outcomes: dict[str, str] = {}

    def work(name: str) -> None:
        with app.app_context():
            try:
                attach(db.session.get(User, user.id), issue_id, (f"{name}\n".encode(), f"{name}.txt"))
                outcomes[name] = "attached"
            except FileRefused as exc:
                outcomes[name] = str(exc)
            finally:
                db.session.remove()

    first = threading.Thread(target=work, args=("first",))
    first.start()
    assert storing.wait(10)
    second = threading.Thread(target=work, args=("second",))
    second.start()
    second.join(0.5)  # it waits for the first one's lock on the issue
    go_on.set()
    first.join(10)
    second.join(10)
    assert outcomes == {
        "first": "attached",
        "second": "An issue holds at most 2 files; this one has 2, so delete some before attaching more.",
    }
    db.session.expire_all()
    assert sorted(a.file_name for a in attachments_rows()) == ["0.txt", "first.txt"]


def test_allowed_types_come_from_configuration(app, client, login_as, make_issue):
    app.config["ATTACHMENT_TYPES"] = "pdf"
    login_as("member")
    issue = make_issue()
    response = post_files(client, issue.id, (b"plain\n", "notes.txt"))
    assert response.status_code == 422 and "notes.txt is a text file; this Tracker accepts PDF." in text(response)
    assert post_files(client, issue.id, (b"%PDF-1.4\n%%EOF\n", "spec.pdf")).status_code == 303
    assert [a.content_type for a in attachments_rows()] == ["application/pdf"]


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (image("JPEG"), "photo.JPG", "image/jpeg"),
        (image("GIF"), "anim.gif", "image/gif"),
        (image("WEBP"), "shot.webp", "image/webp"),
        (zip_file(), "logs.zip", "application/zip"),
        (b"id,title\n1,x\n", "export.csv", "text/csv"),
        (b'{"ok": true}', "response.json", "application/json"),
        ("Überlauf: 5 € verloren\n".encode(), "fehler.log", "text/plain"),
        ("naïve latin-1\n".encode("latin-1"), "old.log", "text/plain"),
        (image("PNG"), "named-as.txt", "image/png"),  # the content decides, not the name
    ],
)
def test_kinds_are_read_from_the_content(client, login_as, make_issue, content, name, content_type):
    login_as("member")
    issue = make_issue()
    assert post_files(client, issue.id, (content, name)).status_code == 303
    (attachment,) = attachments_rows()
    assert attachment.content_type == content_type and stored_bytes(attachment) == content


def test_the_same_file_twice_is_stored_once(client, login_as, make_issue):
    login_as("member")
    issue, other = make_issue("One"), make_issue("Other")
    assert post_files(client, issue.id, (image(), "a.png"), (image(), "copy of a.png")).status_code == 303
    response = post_files(client, issue.id, (image(), "again.png"))
    assert response.status_code == 303
    assert "again.png is attached already (as a.png)." in text(client.get(f"/issues/{issue.id}"))
    post_files(client, other.id, (image(), "a.png"))  # another issue keeps its own copy
    rows = attachments_rows()
    assert [(a.issue_id, a.file_name) for a in rows] == [(issue.id, "a.png"), (other.id, "a.png")]
    assert len(stored_keys()) == 4  # two originals, two thumbnails
    events = db.session.execute(sa.select(IssueEvent).where(IssueEvent.kind == "attached")).scalars().all()
    assert len(events) == 2  # nothing new, no entry


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_location_is_removed_and_orientation_kept(make_user, make_issue, kind):
    me = make_user()
    issue = make_issue()
    original = image(kind, size=(40, 30), color="green", gps=True, orientation=6)
    assert ExifTags.IFD.GPSInfo in exif_of(original)
    (outcome,) = attach(me, issue.id, (original, "photo"))
    kept = stored_bytes(outcome.attachment)
    exif = exif_of(kept)
    assert ExifTags.IFD.GPSInfo not in exif and exif[ExifTags.Base.Orientation] == 6
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(kept)) as after:
        assert before.tobytes() == after.tobytes()  # the same picture: nothing was decoded and encoded again
    assert outcome.attachment.size == len(kept) and outcome.attachment.sha256 != ""


def test_a_photo_without_location_is_kept_byte_for_byte(make_user, make_issue):
    me = make_user()
    original = image("JPEG", orientation=3)
    (outcome,) = attach(me, make_issue().id, (original, "photo.jpg"))
    assert stored_bytes(outcome.attachment) == original


def test_upload_streams_in_chunks(make_user, make_issue):
    """A 20 MB file is checked, hashed and stored a chunk at a time: Python holds well under a megabyte of it."""
    me = make_user()
    issue = make_issue()
    with tempfile.TemporaryFile() as spooled:
        line = b"2026-12-05 10:00:00 INFO worker 3 handled request in 12 ms\n"
        for _ in range(20 * 1024 * 1024 // len(line)):
            spooled.write(line)
        spooled.seek(0)
        incoming = service.Incoming(web.store(), [service.Upload("big.log", spooled)], web.limits())
        tracemalloc.start()
        service.attach_files(db.session, me, issue.id, incoming)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert attachments_rows()[0].size > 19 * 1024 * 1024


def test_the_request_limit_of_upload_routes_is_their_own(app, client, login_as, make_issue):
    """Attaching accepts a body up to ATTACHMENT_REQUEST_MAX_BYTES; the CSV import keeps UPLOAD_LIMIT_MB."""
    login_as("member")
    issue = make_issue()
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.config["ATTACHMENT_REQUEST_MAX_BYTES"] = 3 * 1024 * 1024
    body = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.log"\r\n\r\n' + b"x" * (2 * 1024 * 1024)
    body += b"\r\n--B--\r\n"
    assert client.post(f"/issues/{issue.id}/attachments", data=body,
                       content_type="multipart/form-data; boundary=B").status_code == 303
    assert client.post("/import", data=body, content_type="multipart/form-data; boundary=B").status_code == 413
    big = body.replace(b"x" * 10, b"x" * 10 + b"y" * (2 * 1024 * 1024), 1)
    response = client.post(f"/issues/{issue.id}/attachments", data=big, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413 and "larger than the 3 MB limit" in text(response)
    assert count_rows(Attachment) == 1
    # Below the import's limit it holds too (it was the larger of the two).
    app.config["MAX_CONTENT_LENGTH"], app.config["ATTACHMENT_REQUEST_MAX_BYTES"] = 5 * 1024 * 1024, 1024 * 1024
    response = client.post(f"/issues/{issue.id}/attachments", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413 and "larger than the 1 MB limit" in text(response)


# ---- serving -------------------------------------------------------------------------------------


def test_a_checked_image_is_shown_inline(client, login_as, make_user, make_issue):
    login_as("viewer")
    (outcome,) = attach(make_user(), make_issue().id, (image(), "shot.png"))
    response = client.get(f"/files/{outcome.attachment.id}/shot.png")
    assert response.status_code == 200 and response.data == image()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'inline; filename="shot.png"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    etag = response.headers["ETag"]
    assert client.get(f"/files/{outcome.attachment.id}/shot.png", headers={"If-None-Match": etag}).status_code == 304
    thumb = client.get(f"/thumbnails/{outcome.attachment.id}")
    assert thumb.headers["Content-Type"] == "image/webp" and thumb.data[8:12] == b"WEBP"


@pytest.mark.parametrize(
    ("content", "name"),
    [(HTML, "page.html"), (SVG, "logo.svg"), (HTML, "innocent.png"), (b"<html><script>x()</script>", "a.txt")],
)
def test_markup_is_never_served_inline(app, client, login_as, make_issue, content, name):
    """Even where an admin allows every kind: HTML, SVG and an HTML file named .png download, sandboxed."""
    app.config["ATTACHMENT_TYPES"] = "any"
    login_as("member")
    issue = make_issue()
    assert post_files(client, issue.id, (content, name)).status_code == 303
    (attachment,) = attachments_rows()
    response = client.get(f"/files/{attachment.id}/{name}")
    assert response.status_code == 200 and response.data == content
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert client.get(f"/thumbnails/{attachment.id}").status_code == 404


def test_names_are_kept_as_uploaded(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    post_files(client, issue.id, (b"x\n", "Ärger (final).txt"))
    (attachment,) = attachments_rows()
    assert attachment.file_name == "Ärger (final).txt"
    response = client.get(f"/files/{attachment.id}/whatever")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Arger _final_.txt\"; filename*=UTF-8''%C3%84rger%20%28final%29.txt"
    )


def test_folders_and_control_characters_leave_the_name():
    assert service.clean_file_name("C:\\Users\\me\\evil.txt") == "evil.txt"
    assert service.clean_file_name("../../etc/passwd") == "passwd"
    assert service.clean_file_name("a\x00b\nc.txt") == "abc.txt"
    assert service.clean_file_name("") == "file"
    long = service.clean_file_name("x" * 300 + ".log")
    assert len(long) == 255 and long.endswith(".log")


@pytest.mark.parametrize("sent", ["..", ".", "a/..", " .. ", "..\u200b"])
def test_a_name_of_dots_alone_links_to_the_file(client, login_as, make_issue, sent):
    # A file sent as ".." was kept as "..", and its link /files/1/.. took the browser to /files/ (a 404).
    login_as("member")
    issue = make_issue()
    post_files(client, issue.id, (b"x\n", sent))
    (attachment,) = attachments_rows()
    assert attachment.file_name == "file" and service.file_url(attachment) == f"/files/{attachment.id}/file"
    assert f'href="/files/{attachment.id}/file"' in text(client.get(f"/issues/{issue.id}"))


def test_a_file_stored_as_dots_is_linked_as_file(make_user, make_issue):
    (outcome,) = attach(make_user(), make_issue().id, (b"x\n", "x.txt"))
    for name in (".", ".."):
        outcome.attachment.file_name = name
        assert service.file_url(outcome.attachment) == f"/files/{outcome.attachment.id}/file"
    outcome.attachment.file_name = "..."
    assert service.file_url(outcome.attachment) == f"/files/{outcome.attachment.id}/..."


def test_downloads_need_sign_in(client, make_user, make_issue):
    (outcome,) = attach(make_user(), make_issue().id, (b"secret\n", "s.txt"))
    response = client.get(f"/files/{outcome.attachment.id}/s.txt")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/files/999/x.txt").status_code == 302


def test_files_of_an_issue_in_the_trash_are_not_found_until_it_is_restored(client, login_as, make_user, make_issue,
                                                                           token_for):
    from tracker.trash import service as trash

    issue = make_issue()
    (outcome,) = attach(make_user(), issue.id, (image("PNG"), "shot.png"))
    file_id = outcome.attachment.id
    admin = make_user("admin")
    trash.delete_issues(db.session, admin, [issue.id])
    viewer = login_as("viewer")
    api = token_for(viewer)
    for url, headers in (
        (f"/files/{file_id}/shot.png", {}),
        (f"/thumbnails/{file_id}", {}),
        (f"/api/attachments/{file_id}", api),
        (f"/api/attachments/{file_id}/content", api),
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    trash.restore_issues(db.session, admin, [issue.id])
    response = client.get(f"/files/{file_id}/shot.png")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    # Asked again every time, never kept for a day: sign-in and the trash are checked on each use.
    assert response.headers["Cache-Control"] == "private, no-cache"
    etag = response.headers["ETag"]
    again = client.get(f"/files/{file_id}/shot.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/api/attachments/{file_id}", headers=api).status_code == 200


def test_missing_attachment_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/files/999/x.txt").status_code == 404
    assert client.get("/thumbnails/999").status_code == 404


# ---- deleting ------------------------------------------------------------------------------------


def test_delete_asks_first_then_removes_row_and_files(client, login_as, make_issue):
    me = login_as("member", name="Ada")
    issue = make_issue()
    (outcome,) = attach(me, issue.id, (image(), "shot.png"))
    page = text(client.get(f"/attachments/{outcome.attachment.id}/delete"))
    assert "Delete shot.png?" in page and "Keep it" in page and 'action="/attachments/1/delete"' in page
    response = client.post(f"/attachments/{outcome.attachment.id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/issues/{issue.id}#attachments")
    assert count_rows(Attachment) == 0 and stored_keys() == set()
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Deleted shot.png." in page and "No files yet." in page
    timeline = squashed(page[page.index('id="issue-timeline"') :])
    assert "Ada</strong> deleted" in timeline and '<span class="file-ref">shot.png</span>' in timeline
    assert 'href="/files/' not in timeline  # the attached entry names the file, without a dead link


def test_htmx_delete_swaps_the_section(client, login_as, make_issue):
    me = login_as("admin")
    issue = make_issue()
    (outcome,) = attach(me, issue.id, (b"x\n", "x.txt"))
    response = client.post(f"/attachments/{outcome.attachment.id}/delete", headers=hx("issue-attachments"))
    assert response.status_code == 200 and "No files yet." in text(response)
    assert "issue-changed" in json.loads(response.headers["HX-Trigger"])


def test_a_file_deleted_twice_is_404_the_second_time(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue()
    (outcome,) = attach(me, issue.id, (b"x\n", "x.txt"))
    assert client.post(f"/attachments/{outcome.attachment.id}/delete").status_code == 303
    response = client.post(f"/attachments/{outcome.attachment.id}/delete")
    assert response.status_code == 404 and "does not exist" in text(response)
    kinds = db.session.execute(sa.select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id)).scalars().all()
    assert kinds.count("attachment_deleted") == 1


def test_of_two_deletes_at_once_the_later_is_404_and_notes_nothing(client, login_as, make_issue, monkeypatch):
    # Two tabs (or a double click) delete the same file: the other request removes the row after this one read
    # it. This one answered 500 (SQLAlchemy: "expected to delete 1 row(s); 0 were matched") or, where that is
    # only a warning, noted a second "deleted" entry in the timeline.
    me = login_as("member")
    issue = make_issue()
    (outcome,) = attach(me, issue.id, (b"x\n", "x.txt"))
    attachment_id = outcome.attachment.id
    allowed = service.access.require_delete_attachment

    def deleted_meanwhile(actor, attachment):
        allowed(actor, attachment)
        with db.engine.begin() as other:
            other.execute(sa.delete(Attachment).where(Attachment.id == attachment_id))

    monkeypatch.setattr(service.access, "require_delete_attachment", deleted_meanwhile)
    events = count_rows(IssueEvent)
    response = client.post(f"/attachments/{attachment_id}/delete")
    assert response.status_code == 404 and "deleted meanwhile" in text(response)
    db.session.rollback()
    assert count_rows(IssueEvent) == events and count_rows(Attachment) == 0


def test_others_cannot_delete(client, login_as, make_user, make_issue, snapshot):
    owner = make_user()
    issue = make_issue()
    (outcome,) = attach(owner, issue.id, (b"x\n", "x.txt"))
    login_as("member")
    before = snapshot()
    response = client.post(f"/attachments/{outcome.attachment.id}/delete")
    assert response.status_code == 403
    assert "Only the person who attached this file or an admin can delete it." in text(response)
    assert snapshot() == before and count_rows(Attachment) == 1 and len(stored_keys()) == 1


# ---- with a new issue and with a comment ---------------------------------------------------------


def test_a_new_issue_takes_files_and_its_links(client, login_as):
    login_as("member")
    data = {
        "title": "Broken layout",
        "description": "See ![pasted-1.png](attachment:pasted-1.png) and [the log](attachment:app%20one.log).",
        "priority": "high",
        "status": "open",
        "file": [(io.BytesIO(image()), "pasted-1.png"), (io.BytesIO(b"boom\n"), "app one.log")],
    }
    response = client.post("/issues/new", data=data)
    assert response.status_code == 303
    issue = db.session.execute(sa.select(Issue)).scalar_one()
    shot, log = attachments_rows()
    assert issue.description == (
        f"See ![pasted-1.png](/files/{shot.id}/pasted-1.png) and [the log](/files/{log.id}/app%20one.log)."
    )
    kinds = db.session.execute(sa.select(IssueEvent.kind).order_by(IssueEvent.id)).scalars().all()
    assert kinds == ["created", "attached"]
    page = text(client.get(f"/issues/{issue.id}"))
    assert f'<img src="/files/{shot.id}/pasted-1.png" alt="pasted-1.png" loading="lazy">' in page


def test_an_invalid_new_issue_stores_no_file(client, login_as, snapshot):
    login_as("member")
    before = snapshot()
    response = client.post("/issues/new", data={"title": "", "file": [(io.BytesIO(image()), "a.png")]})
    assert response.status_code == 422
    assert snapshot() == before and count_rows(Attachment) == 0 and stored_keys() == set()


def test_a_refused_file_keeps_the_new_issue_form(client, login_as, snapshot):
    login_as("member")
    before = snapshot()
    response = client.post("/issues/new", data={"title": "Kept", "file": [(io.BytesIO(SVG), "a.svg")]})
    assert response.status_code == 422
    page = text(response)
    assert 'value="Kept"' in page and "a.svg is an SVG image" in page and "Choose the files again." in page
    assert snapshot() == before and stored_keys() == set()


def test_a_comment_takes_files(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue()
    data = {"body": "Here: ![s.png](attachment:s.png)", "file": [(io.BytesIO(image()), "s.png")]}
    response = client.post(f"/issues/{issue.id}/comments", data=data)
    assert response.status_code == 303
    (shot,) = attachments_rows()
    comment = db.session.execute(sa.select(Comment)).scalar_one()
    assert (shot.comment_id, shot.uploader_id) == (comment.id, me.id)
    assert comment.body == f"Here: ![s.png](/files/{shot.id}/s.png)"
    page = text(client.get(f"/issues/{issue.id}"))
    entry = page[page.index(f'id="comment-{comment.id}"') :]
    assert f'id="comment-file-{shot.id}"' in entry  # listed under the comment
    assert db.session.execute(sa.select(sa.func.count()).where(IssueEvent.kind == "attached")).scalar_one() == 0


def test_htmx_comment_with_files_refreshes_the_files(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    data = {"body": "Log attached", "file": [(io.BytesIO(b"x\n"), "x.log")]}
    response = client.post(f"/issues/{issue.id}/comments", data=data, headers=hx("comment-form"))
    body = text(response)
    assert response.status_code == 200
    assert 'aria-labelledby="attachments-heading" hx-swap-oob="true">' in body
    assert 'id="comment-file-1"' in body


@pytest.mark.parametrize(("body", "files", "status"), [(" ", [(b"x\n", "x.log")], 422), ("ok", [(SVG, "a.svg")], 422)])
def test_a_refused_comment_stores_no_file(client, login_as, make_issue, snapshot, body, files, status):
    login_as("member")
    issue = make_issue()
    before = snapshot()
    data = {"body": body, "file": [(io.BytesIO(c), n) for c, n in files]}
    response = client.post(f"/issues/{issue.id}/comments", data=data)
    assert response.status_code == status
    assert snapshot() == before and count_rows(Comment) == 0 and stored_keys() == set()


def test_a_failed_commit_removes_what_was_stored(make_user, make_issue, monkeypatch):
    me = make_user()
    issue = make_issue()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(comments, "record_event", broken)  # after the files were stored and recorded
    files = service.Incoming(web.store(), [service.Upload("a.log", io.BytesIO(b"a\n"))], web.limits())
    with pytest.raises(RuntimeError):
        comments.add_comment(db.session, me, issue.id, "text", files=files)
    db.session.rollback()
    assert stored_keys() == set() and count_rows(Attachment) == 0


# ---- Markdown ------------------------------------------------------------------------------------


def test_only_this_trackers_files_show_inline():
    html = render_markdown("![mine](/files/12/shot.png) ![theirs](https://example.com/x.png) ![up](/files/1/../admin)")
    assert '<img src="/files/12/shot.png" alt="mine" loading="lazy">' in html
    assert '<a href="https://example.com/x.png" class="image-link" rel="nofollow noopener noreferrer">' in html
    assert "Image: theirs</a>" in html
    assert html.count("<img") == 1


def test_the_download_route_is_the_one_markdown_shows(app, make_user, make_issue):
    from flask import url_for

    (outcome,) = attach(make_user(), make_issue().id, (b"x\n", "a b.txt"))
    with app.test_request_context():
        assert url_for("attachments.download", attachment_id=outcome.attachment.id, name="a b.txt") == (
            service.file_url(outcome.attachment)
        )


# ---- the issue page's cost -----------------------------------------------------------------------


def test_issue_page_statements_do_not_grow_with_files(client, login_as, make_issue, count_statements):
    me = login_as("member")
    few, many = make_issue("Few"), make_issue("Many")
    attach(me, few.id, (b"one\n", "1.txt"))
    comments.add_comment(db.session, me, few.id, "hi")
    for n in range(12):
        attach(me, many.id, (f"file {n}\n".encode(), f"{n}.txt"))
        comments.add_comment(
            db.session, me, many.id, "with a file",
            files=service.Incoming(web.store(), [service.Upload(f"c{n}.png", io.BytesIO(image(color=(n, 0, 0))))],
                                   web.limits()),
        )

    def statements(issue_id):
        db.session.expire_all()
        with count_statements() as seen:
            assert client.get(f"/issues/{issue_id}").status_code == 200
        return len(seen)

    # session, user, issue, attachments, timeline (+ its people and labels), the header's unread count, watchers,
    # the issue's duplicates
    assert statements(few.id) == statements(many.id) <= 9


# ---- orphans -------------------------------------------------------------------------------------


def test_the_sweep_removes_only_old_objects_no_row_names(make_user, make_issue):
    from datetime import timedelta

    from tracker.models import utcnow

    (outcome,) = attach(make_user(), make_issue().id, (image(), "kept.png"))
    store = web.store()
    store.put("ab/cd/orphan", io.BytesIO(b"left behind"), "text/plain")
    old = utcnow() + timedelta(hours=2)  # "now" two hours on: everything stored is old enough
    result = service.remove_orphans(db.session, store, old, timedelta(hours=1))
    assert result.removed == ["ab/cd/orphan"] and result.objects == 3
    assert stored_keys() == {outcome.attachment.storage_key, outcome.attachment.thumbnail_key}
    store.put("ab/cd/young", io.BytesIO(b"in flight"), "text/plain")
    assert service.remove_orphans(db.session, store, utcnow(), timedelta(hours=1)).removed == []


def test_sweep_command(runner, make_user, make_issue):
    web.store().put("ab/cd/orphan", io.BytesIO(b"x"), "text/plain")
    result = runner.invoke(args=["attachments", "sweep", "--older-than-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Looked at 1 stored object in local folder" in result.output
    assert "removed 1 that no attachment names" in result.output
    assert stored_keys() == set()


def test_the_worker_task_uses_the_configured_store(app, make_user, make_issue):
    from datetime import timedelta

    from tracker.attachments.tasks import sweep_orphans
    from tracker.models import utcnow

    web.store().put("ab/cd/orphan", io.BytesIO(b"x"), "text/plain")
    assert sweep_orphans(db.session, utcnow()).removed == []  # younger than ATTACHMENT_ORPHAN_MINUTES
    assert sweep_orphans(db.session, utcnow() + timedelta(minutes=61)).removed == ["ab/cd/orphan"]


# ---- the migration -------------------------------------------------------------------------------


def test_migration_0014_adds_and_removes_the_table(app, make_user, make_issue):
    """Downgrading drops the table and its timeline entries (the stored files stay); upgrading brings it back."""
    from flask_migrate import downgrade, upgrade

    me = make_user()
    issue = make_issue(reporter=me)
    attach(me, issue.id, (b"x\n", "x.txt"))
    db.session.close()
    downgrade(revision="0013")
    try:
        assert "attachments" not in sa.inspect(db.engine).get_table_names()
        kinds = db.session.execute(sa.select(IssueEvent.kind)).scalars().all()
        assert kinds == ["created"] and len(stored_keys()) == 1
        db.session.close()
        upgrade()
        assert count_rows(Attachment) == 0
    finally:
        db.session.rollback()
        db.session.close()
        upgrade()
