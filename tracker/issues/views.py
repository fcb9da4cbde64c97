"""Views: issue list, new issue, issue page, edit (inline with htmx) and the conflict view."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from .. import access
from ..attachments import service as attachments_service
from ..attachments import web as attachments_web
from ..errors import InvalidInput, IssueDeleted, StaleVersion
from ..extensions import db
from ..formatting import person, prefetch_issue_references, time_tag
from ..forms import apply_errors
from ..htmx import block_for, current_path, go, render
from ..labels import service as labels_service
from ..models import DESCRIPTION_MAX, EDITABLE_FIELDS, PRIORITY_LABELS, STATUS_LABELS, STATUSES
from ..numbers import whole_number
from ..search import reference as search_reference
from ..search.query import to_text
from . import bp, duplicates, queries, saved, service
from .forms import IssueForm
from .pages import issue_page
from .timeline import load_timeline

QUICK_FIELDS = ("status", "priority", "assignee_id", "labels")  # what the issue page changes without the form


@bp.get("")
def index():
    """The filterable, sortable, paged list; an htmx request gets only the results."""
    view, errors, labels = queries.load_filter(db.session, request.args, me_id=current_user.id)
    block = block_for(["issue_results"])
    form_sent = "was" in request.args or any(value == "" for _, value in request.args.items(multi=True))
    if not errors and not block and form_sent:
        # The filter form sent without JavaScript names every field, empty or not (?status=&q=...): show the same
        # list under the short URL one would bookmark, the query alone, as the htmx form pushes it. (Older URLs,
        # ?status=open&assignee=3, are answered as they are; their links and pushed URLs carry the query.)
        return redirect(url_for("issues.index", **view.query_args()))
    # A mistake in the query is shown with the rest of it applied, like a form re-rendered (422, which htmx
    # swaps); a bad parameter of another kind is a bad request.
    query_only = all(key.startswith("q") or key in ("label", "person") for key in errors)
    status = (422 if query_only else 400) if errors else 200
    return list_page(view, errors, labels, status=status, block=block)


@bp.get("/search-help")
def search_help():
    """The search language's reference, each example a link to the list it gives (the box's hint links here)."""
    labels = labels_service.all_labels(db.session)
    return render(
        "issues/search_help.html",
        rows=search_reference.rows([label.name for label in labels]),
        handle=current_user.handle,
    )


def list_page(view, errors, labels, status=200, block=None, bulk=None, selected_ids=()):
    """Render the list page (or its results block) for a filter, optionally with a bulk change report."""
    users = queries.people(db.session)  # first: the rows' assignees are then taken from the session
    page = queries.list_issues(db.session, view, per_page=per_page(), count_cap=queries.PAGE_COUNT_CAP)
    response = render(
        "issues/list.html",
        block=block,
        status=status,
        view=view,
        page=page,
        errors=errors,
        users=users,
        handles={u.id: queries.search.handle_of(u) for u in users},  # the form writes assignee:<handle>
        oob_form=bool(block),
        saved_views=None if block else saved.visible_views(db.session, current_user),  # counted lazily
        counted=False,
        saved_cap=saved.COUNT_CAP,
        canonical_q=to_text(view.query),
        labels=labels,
        sorts=queries.SORTS,
        bulk=bulk,
        selected_ids=set(selected_ids),
    )
    if block:
        response.headers["HX-Push-Url"] = url_for("issues.index", **view.query_args())
    return response


def narrowed_to_label(view: queries.IssueFilter, name: str) -> str:
    """The list's URL for the view narrowed to a label (a row's label chip; issue_rows makes each label's once)."""
    return url_for("issues.index", **view.query_args(q=view.with_label(name), page=""))


# The badges' words, escaped once.
_STATUS_BADGES = {key: escape(text) for key, text in STATUS_LABELS.items()}
_PRIORITY_BADGES = {key: escape(text) for key, text in PRIORITY_LABELS.items()}


@bp.app_template_global()
def issue_rows(issues, view: queries.IssueFilter, selected_ids=(), oob: bool = False, editable: bool = False) -> Markup:
    """The rows of the issue list (`<tr>` each); after a bulk change, the changed rows out of band, each wrapped in
    `<template>` (the HTML parser would drop a `<tr>` outside a table). editable adds the bulk bar's checkbox.

    Written here rather than as a Jinja macro: a page has fifty rows, and the macro spent about a fifth of the list
    page's time escaping numbers and calling filters, sixteen escapes a row. Here only what people wrote is escaped
    (the title, label names, the assignee's name), and each label's chip is made once per call."""
    show_url = url_for("issues.show", issue_id=0)[:-1]  # /issues/<number>: the number is the last part of the path
    chips: dict[int, str] = {}
    parts = []
    for issue in issues:
        number = issue.id
        href = f"{show_url}{number}"
        labels = issue.labels
        for label in labels:
            if label.id not in chips:
                chips[label.id] = (
                    f'<a class="label-chip label-{label.id}" href="{escape(narrowed_to_label(view, label.name))}">'
                    f"{escape(label.name)}</a> "
                )
        select = (
            f"""
  <td class="select-cell">
    <input type="checkbox" name="issue_ids" value="{number}" form="bulk-form" aria-label="Select #{number}" \
{"checked" if number in selected_ids else ""}>
    <input type="hidden" name="version_{number}" value="{issue.version}" form="bulk-form">
  </td>"""
            if editable
            else ""
        )
        status, priority = issue.status, issue.priority
        row = f"""<tr id="issue-{number}"{' hx-swap-oob="true"' if oob else ""}>{select}
  <td class="num"><a href="{href}">#{number}</a></td>
  <td class="title-cell"><a href="{href}">{escape(issue.title)}</a>
    {"".join(chips[label.id] for label in labels)}</td>
  <td class="status-cell"><span class="badge status-{status}">{_STATUS_BADGES[status]}</span></td>
  <td class="priority-cell"><span class="badge priority-{priority}">{_PRIORITY_BADGES[priority]}</span></td>
  <td class="assignee-cell">{person(issue.assignee)}</td>
  <td class="updated-cell">{time_tag(issue.updated_at, "relative")}</td>
</tr>"""
        parts.append(f"<template>{row}</template>" if oob else row)
    return Markup("\n".join(parts))


def per_page() -> int:
    """Issues per list page (configurable, so tests can page small lists)."""
    return current_app.config["ISSUES_PER_PAGE"]


def _submitted() -> dict:
    """The editable fields present in the posted form (labels as the list of ticked label ids)."""
    values: dict = {name: request.form[name] for name in EDITABLE_FIELDS if name in request.form and name != "labels"}
    if "labels" in request.form:
        values["labels"] = request.form.getlist("labels")
    return values


def _choices(form: IssueForm, status: str | None, assignee_id: int | None, keep_status: str | None = None) -> None:
    form.set_choices(
        queries.people(db.session), status, assignee_id, labels_service.all_labels(db.session), keep_status
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create an issue (with any files chosen); invalid input re-renders the form (422; a refused file 413 or 422)
    with everything typed kept (files must be chosen again: a browser cannot put them back)."""
    access.require_edit_issues(current_user)
    form = IssueForm()
    _choices(form, None, None)
    if request.method == "POST":
        try:
            issue = service.create_issue(db.session, current_user, _submitted(), files=attachments_web.incoming())
        except InvalidInput as exc:
            apply_errors(form, exc.errors)
            return render("issues/new.html", form=form, status=422)
        except attachments_service.FileRefused as exc:
            apply_errors(form, {"file": exc.message + " Choose the files again."})
            return render("issues/new.html", form=form, status=exc.status)
        flash(f"Created issue #{issue.id}.", "success")
        flash("new-issue", "draft-saved")  # the browser's draft of the form ends (static/drafts.js)
        return redirect(url_for("issues.show", issue_id=issue.id), 303)
    if not form.priority.data:
        form.priority.data = "medium"
        form.status.data = "open"
    return render("issues/new.html", form=form)


@bp.get("/<int:issue_id>")
def show(issue_id: int):
    """The issue page: fields, timeline and comment form; htmx can ask for one part alone. An issue in the trash
    is not found (404); those who may see the trash are told who deleted it and when, and may restore it."""
    try:
        return issue_page(issue_id, block=block_for(["issue_main", "issue_attachments", "issue_timeline"]))
    except IssueDeleted as exc:
        if not access.may_manage_trash(current_user):
            raise
        db.session.rollback()
        return render("issues/deleted.html", status=404, deleted=exc)


@bp.get("/<int:issue_id>/timeline")
def timeline(issue_id: int):
    """Earlier timeline entries (before=<entry id>): a page without JavaScript, the entries for htmx."""
    before = request.args.get("before", "")
    if before and whole_number(before) is None:
        abort(400, "before must be a timeline entry number.")
    issue = service.get_issue(db.session, issue_id)
    entries = load_timeline(db.session, issue_id, before=int(before) if before else None)
    prefetch_issue_references(e.comment.body for e in entries.entries if e.comment)
    block = "timeline_earlier" if block_for(["timeline_earlier"]) else None
    return render("issues/timeline.html", block=block, issue=issue, timeline=entries)


@bp.route("/<int:issue_id>/edit", methods=["GET", "POST"])
def edit(issue_id: int):
    """Edit form with the version hidden; stale saves get the 409 conflict view with a merged form."""
    access.require_edit_issues(current_user)
    issue = service.get_issue(db.session, issue_id)
    block = block_for(["issue_main"])
    if request.method == "GET":
        values = issue.field_values()
        form = IssueForm(
            data={
                **values,
                "assignee_id": str(issue.assignee_id or ""),
                "labels": [str(i) for i in values["labels"]],
                "version": issue.version,
            }
        )
        _choices(form, issue.status, issue.assignee_id)
        return render("issues/edit.html", block=block, form=form, issue=issue)

    submitted = _submitted()
    resolving = request.form.getlist("conflict")
    choices = {name: request.form.get(f"choose_{name}", "") for name in resolving}
    unchosen = [name for name, choice in choices.items() if choice not in ("mine", "theirs")]
    if unchosen:
        base_version = request.form.get("base_version", request.form.get("version", ""))
        return _conflict(issue_id, base_version, submitted, block, choices, unchosen)
    try:
        issue = service.update_issue(
            db.session,
            current_user,
            issue_id,
            request.form.get("version"),
            submitted,
            take_theirs=[name for name, choice in choices.items() if choice == "theirs"],
        )
    except InvalidInput as exc:
        form = IssueForm()
        _choices(form, issue.status, issue.assignee_id, keep_status=form.status.data)
        apply_errors(form, exc.errors)
        return render("issues/edit.html", block=block, form=form, issue=issue, status=422)
    except StaleVersion as exc:
        # Saved again meanwhile: the fields where they chose the saved value carry that value (as they saw it) into
        # the new merge, not what they had typed; else a second conflict would offer their own text as "yours".
        taken = [name for name, choice in choices.items() if choice == "theirs"]
        if taken:
            seen, _later = service.values_at_version(db.session, service.get_issue(db.session, issue_id), exc.expected)
            submitted = {**submitted, **{name: seen[name] for name in taken if name in seen}}
        return _conflict(issue_id, str(exc.expected), submitted, block, choices, [])
    return _saved(issue_id, block)


def _saved(issue_id: int, block: str | None):
    """After a save: the issue swapped in place when the page is the issue's own, else to the issue page (an edit
    page opened directly lands on the issue, with JavaScript as without)."""
    show_url = url_for("issues.show", issue_id=issue_id)
    if block and current_path() in (None, show_url):  # htmx names the page; a client that does not is in place
        response = issue_page(issue_id, block="issue_main")
        response.headers["HX-Trigger"] = "issue-changed"
        return response
    flash(f"Saved issue #{issue_id}.", "success")
    return go(show_url)


@bp.post("/<int:issue_id>/quick")
def quick(issue_id: int):
    """One field (status, priority, assignee or labels) changed from the issue page's sidebar, carrying the version
    like any save: a stale one gets the 409 conflict view; a refused one the issue page with the reason (422)."""
    access.require_edit_issues(current_user)
    name = request.form.get("field", "")
    if name not in QUICK_FIELDS:
        abort(400, f"field must be one of {', '.join(QUICK_FIELDS)}.")
    if name == "labels":  # no box ticked sends no labels at all: that is the empty set
        submitted = {"labels": [v for v in request.form.getlist("labels") if v]}
    else:
        submitted = {name: request.form.get(name, "")}
    block = block_for(["issue_main"])
    try:
        service.update_issue(db.session, current_user, issue_id, request.form.get("version"), submitted)
    except InvalidInput as exc:
        service.get_issue(db.session, issue_id)  # a missing issue is a 404, not a form error
        return issue_page(issue_id, block=block, status=422, quick_errors=_errors_on(exc.errors, name))
    except StaleVersion as exc:
        return _conflict(issue_id, str(exc.expected), submitted, block, {}, [])
    return _saved(issue_id, block)


@bp.post("/<int:issue_id>/duplicate")
def duplicate(issue_id: int):
    """Close as duplicate of #N (duplicate_of) from the issue page, carrying the version like any save; a refused
    number gets the issue page with the reason (422), a stale version says the issue changed (409)."""
    access.require_edit_issues(current_user)
    block = block_for(["issue_main"])
    try:
        duplicates.close_as_duplicate(
            db.session, current_user, issue_id, request.form.get("version"), request.form.get("duplicate_of")
        )
    except InvalidInput as exc:
        service.get_issue(db.session, issue_id)  # a missing issue is a 404, not a form error
        return issue_page(issue_id, block=block, status=422, quick_errors=_errors_on(exc.errors, "duplicate_of"))
    except StaleVersion:
        message = (
            "Someone changed this issue since you loaded it; here it is as it is now. "
            "Close it again if you still want to."
        )
        return issue_page(issue_id, block=block, status=409, quick_errors={"duplicate_of": message})
    return _saved(issue_id, block)


@bp.route("/<int:issue_id>/revert/<int:event_id>/<field>", methods=["GET", "POST"])
def revert(issue_id: int, event_id: int, field: str):
    """Take back one field change of the timeline (asked first): the old value is saved as a normal guarded edit
    from the issue's current version; if the field changed again since, the conflict view shows both."""
    access.require_edit_issues(current_user)
    change = service.find_revert(db.session, issue_id, event_id, field)
    if request.method == "GET":
        issue = service.get_issue(db.session, issue_id)
        ids = [v for v in (change.old, change.new, issue.assignee_id) if field == "assignee_id"]
        label_ids = set(change.old or []) | set(change.new or []) if field == "labels" else set()
        return render(
            "issues/revert.html",
            issue=issue,
            change=change,
            changed_since=issue.field_values()[field] != change.new,
            user_names=service.users_by_id(db.session, ids),
            label_names={i: label.name for i, label in labels_service.by_ids(db.session, label_ids).items()},
        )
    try:
        service.revert_change(db.session, current_user, issue_id, event_id, field, request.form.get("version"))
    except StaleVersion as exc:
        return _conflict(issue_id, str(exc.expected), {field: change.raw_old}, None, {}, [])
    flash(f"Reverted the change of {field.removesuffix('_id')} on #{issue_id}.", "success")
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


@bp.post("/<int:issue_id>/tasks")
def tick(issue_id: int):
    """Tick or untick a task list item of the description (task=<index>, done=1 or 0): a guarded description edit."""
    access.require_edit_issues(current_user)
    block = block_for(["issue_main"])
    try:
        description = service.ticked_description(
            db.session, issue_id, request.form.get("version"), request.form.get("task", ""),
            request.form.get("done") == "1",
        )
        submitted = {"description": description}
        service.update_issue(db.session, current_user, issue_id, request.form.get("version"), submitted)
    except InvalidInput as exc:
        return issue_page(issue_id, block=block, status=422, quick_errors=_errors_on(exc.errors, "description"))
    except StaleVersion as exc:
        return _conflict(issue_id, str(exc.expected), submitted, block, {}, [])
    return _saved(issue_id, block)


def _errors_on(errors: dict, name: str) -> dict:
    """A quick change's problems, a version problem shown with the field that was changed."""
    return {name if key == "version" else key: message for key, message in errors.items()}


@bp.post("/preview")
def preview():
    """A Markdown field's Preview tab: the text rendered exactly as the page will show it (a fragment)."""
    access.require_comment(current_user)
    source = request.form.get("text", "")
    if len(source) > DESCRIPTION_MAX:
        return render("issues/preview.html", too_long=len(source), source="", status=413)
    return render("issues/preview.html", source=source, too_long=None)


def _conflict(issue_id: int, base_version: str, submitted: dict, block: str | None, choices: dict, unchosen: list):
    """Render the conflict view: the three-way merge against what others saved since `base_version`."""
    expected = service.parse_version(base_version)
    # What the user typed is shown even where it is invalid (an emptied title, a label deleted meanwhile); the
    # problems are marked on the merged form, so nothing typed is lost.
    mine, errors = service.clean_fields_keeping(db.session, submitted)
    conflict = service.build_conflict(db.session, issue_id, expected, mine)
    merged = conflict.merged_values
    form = IssueForm(
        formdata=None,
        data={
            **merged,
            "assignee_id": str(merged["assignee_id"] or ""),
            "labels": [str(i) for i in merged["labels"]],
            "version": conflict.issue.version,
        },
    )
    _choices(form, conflict.issue.status, conflict.issue.assignee_id, keep_status=merged["status"])
    if "status" not in errors and merged["status"] in STATUSES:
        try:
            service.check_transition(conflict.issue.status, merged["status"])
        except InvalidInput as exc:
            errors.update(exc.errors)
    apply_errors(form, errors)
    ids = [v for f in conflict.fields if f.name == "assignee_id" for v in (f.base, f.theirs, f.mine)]
    label_ids = {i for f in conflict.fields if f.name == "labels" for v in (f.base, f.theirs, f.mine) for i in v}
    return render(
        "issues/conflict.html",
        block=block,
        status=422 if unchosen else 409,
        issue=conflict.issue,
        conflict=conflict,
        form=form,
        choices=choices,
        unchosen=unchosen,
        user_names=service.users_by_id(db.session, ids),
        label_names={i: label.name for i, label in labels_service.by_ids(db.session, label_ids).items()},
    )
