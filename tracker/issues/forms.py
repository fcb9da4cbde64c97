"""The issue page's forms: the issue form (new, edit, and the merged form of the conflict view) and the comment form."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from .. import access
from ..models import PRIORITIES, PRIORITY_LABELS, STATUS_LABELS, STATUSES, TRANSITIONS, Label, User


class IssueForm(FlaskForm):
    """Title, description, status, priority, assignee, labels and the version the edit started from."""

    title = StringField("Title")
    # data-markdown: static/attachments.js puts a pasted or dropped image in (as a file, and a link to it).
    description = TextAreaField("Description", render_kw={"data-markdown": ""})
    status = SelectField("Status", validate_choice=False)
    priority = SelectField("Priority", validate_choice=False)
    assignee_id = SelectField("Assignee", validate_choice=False)
    labels = SelectMultipleField("Labels", validate_choice=False)
    version = HiddenField()
    # Files sent with a new issue (the edit form has none: files are attached on the issue page).
    file = MultipleFileField("Attach files", render_kw={"data-attach-input": ""})

    def set_choices(
        self,
        users: Iterable[User],
        current_status: str | None,
        current_assignee_id: int | None,
        labels: Iterable[Label] = (),
        keep_status: str | None = None,
    ) -> None:
        """Offer the statuses the workflow allows from `current_status`, and the people issues can be assigned to
        (plus the current assignee, whoever it is).

        `keep_status`, the status the user chose, stays on offer even where the workflow does not allow it from
        `current_status` (someone moved the issue meanwhile), marked so, rather than the form silently showing
        another status; saving it then says why it is refused.
        """
        allowed = set(STATUSES) if current_status is None else {current_status, *TRANSITIONS[current_status]}
        self.status.choices = [
            SelectChoice(
                s,
                STATUS_LABELS[s]
                if s in allowed
                else f"{STATUS_LABELS[s]} (not allowed from {STATUS_LABELS[current_status]})",
            )
            for s in STATUSES
            if s in allowed or s == keep_status
        ]
        self.priority.choices = [SelectChoice(p, PRIORITY_LABELS[p]) for p in PRIORITIES]
        self.assignee_id.choices = [SelectChoice("", "Unassigned")] + [
            SelectChoice(
                str(u.id),
                u.name if access.may_be_assigned(u) else f"{u.name} ({'viewer' if u.active else 'deactivated'})",
            )
            for u in users
            if access.may_be_assigned(u) or u.id == current_assignee_id
        ]
        self.label_options = list(labels)


class CommentForm(FlaskForm):
    """A comment's Markdown body (the issue page's new comment, and a comment's edit)."""

    body = TextAreaField(
        "Comment",
        render_kw={
            "rows": 5,
            "placeholder": "Markdown: **bold**, `code`, lists, links; #123 links to an issue.",
            "data-markdown": "",
        },
    )
    file = MultipleFileField("Attach files", render_kw={"data-attach-input": ""})  # the new comment's files
