"""Views: the import page, the check (preview), the import itself, its result, history, and CSV export."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from .. import access
from ..errorpages import html_error
from ..errors import InvalidInput, TooLarge
from ..extensions import db
from ..htmx import block_for, go, is_htmx, render
from ..issues import queries, saved
from ..models import utcnow
from ..numbers import whole_number
from ..transfers import content_disposition, drain_request_body
from . import bp, export, service, staging
from . import undo as undo_service
from .parse import TARGETS, FileProblem
from .validate import UNASSIGNED
from .writer import ImportFailed

ME = "{me}"  # in the template's rows: the email of the person downloading it, so the file checks clean for them
TEMPLATE_ROWS = [
    ["title", "description", "status", "priority", "assignee", "labels", "created_at", "resolved_at"],
    ["Login page times out", "Steps:\n1. open /login\n2. wait", "open", "high", ME, "bug; login", "", ""],
    ["Write the release notes", "", "in_progress", "medium", "", "docs", "2026-01-31T09:00:00Z", ""],
    ["Fix the typo on the home page", "", "resolved", "low", "", "", "2026-01-05T10:00:00Z", "2026-01-06T16:30:00Z"],
]


def _limit_mb() -> int:
    """The upload limit in MB."""
    return current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)


def _upload_page(status: int = 200, error: str = "", policy: str = "all_or_nothing") -> Response:
    """The import page; for htmx only its form (with the error) is swapped."""
    return render(
        "imports/new.html",
        block=block_for(["import_form"]),
        status=status,
        error=error,
        policy=policy,
        limit_mb=_limit_mb(),
        limit_bytes=current_app.config["MAX_CONTENT_LENGTH"],
        targets=TARGETS,
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An upload over the limit: drain it (so the browser gets the answer, not a reset) and say so."""
    drain_request_body()
    message = (
        f"The file is larger than the {_limit_mb()} MB upload limit. "
        "Split it into smaller files (each with the header row) and import them one by one."
    )
    if is_htmx() or request.endpoint != "imports.upload":
        return html_error(413, message)
    return _upload_page(413, message)


@bp.get("/import")
def new():
    """The upload form with the columns described and a template to download."""
    access.require_import(current_user)
    return _upload_page()


@bp.get("/import/template.csv")
def template():
    """A CSV with the header and three example rows, one assigned to the person downloading it."""
    rows = [[current_user.email if cell == ME else cell for cell in row] for row in TEMPLATE_ROWS]
    body = "".join(export.csv_text(rows))
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="tracker-import-template.csv"'}
    )


@bp.post("/import")
def upload():
    """Stage the file; dry_run=1 shows the check, otherwise import it at once with the policy."""
    access.require_import(current_user)
    file = request.files.get("file")
    policy = request.form.get("policy", "")
    if file is None or not file.filename:
        return _upload_page(422, "Choose a CSV file to import.", policy)
    try:
        policy = service.parse_policy(policy)
    except InvalidInput as exc:
        return _upload_page(422, exc.errors["policy"])
    try:
        run = staging.stage(
            db.session,
            current_user,
            file.filename,
            file.stream,
            staging.StagingLimits.from_config(current_app.config),
            request.content_length,
        )
    except FileProblem as exc:
        return _upload_page(422, f"{staging.clean_file_name(file.filename)}: {exc.message}", policy)
    except TooLarge as exc:
        return _upload_page(413, exc.message, policy)
    if request.form.get("dry_run", "") in ("1", "true", "on", "yes"):
        return go(url_for("imports.check", run_id=run.id))
    file_name, run_id = run.file_name, run.id
    try:
        return _import(run, policy, staging.mapping_of(run), one_request=True)
    except FileProblem as exc:  # found past the first row, while importing: nothing was written
        staging.record_failure(db.session, run_id, exc.message)
        return _upload_page(422, f"{file_name}: {exc.message}", policy)
    except ImportFailed as exc:
        staging.record_failure(db.session, run_id, exc.message)
        raise


def _owned_run(run_id: int):
    """The run, if the signed-in user may work with it."""
    run = staging.get_run(db.session, run_id)
    access.require_manage_import(current_user, run)
    return run


def _check_page(run, status: int = 200, message: str = "", errors: dict | None = None, mapping=None, policy=None):
    """The preview: counts, first rows, invalid rows, the mapping form and the import form; for a file that
    cannot be read to the end, its problem and the way to upload a fixed one (422)."""
    try:
        report = service.check(db.session, run, mapping)
    except FileProblem as exc:
        return _unreadable_page(run, exc.message)
    return render(
        "imports/check.html",
        status=status,
        report=report,
        run=run,
        message=message,
        errors=errors or {},
        policy=policy or run.policy or "all_or_nothing",
        targets=TARGETS,
        users=[u for u in queries.people(db.session) if access.may_be_assigned(u)],
        unassigned=UNASSIGNED,
        policies=service.POLICY_LABELS,
    )


def _unreadable_page(run, problem: str):
    """The check page of a staged file that cannot be read to the end: the problem, nothing else to do (422)."""
    return render("imports/check.html", status=422, report=service.unreadable_report(run, problem), run=run)


@bp.get("/imports/<int:run_id>/check")
def check(run_id: int):
    """Check every row of a staged file and show what an import would do; nothing is written."""
    run = _owned_run(run_id)
    if run.state != "staged":
        return redirect(url_for("imports.show", run_id=run_id), 303)
    chosen = request.args.get("policy", "")  # kept by "Check again", so the Import button follows it without JS
    return _check_page(run, policy=chosen if chosen in service.POLICY_LABELS else None)


@bp.post("/imports/<int:run_id>/check")
def recheck(run_id: int):
    """Keep the mapping chosen on the preview and check again."""
    run = _owned_run(run_id)
    if run.state != "staged":
        return redirect(url_for("imports.show", run_id=run_id), 303)
    try:
        mapping = service.mapping_from_form(run, request.form)
    except InvalidInput as exc:
        return _check_page(run, 422, exc.message, exc.errors)
    service.save_mapping(db.session, run, mapping)
    chosen = request.form.get("policy", "")
    return go(url_for("imports.check", run_id=run_id, policy=chosen if chosen in service.POLICY_LABELS else None))


@bp.post("/imports/<int:run_id>/import")
def run_import(run_id: int):
    """Import the staged file with the mapping on the form and the chosen policy."""
    run = _owned_run(run_id)
    if run.state != "staged":
        flash(f"{run.file_name} was imported already.", "info")
        return redirect(url_for("imports.show", run_id=run_id), 303)
    try:
        policy = service.parse_policy(request.form.get("policy"))
        mapping = service.mapping_from_form(run, request.form)
    except InvalidInput as exc:
        return _check_page(run, 422, exc.message, exc.errors)
    service.save_mapping(db.session, run, mapping)
    # The check page says how many rows it found invalid: with all-or-nothing those are refused before writing.
    expect_invalid = (whole_number(request.form.get("checked_invalid")) or 0) > 0
    try:
        return _import(run, policy, mapping, expect_invalid)
    except FileProblem as exc:  # found while importing: nothing was written
        return _unreadable_page(run, exc.message)


def _import(run, policy: str, mapping, expect_invalid: bool = False, one_request: bool = False) -> Response:
    """Run the import; a rejected all-or-nothing import shows the check again with the reason (422), and, when
    the file was sent to be imported at once, keeps the reason in the history."""
    run_id = run.id
    try:
        service.run_import(db.session, current_user, run, policy, mapping, expect_invalid)
    except service.ImportRejected as exc:
        if one_request:
            staging.record_failure(db.session, run_id, exc.message)
        return _check_page(run, 422, exc.message, mapping=mapping, policy=policy)
    except staging.AlreadyImported as exc:
        flash(exc.message, "info")
        return go(url_for("imports.show", run_id=run_id))
    summary = f"Imported {run.created_count:,} issue{'' if run.created_count == 1 else 's'} from {run.file_name}"
    if run.rejected_count:
        summary += f"; {run.rejected_count:,} row{'' if run.rejected_count == 1 else 's'} rejected"
    flash(summary + ".", "success")
    return go(url_for("imports.show", run_id=run_id))


@bp.get("/imports/<int:run_id>")
def show(run_id: int):
    """An import's result: issues created, rows rejected, the rejected rows to download."""
    run = staging.get_run(db.session, run_id)
    may_manage = access.may_manage_import(current_user, run)
    if run.state == "staged":
        if may_manage:
            return redirect(url_for("imports.check", run_id=run_id), 303)
        abort(404, f"Import {run_id} has not been run.")
    return render(
        "imports/show.html",
        run=run,
        may_download=may_manage,
        policies=service.POLICY_LABELS,
        undone=undo_service.is_undone(run),
    )


@bp.route("/imports/<int:run_id>/undo", methods=["GET", "POST"])
def undo(run_id: int):
    """Undo an import: its issues move to the trash, all or none. Asked first on a page that lists the issues changed
    since it ran (number, what, who); then nothing is undone unless "undo the untouched ones only" is chosen."""
    run = staging.get_run(db.session, run_id)
    access.require_undo_import(current_user, run)
    if request.method == "POST":
        try:
            moved = undo_service.undo_import(
                db.session, current_user, run_id, untouched_only=request.form.get("untouched_only") == "1"
            )
        except undo_service.ImportChanged as exc:
            run = staging.get_run(db.session, run_id)
            return render("imports/undo.html", run=run, changed=exc.changed, total=exc.total, status=409,
                          message=exc.message)
        flash(f"Undid the import of {run.file_name}: {moved:,} issue{'' if moved == 1 else 's'} moved to the trash.",
              "success")
        return go(url_for("imports.show", run_id=run_id))
    if undo_service.is_undone(run):
        return redirect(url_for("imports.show", run_id=run_id), 303)
    changed, total = undo_service.changed_issues(db.session, run_id)
    return render("imports/undo.html", run=run, changed=changed, total=total)


@bp.post("/imports/<int:run_id>/redo")
def redo(run_id: int):
    """Redo an undone import: every issue its undo moved to the trash comes back, all at once."""
    restored = undo_service.redo_import(db.session, current_user, run_id)
    flash(f"Restored {restored:,} issue{'' if restored == 1 else 's'} of this import from the trash.", "success")
    return go(url_for("imports.show", run_id=run_id))


@bp.get("/imports/<int:run_id>/rejected.csv")
def rejected(run_id: int):
    """The rejected (or, before importing, invalid) rows with an error column, ready to fix and import again."""
    run = _owned_run(run_id)
    stem = run.file_name.rsplit(".", 1)[0] or "import"
    try:
        rows = service.rejected_rows(db.session, run)  # a staged file is read to its end before streaming starts
    except FileProblem as exc:
        return _unreadable_page(run, exc.message)
    return Response(
        stream_with_context(export.csv_text(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(stem, "-rejected.csv", fallback="import")},
    )


@bp.get("/imports")
def index():
    """Every import: who, when, which file, what it created and rejected, and with which policy; 50 a page."""
    try:
        history = staging.history(db.session, request.args.get("page"))
    except InvalidInput as exc:
        abort(400, " ".join(exc.errors.values()))
    return _history_page(history)


def _history_page(history, status: int = 200) -> Response:
    """The imports page: files waiting to be imported (checked, failed) for this person, then the history."""
    return render(
        "imports/index.html",
        block=block_for(["waiting_imports"]),
        status=status,
        history=history,
        waiting=staging.waiting(db.session, current_user),
        policies=service.POLICY_LABELS,
    )


@bp.post("/imports/<int:run_id>/discard")
def discard_run(run_id: int):
    """Discard a staged file (its uploader or an admin): it is deleted, the history keeps nothing of it."""
    run = staging.discard_run(db.session, current_user, run_id)
    if block_for(["waiting_imports"]):
        return _history_page(staging.history(db.session, 1))
    flash(f"Discarded {run.file_name}.", "success")
    return redirect(url_for("imports.index"), 303)


@bp.get("/issues/export.csv")
def export_csv():
    """Every issue matching the list's filter (or a saved view's query, view=<id>) as CSV, streamed; at most
    EXPORTS_PER_PERSON at once per person."""
    args = request.args
    if "view" in args:
        view_id = whole_number(args.get("view", ""))
        if view_id is None:
            abort(400, "view must be the number of a saved view.")
        args = MultiDict([("q", saved.get_view(db.session, current_user, view_id).query)])
    view, errors, _labels = queries.load_filter(db.session, args, me_id=current_user.id)
    if errors:
        abort(400, " ".join(errors.values()))
    # A person streams at most EXPORTS_PER_PERSON exports at once (429 beyond): a large export keeps a thread busy.
    slot = export.claim_slot(db.session, current_user.id, current_app.config["EXPORTS_PER_PERSON"])
    engine = db.engine
    rows = export.keeping_slot(export.export_rows(db.session, view), engine, slot)
    name = f"issues-{utcnow():%Y%m%d-%H%M}.csv"
    response = Response(
        stream_with_context(export.csv_text(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    response.call_on_close(lambda: export.release_slot(engine, slot))  # after the last byte, or an abandoned one
    return response
