"""Views: attach files to an issue, download a file or its thumbnail, delete an attachment (asked first)."""

from __future__ import annotations

import json

from flask import flash, redirect, request, url_for
from flask_login import current_user

from .. import access
from ..extensions import db
from ..htmx import block_for, render
from . import bp, service, web

BLOCK = "issue_attachments"


def _attachments_block(issue, status: int = 200, error: str = "", trigger: dict | None = None):
    """The issue page's attachments section alone (what htmx swaps in), with a message when files were refused."""
    response = render(
        "issues/show.html",
        block=BLOCK,
        status=status,
        issue=issue,
        attachments=service.issue_attachments(db.session, issue.id),
        attach_error=error,
    )
    if trigger:
        response.headers["HX-Trigger"] = json.dumps(trigger)
    return response


def _back_to(issue_id: int):
    """After a change without JavaScript: back to the issue's attachments (303)."""
    return redirect(url_for("issues.show", issue_id=issue_id, _anchor="attachments"), 303)


@bp.post("/issues/<int:issue_id>/attachments")
def upload(issue_id: int):
    """Attach the chosen files (field `file`, several): all of them, or if one is refused none, with the reason."""
    try:
        outcomes = service.attach_files(db.session, current_user, issue_id, web.incoming())
    except service.FileRefused as exc:
        issue = service.get_issue(db.session, issue_id)
        if block_for([BLOCK]):
            return _attachments_block(issue, exc.status, exc.message)
        return render(
            "attachments/refused.html",
            status=exc.status,
            issue=issue,
            message=exc.message,
            attachments=service.issue_attachments(db.session, issue_id),
        )
    if block_for([BLOCK]):
        issue = service.get_issue(db.session, issue_id)
        # The timeline refreshes itself on issue-changed; attachments.js puts pasted files' links into the text.
        return _attachments_block(issue, trigger={"issue-changed": None, "tracker:attached": web.described(outcomes)})
    flash(_summary(outcomes), "success")
    return _back_to(issue_id)


def _summary(outcomes: list[service.Attached]) -> str:
    """"Attached a.png and b.log." (and which files the issue had already)."""
    new = [o.attachment.file_name for o in outcomes if not o.duplicate]
    repeated = [o for o in outcomes if o.duplicate]
    parts = [f"Attached {', '.join(new)}." if new else ""]
    parts += [f"{o.file_name} is attached already (as {o.attachment.file_name})." for o in repeated]
    return " ".join(p for p in parts if p)


@bp.get("/files/<int:attachment_id>/<path:name>")
def download(attachment_id: int, name: str):
    """The file, for anyone who may read the issue (the name in the URL is the file's, for people and tools)."""
    access.require_read_issues(current_user)
    return web.send(service.get_attachment(db.session, attachment_id))


@bp.get("/thumbnails/<int:attachment_id>")
def thumbnail(attachment_id: int):
    """An image's small WebP thumbnail, for the issue page's list."""
    access.require_read_issues(current_user)
    return web.send(service.get_attachment(db.session, attachment_id), thumbnail=True)


@bp.route("/attachments/<int:attachment_id>/delete", methods=["GET", "POST"])
def delete(attachment_id: int):
    """The uploader or an admin deletes an attachment: asked first on a page of its own without JavaScript (htmx
    asks with hx-confirm and swaps the list); the timeline notes it."""
    if request.method == "GET":
        attachment = service.get_attachment(db.session, attachment_id)
        access.require_delete_attachment(current_user, attachment)
        return render("attachments/delete.html", attachment=attachment)
    attachment = service.delete_attachment(db.session, web.store(), current_user, attachment_id)
    if block_for([BLOCK]):
        issue = service.get_issue(db.session, attachment.issue_id)
        return _attachments_block(issue, trigger={"issue-changed": None})
    flash(f"Deleted {attachment.file_name}.", "success")
    return _back_to(attachment.issue_id)
