"""Views: POST /issues/bulk, the bulk bar's change of many issues at once (the list page shows the bar)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from flask import flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import access
from ..errors import InvalidInput
from ..extensions import db
from ..htmx import block_for, go, render
from ..issues import queries
from ..issues.views import list_page, per_page
from ..numbers import whole_number
from ..security import refuse_nul_fields
from ..trash import service as trash_service
from . import bp, service


@bp.post("/issues/bulk")
def apply():
    """Change many issues at once, all or nothing; blockers are listed with the selection kept."""
    access.require_edit_issues(current_user)
    view, filter_errors, labels = _list_filter()
    view.page = whole_number(request.form.get("page", ""), queries.MAX_PAGE) or 1
    selected = request.form.getlist("issue_ids")
    report = BulkReport(form=request.form)
    try:
        change = service.parse_change(db.session, request.form)
        if request.form.get("all_matching") == "1":
            if filter_errors:
                # A filter with a bad value would match more issues than the list showed: change none.
                raise InvalidInput(filter_errors, "The filter is not valid, so no issue was changed.")
            ids, versions = service.matching_ids(db.session, view), None
        else:
            ids = service.parse_ids(selected)
            versions = service.parse_versions(ids, request.form, required=True)
        result = service.apply_bulk(db.session, current_user, ids, versions, change)
    except InvalidInput as exc:
        # The bar marks no field: it lists the problems under one sentence.
        report.message = "Nothing was changed:" if exc.message == InvalidInput.DEFAULT_MESSAGE else exc.message
        report.errors = exc.errors
        return _bulk_failed(view, _list_filter()[2], report, 422, selected, filter_errors)
    except service.BulkRejected as exc:
        report.message, report.blockers = exc.message, exc.blockers
        return _bulk_failed(view, _list_filter()[2], report, exc.status, selected)
    if not block_for(["bulk_form"]):
        flash(result.summary, "success")
        return redirect(url_for("issues.index", **view.query_args()), 303)
    page_ids = {n for n in map(whole_number, request.form.getlist("page_ids")) if n is not None}
    refreshed = queries.issues_by_ids(db.session, sorted(page_ids & set(result.changed_ids)))
    return _bulk_bar(view, labels, BulkReport(ok=True, message=result.summary), 200, refreshed)


@bp.post("/issues/bulk-delete")
def delete():
    """Admins move the ticked issues (or all matching the filter) to the trash, all or none. Asked first: htmx with
    its own question (confirmed=1), without JavaScript on a page listing them."""
    access.require_manage_trash(current_user)
    view, filter_errors, labels = _list_filter()
    selected = request.form.getlist("issue_ids")
    report = BulkReport(form=request.form)
    try:
        if request.form.get("all_matching") == "1":
            if filter_errors:
                raise InvalidInput(filter_errors, "The filter is not valid, so no issue was deleted.")
            ids, versions = service.matching_ids(db.session, view), None
        else:
            ids = trash_service.clean_ids(selected)
            versions = service.parse_versions(ids, request.form, required=True)
        if request.form.get("confirmed") != "1":
            return render("trash/bulk_delete.html", view=view, issues=queries.issues_by_ids(db.session, ids),
                          count=len(ids), form=request.form)
        count = trash_service.delete_issues(db.session, current_user, ids, versions)
    except InvalidInput as exc:
        report.message = "Nothing was deleted:" if exc.message == InvalidInput.DEFAULT_MESSAGE else exc.message
        report.errors = exc.errors
        return _bulk_failed(view, _list_filter()[2], report, 422, selected, filter_errors)
    except (trash_service.TrashConflict, service.TooMany) as exc:
        report.message = exc.message
        return _bulk_failed(view, _list_filter()[2], report, exc.status, selected)
    flash(f"Moved {count:,} issue{'' if count == 1 else 's'} to the trash; admins can restore them from there.",
          "success")
    return go(url_for("issues.index", **view.query_args()))


def _list_filter():
    """The list's filter the bar was sent from: (view, its errors, the labels). Read again after a failed change,
    which rolled back: a label deleted meanwhile is then gone from the list too."""
    args = MultiDict(parse_qsl(request.form.get("filter", ""), keep_blank_values=False))
    refuse_nul_fields(args.items(multi=True), within=" of the list's filter")  # its %00 passed the request's guard
    return queries.load_filter(db.session, args, me_id=current_user.id)


def _bulk_bar(view, labels, report: BulkReport, status: int, refreshed: list):
    """The htmx answer to a bulk change: the bar with its report, the counts, and the changed rows refreshed."""
    return render(
        "issues/bulk_done.html",
        status=status,
        view=view,
        users=queries.people(db.session),  # first: the rows' assignees are then taken from the session
        page=queries.list_issues(db.session, view, per_page=per_page(), count_cap=queries.PAGE_COUNT_CAP),
        labels=labels,
        bulk=report,
        refreshed=refreshed,
    )


@dataclass
class BulkReport:
    """What the bulk bar reports: the message, per-field errors, blocking issues, the submitted form."""

    ok: bool = False
    message: str = ""
    errors: dict = field(default_factory=dict)
    blockers: list = field(default_factory=list)
    form: dict = field(default_factory=dict)


def _bulk_failed(view, labels, report: BulkReport, status: int, selected: list[str], filter_errors: dict | None = None):
    """The bar with the report (htmx) or the whole list with the selection kept and the filter's own errors
    (no JavaScript)."""
    selected_ids = {n for n in map(whole_number, selected) if n is not None}
    if block_for(["bulk_form"]):
        return _bulk_bar(view, labels, report, status, [])
    return list_page(view, filter_errors or {}, labels, status=status, bulk=report, selected_ids=selected_ids)
