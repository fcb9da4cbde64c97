"""The issue page's context, shared by the issue views and the comment views that re-render it."""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm

from .. import access
from ..attachments import service as attachments_service
from ..extensions import db
from ..formatting import prefetch_issue_references
from ..htmx import render
from ..labels import service as labels_service
from ..models import Issue
from ..notifications import service as notifications_service
from . import duplicates, queries, service
from .forms import CommentForm, IssueForm
from .timeline import load_timeline


def issue_page(
    issue_id: int,
    block: str | None = None,
    comment_form: FlaskForm | None = None,
    status: int = 200,
    quick_errors: dict | None = None,
):
    """Render the issue page (or one of its blocks): fields with their quick changes, attachments, timeline,
    comment form."""
    issue = service.get_issue(db.session, issue_id)
    attachments = None
    if block in (None, "issue_timeline", "issue_attachments"):
        attachments = attachments_service.issue_attachments(db.session, issue_id)
    timeline = None
    if block in (None, "issue_timeline"):
        timeline = load_timeline(db.session, issue_id, attachments=attachments)
    quick = quick_form(issue) if block in (None, "issue_main") else None
    duplicate_ids = duplicates.duplicates_of(db.session, issue_id) if block in (None, "issue_main") else []
    watching = None
    if block in (None, "issue_main"):
        watching = notifications_service.watching(db.session, current_user, issue_id)
    prefetch_issue_references(
        [issue.description] + [e.comment.body for e in (timeline.entries if timeline else []) if e.comment]
    )
    return render(
        "issues/show.html",
        block=block,
        status=status,
        issue=issue,
        attachments=attachments,
        timeline=timeline,
        quick=quick,
        duplicate_ids=duplicate_ids,
        watching=watching,
        quick_errors=quick_errors or {},
        comment_form=comment_form or CommentForm(formdata=None),
    )


def quick_form(issue: Issue) -> IssueForm | None:
    """The choices of the issue page's quick changes (status, priority, assignee, labels), for who may edit."""
    if not access.may_edit_issues(current_user):
        return None
    form = IssueForm(formdata=None)
    form.set_choices(
        queries.people(db.session), issue.status, issue.assignee_id, labels_service.all_labels(db.session)
    )
    return form
