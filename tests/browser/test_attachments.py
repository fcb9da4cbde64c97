"""Attachments in a real browser: drop files on the issue page, paste an image into a Markdown field, see images inline
(and never a stored HTML or SVG file run as a page of Tracker); with and without JavaScript."""

from __future__ import annotations

import base64
import io
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.files import HTML, SVG, image
from tracker.attachments import service, web
from tracker.extensions import db
from tracker.models import Attachment, Comment, Issue

from .conftest import marker_survived, set_marker

pytestmark = pytest.mark.browser


def rows() -> list[Attachment]:
    """The attachments the live server committed."""
    db.session.rollback()
    return list(db.session.execute(sa.select(Attachment).order_by(Attachment.id)).scalars())


def files_transfer(page: Page, *files: tuple[bytes, str, str]):
    """A DataTransfer in the page holding these files (what a drop or a paste carries)."""
    encoded = [[base64.b64encode(content).decode(), name, kind] for content, name, kind in files]
    return page.evaluate_handle(
        """files => {
          const transfer = new DataTransfer();
          for (const [data, name, type] of files) {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            transfer.items.add(new File([bytes], name, { type }));
          }
          return transfer;
        }""",
        encoded,
    )


def paste(page: Page, selector: str, transfer) -> None:
    """Paste the transfer's files into the element, as Ctrl+V with a screenshot on the clipboard does."""
    page.locator(selector).focus()
    page.evaluate(
        """([selector, transfer]) => {
          const field = document.querySelector(selector);
          const init = { clipboardData: transfer, bubbles: true, cancelable: true };
          field.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [selector, transfer],
    )


def test_drop_files_on_the_issue_page(browsing, live_server, make_user, make_issue):
    member = make_user("member", name="Grace")
    issue = make_issue("Crash on save")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    set_marker(page)
    transfer = files_transfer(page, (image(), "screen.png", "image/png"), (b"trace\n", "trace.log", "text/plain"))
    form = page.locator("#issue-attachments form[data-attach-form]")
    form.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(form).to_have_class(re.compile(r"\bdragging\b"))
    form.dispatch_event("drop", {"dataTransfer": transfer})

    section = page.locator("#issue-attachments")
    expect(section.get_by_role("link", name="screen.png")).to_be_visible()
    expect(section.get_by_role("link", name="trace.log")).to_be_visible()
    thumbnail = section.locator(".attachment-thumb img")
    expect(thumbnail).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    # The timeline refreshes itself with the new entry; the page was not reloaded.
    expect(page.locator("#issue-timeline .event-attached")).to_contain_text("Grace attached screen.png")
    assert marker_survived(page)
    assert [a.file_name for a in rows()] == ["screen.png", "trace.log"]


def test_a_file_over_the_limit_is_refused_before_sending(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue()
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.locator("#issue-attachments form").evaluate("form => { form.dataset.maxBytes = '1000'; }")
    transfer = files_transfer(page, (b"x" * 2000, "big.log", "text/plain"))
    page.locator("#issue-attachments form").dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.locator("#issue-attachments .field-error")).to_have_text(
        "big.log is 2 KB; files of up to 1000 bytes can be attached."
    )
    assert rows() == []


def test_paste_an_image_into_a_comment_and_see_it_inline(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Layout broken")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Comment").fill("Look: ")
    page.get_by_label("Comment").evaluate("field => field.setSelectionRange(6, 6)")
    paste(page, "#comment-form textarea", files_transfer(page, (image(color="blue"), "image.png", "image/png")))
    value = page.get_by_label("Comment").input_value()
    assert re.fullmatch(r"Look: !\[(pasted-[0-9-]+\.png)\]\(attachment:\1\)", value), value
    page.get_by_role("button", name="Comment", exact=True).click()

    entry = page.locator("#timeline-entries .comment").last
    picture = entry.locator(".comment-body img")
    expect(picture).to_have_attribute("src", re.compile(r"^/files/1/pasted-[0-9-]+\.png$"))
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=picture.element_handle())
    expect(page.locator("#issue-attachments .attachment-name")).to_have_text(re.compile(r"pasted-"))
    (shot,) = rows()
    comment = db.session.execute(sa.select(Comment)).scalar_one()
    assert shot.comment_id == comment.id and f"](/files/{shot.id}/" in comment.body


def test_paste_into_an_edit_attaches_at_once(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Layout broken", reporter=member, description="Before")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.locator("#issue-main").get_by_role("link", name="Edit").click()
    description = page.get_by_label("Description")
    expect(description).to_be_visible()
    description.evaluate("field => field.setSelectionRange(field.value.length, field.value.length)")
    paste(page, "#issue-main textarea[name=description]", files_transfer(page, (image(), "diagram.png", "image/png")))
    expect(description).to_have_value(re.compile(r"^Before !\[diagram\.png\]\(/files/1/diagram\.png\)$"))
    expect(page.locator("#issue-attachments").get_by_role("link", name="diagram.png")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    picture = page.locator("#issue-main .description-body img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=picture.element_handle())
    db.session.rollback()
    assert db.session.get(Issue, issue.id).description == "Before ![diagram.png](/files/1/diagram.png)"


def test_paste_into_a_new_issue(browsing, live_server, make_user):
    member = make_user("member")
    page = browsing.page(member)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("Pasted screenshot")
    paste(page, "textarea[name=description]", files_transfer(page, (image(), "shot.png", "image/png")))
    expect(page.get_by_label("Description")).to_have_value("![shot.png](attachment:shot.png)")
    assert page.locator("input[name=file]").evaluate("input => input.files.length") == 1
    page.get_by_role("button", name="Create issue").click()
    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    picture = page.locator("#issue-main .description-body img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=picture.element_handle())


def test_attach_and_delete_without_javascript(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue()
    page = browsing.page(member, javascript=False)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.locator("#issue-attachments").get_by_label("Attach files").set_input_files(
        [
            {"name": "a.log", "mimeType": "text/plain", "buffer": b"a\n"},
            {"name": "b.png", "mimeType": "image/png", "buffer": image()},
        ]
    )
    page.locator("#issue-attachments").get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("Attached a.log, b.png.")
    page.locator("#issue-attachments").get_by_role("button", name="Delete a.log").click()
    expect(page.get_by_role("heading", name="Delete a.log?")).to_be_visible()
    page.get_by_role("button", name="Delete file").click()
    expect(page.locator(".flash-success")).to_have_text("Deleted a.log.")
    assert [a.file_name for a in rows()] == ["b.png"]


def test_delete_asks_first_with_javascript(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue()
    uploads = [service.Upload("a.log", io.BytesIO(b"a\n"))]
    service.attach_files(db.session, member, issue.id, service.Incoming(web.store(), uploads, web.limits()))
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#issue-attachments").get_by_role("button", name="Delete a.log").click()
    expect(page.locator("#issue-attachments")).to_contain_text("No files yet.")
    assert rows() == []


@pytest.mark.parametrize(("content", "name"), [(HTML, "page.html"), (SVG, "logo.svg"), (HTML, "innocent.png")])
def test_stored_markup_never_runs(app, browsing, live_server, make_user, make_issue, content, name):
    """An HTML, an SVG and a PNG-named HTML file (stored where an admin allows every kind) are downloads: neither
    the file's link nor an image pointing at it runs its script."""
    app.config["ATTACHMENT_TYPES"] = "any"
    member = make_user("member")
    issue = make_issue()
    uploads = [service.Upload(name, io.BytesIO(content))]
    incoming = service.Incoming(web.store(), uploads, web.limits())
    (outcome,) = service.attach_files(db.session, member, issue.id, incoming)
    url = service.file_url(outcome.attachment)
    from tracker.comments import service as comments

    comments.add_comment(db.session, member, issue.id, f"![look]({url})")
    page = browsing.page(member)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server(f"/issues/{issue.id}"))
    picture = page.locator(".comment-body img")
    page.wait_for_function("img => img.complete", arg=picture.element_handle())
    assert picture.evaluate("img => img.naturalWidth") == 0  # not an image: nothing rendered
    with page.expect_download() as download:
        page.locator("#issue-attachments").get_by_role("link", name=name).click()
    assert download.value.suggested_filename == name
    assert page.title().endswith("· Tracker") and dialogs == []
