"""Views: issue list, new issue, issue page, edit (inline with htmx) and the conflict view."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from ..errors import InvalidInput, StaleVersion
from ..extensions import db
from ..forms import apply_errors
from ..htmx import block_for, render
from ..models import EDITABLE_FIELDS
from . import bp, queries, service
from .forms import IssueForm


@bp.get("")
def index():
    """The filterable, sortable, paged list; an htmx request gets only the results."""
    view, errors = queries.parse_filter(request.args)
    page = queries.list_issues(db.session, view, per_page=_per_page())
    return render(
        "issues/list.html",
        block=block_for(["issue_results"]),
        status=400 if errors else 200,
        view=view,
        page=page,
        errors=errors,
        users=queries.people(db.session),
        sorts=queries.SORTS,
    )


def _per_page() -> int:
    from flask import current_app

    return current_app.config["ISSUES_PER_PAGE"]


def _submitted() -> dict[str, str]:
    """The editable fields present in the posted form."""
    return {name: request.form[name] for name in EDITABLE_FIELDS if name in request.form}


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create an issue; invalid input re-renders the form (422) with everything typed kept."""
    if not current_user.can_edit:
        abort(403, "Viewers can read issues but not create them.")
    form = IssueForm()
    form.set_choices(queries.people(db.session), None, None)
    if request.method == "POST":
        try:
            issue = service.create_issue(db.session, current_user, _submitted())
        except InvalidInput as exc:
            apply_errors(form, exc.errors)
            return render("issues/new.html", form=form, status=422)
        flash(f"Created issue #{issue.id}.", "success")
        return redirect(url_for("issues.show", issue_id=issue.id), 303)
    if not form.priority.data:
        form.priority.data = "medium"
        form.status.data = "open"
    return render("issues/new.html", form=form)


def _history_context(issue_id: int) -> dict:
    events = service.issue_history(db.session, issue_id)
    names = service.users_by_id(db.session, service.referenced_user_ids(events))
    return {"events": events, "user_names": names}


@bp.get("/<int:issue_id>")
def show(issue_id: int):
    """The issue page: fields and history; htmx can ask for either part alone."""
    issue = service.get_issue(db.session, issue_id)
    block = block_for(["issue_main", "issue_history"])
    context = _history_context(issue_id) if block != "issue_main" else {}
    return render("issues/show.html", block=block, issue=issue, **context)


@bp.route("/<int:issue_id>/edit", methods=["GET", "POST"])
def edit(issue_id: int):
    """Edit form with the version hidden; stale saves get the 409 conflict view with a merged form."""
    if not current_user.can_edit:
        abort(403, "Viewers can read issues but not change them.")
    issue = service.get_issue(db.session, issue_id)
    block = block_for(["issue_main"])
    if request.method == "GET":
        form = IssueForm(data={**issue.field_values(), "assignee_id": str(issue.assignee_id or ""), "version": issue.version})
        form.set_choices(queries.people(db.session), issue.status, issue.assignee_id)
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
        form.set_choices(queries.people(db.session), issue.status, issue.assignee_id)
        apply_errors(form, exc.errors)
        return render("issues/edit.html", block=block, form=form, issue=issue, status=422)
    except StaleVersion as exc:
        return _conflict(issue_id, str(exc.expected), submitted, block, choices, [])
    if block:
        response = render("issues/show.html", block="issue_main", issue=service.get_issue(db.session, issue_id))
        response.headers["HX-Trigger"] = "issue-changed"
        return response
    flash(f"Saved issue #{issue_id} (version {issue.version}).", "success")
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


def _conflict(issue_id: int, base_version: str, submitted: dict, block: str | None, choices: dict, unchosen: list):
    """Render the conflict view: the three-way merge against what others saved since `base_version`."""
    expected = service.parse_version(base_version)
    mine = service.clean_fields(db.session, submitted)
    conflict = service.build_conflict(db.session, issue_id, expected, mine)
    form = IssueForm(formdata=None, data={**conflict.merged_values, "version": conflict.issue.version})
    form.assignee_id.data = str(conflict.merged_values["assignee_id"] or "")
    form.set_choices(queries.people(db.session), conflict.issue.status, conflict.issue.assignee_id)
    ids = [v for f in conflict.fields if f.name == "assignee_id" for v in (f.base, f.theirs, f.mine)]
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
    )
