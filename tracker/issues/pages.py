"""The issue page's context, shared by the issue views and the comment views that re-render it."""

from __future__ import annotations

from flask_wtf import FlaskForm

from ..attachments import service as attachments_service
from ..extensions import db
from ..htmx import render
from . import service
from .forms import CommentForm
from .timeline import load_timeline


def issue_page(issue_id: int, block: str | None = None, comment_form: FlaskForm | None = None, status: int = 200):
    """Render the issue page (or one of its blocks): fields, attachments, timeline, comment form."""
    issue = service.get_issue(db.session, issue_id)
    attachments = None
    if block in (None, "issue_timeline", "issue_attachments"):
        attachments = attachments_service.issue_attachments(db.session, issue_id)
    timeline = None
    if block in (None, "issue_timeline"):
        timeline = load_timeline(db.session, issue_id, attachments=attachments)
    return render(
        "issues/show.html",
        block=block,
        status=status,
        issue=issue,
        attachments=attachments,
        timeline=timeline,
        comment_form=comment_form or CommentForm(formdata=None),
    )
