"""Views: delete an issue (asked first), the trash at /admin/trash, restore and purge."""

from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_login import current_user

from .. import access
from ..extensions import db
from ..htmx import go, render
from ..issues.service import get_issue
from ..numbers import whole_number
from . import bp, service


@bp.route("/issues/<int:issue_id>/delete", methods=["GET", "POST"])
def delete(issue_id: int):
    """An admin moves an issue to the trash: asked first on a page of its own without JavaScript (htmx asks with
    hx-confirm), then back to the list."""
    access.require_manage_trash(current_user)
    if request.method == "GET":
        return render("trash/delete.html", issue=get_issue(db.session, issue_id))
    service.delete_issue(db.session, current_user, issue_id, request.form.get("version"))
    flash(f"Moved issue #{issue_id} to the trash; admins can restore it from there.", "success")
    return go(url_for("issues.index"))


@bp.get("/admin/trash")
def index():
    """The issues in the trash, newest deletions first, each with Restore and Purge."""
    access.require_manage_trash(current_user)
    page = whole_number(request.args.get("page", "1"), 10_000) or 1
    retention = current_app.config["TRASH_RETENTION_DAYS"]
    return render("trash/index.html", trash=service.trash_page(db.session, page), retention=retention)


@bp.post("/admin/trash/restore")
def restore():
    """Bring the ticked issues (issue_ids) back with everything they had, all or none."""
    access.require_manage_trash(current_user)
    ids = service.clean_ids(request.form.getlist("issue_ids"))
    count = service.restore_issues(db.session, current_user, ids)
    if count == 1:
        flash(f"Restored issue #{ids[0]}.", "success")
        return go(url_for("issues.show", issue_id=ids[0]))
    flash(f"Restored {count:,} issues.", "success")
    return go(url_for("trash.index"))


@bp.route("/admin/trash/<int:issue_id>/purge", methods=["GET", "POST"])
def purge(issue_id: int):
    """Remove an issue from the trash for good (asked first); its number stays taken."""
    access.require_manage_trash(current_user)
    if request.method == "GET":
        return render("trash/purge.html", issue=service.trashed_issue(db.session, issue_id))
    service.purge_issues(db.session, current_user, [issue_id])
    flash(f"Purged issue #{issue_id}: its history, comments and files are gone; its number stays taken.", "success")
    return go(url_for("trash.index"))
