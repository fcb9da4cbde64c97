"""Views: post a comment (appended in place with htmx), edit and delete one's own comment."""

from flask import redirect, request, url_for
from flask_login import current_user

from .. import access
from ..attachments import service as attachments_service
from ..attachments import web as attachments_web
from ..errors import InvalidInput, StaleVersion
from ..extensions import db
from ..forms import apply_errors
from ..htmx import block_for, render, targets
from ..issues.forms import CommentForm
from ..issues.pages import issue_page
from ..issues.service import get_issue
from . import bp, service

STALE_MOVE = (
    "Someone changed this issue since you opened it, so its status was not changed and your comment is not posted "
    "yet. Check the issue above, then post again."
)


@bp.post("/issues/<int:issue_id>/comments")
def create(issue_id: int):
    """Post a comment (with any files chosen): htmx appends it and clears the form; without JS, redirect back to it."""
    form = CommentForm()
    then_status = request.form.get("then_status", "")
    try:
        if then_status:
            comment = service.comment_and_move(
                db.session, current_user, issue_id, form.body.data, request.form.get("version"), then_status,
                files=attachments_web.incoming(),
            )
        else:
            comment = service.add_comment(
                db.session, current_user, issue_id, form.body.data, files=attachments_web.incoming()
            )
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return issue_page(issue_id, block=block_for(["comment_form"]), comment_form=form, status=422)
    except StaleVersion:
        apply_errors(form, {"version": STALE_MOVE})
        response = issue_page(issue_id, block=block_for(["comment_form"]), comment_form=form, status=409)
        response.headers["HX-Trigger"] = "issue-fields-changed"
        return response
    except attachments_service.FileRefused as exc:
        apply_errors(form, {"file": exc.message + " Choose the files again."})
        return issue_page(issue_id, block=block_for(["comment_form"]), comment_form=form, status=exc.status)
    if block_for(["comment_form"]):
        files = attachments_service.comment_attachments(db.session, comment.id)
        response = render(
            "comments/posted.html",
            issue=get_issue(db.session, issue_id),
            comment_form=CommentForm(formdata=None),
            comment=comment,
            files=files,
            attachments=attachments_service.issue_attachments(db.session, issue_id) if files else None,
        )
        if then_status:  # the issue's fields changed too: its part of the page fetches itself again
            response.headers["HX-Trigger"] = "issue-fields-changed, issue-changed"
        return response
    return redirect(url_for("issues.show", issue_id=issue_id, _anchor=f"comment-{comment.id}"), 303)


@bp.get("/comments/<int:comment_id>")
def show(comment_id: int):
    """One comment as the timeline shows it: for htmx (a comment edit's Cancel puts it back in place of the form),
    else its place on the issue page."""
    comment = service.get_comment(db.session, comment_id)
    if not targets(f"comment-{comment_id}"):
        return redirect(url_for("issues.show", issue_id=comment.issue_id, _anchor=f"comment-{comment.id}"))
    return render(
        "comments/edit.html",
        block="comment_entry",
        form=None,
        comment=comment,
        editing=False,
        files=attachments_service.comment_attachments(db.session, comment_id),
    )


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(comment_id: int):
    """The author edits a comment in place (htmx) or on its own page."""
    comment = service.get_comment(db.session, comment_id)
    block = "comment_entry" if targets(f"comment-{comment_id}") else None
    if request.method == "GET":
        access.require_edit_comment(current_user, comment)
        form = _edit_form(comment_id, formdata=None, data={"body": comment.body})
        return render("comments/edit.html", block=block, form=form, comment=comment, editing=True)
    form = _edit_form(comment_id)
    try:
        comment = service.edit_comment(db.session, current_user, comment_id, form.body.data)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return render("comments/edit.html", block=block, form=form, comment=comment, editing=True, status=422)
    if block:
        return render(
            "comments/edit.html",
            block=block,
            form=form,
            comment=comment,
            editing=False,
            files=attachments_service.comment_attachments(db.session, comment_id),
        )
    return redirect(url_for("issues.show", issue_id=comment.issue_id, _anchor=f"comment-{comment.id}"), 303)


def _edit_form(comment_id: int, **kwargs) -> CommentForm:
    """The comment's edit form; its field's id is the comment's own (the page's new-comment form has the plain one)."""
    form = CommentForm(**kwargs)
    form.body.id = form.body.label.field_id = f"comment-{comment_id}-body"
    return form


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
def delete(comment_id: int):
    """The author or an admin deletes a comment (asked first on a page of its own without JavaScript);
    the timeline keeps a "deleted" mark."""
    if request.method == "GET":
        comment = service.get_comment(db.session, comment_id)
        access.require_delete_comment(current_user, comment)
        return render("comments/delete.html", comment=comment)
    comment = service.delete_comment(db.session, current_user, comment_id)
    block = "comment_entry" if targets(f"comment-{comment_id}") else None
    if block:
        return render("comments/edit.html", block=block, form=None, comment=comment, editing=False)
    return redirect(url_for("issues.show", issue_id=comment.issue_id, _anchor=f"comment-{comment.id}"), 303)
