"""API: import a CSV of issues (or only check it) with the same staging, checks and import as the import pages."""

from __future__ import annotations

from flask import current_app, request

from ..extensions import db
from ..imports import service as imports_service
from ..imports import staging, undo
from ..imports.parse import FileProblem
from ..imports.writer import ImportFailed
from ..json_errors import json_error
from . import bp
from .schemas import ID_MAX, ImportFormSchema, ImportResultSchema, TrashResultSchema, UndoImportSchema
from .views import actor


def _rejected(report: imports_service.CheckReport) -> list[dict]:
    """Each problem of each invalid row the check lists: line, column, message."""
    return [
        {"line": row.line, "column": column or None, "message": reason}
        for row in report.errors
        for column, reason in row.problems
    ]


def _result(run, report: imports_service.CheckReport, dry_run: bool, policy: str) -> dict:
    """The response body for a checked (and maybe imported) file."""
    return {
        "import_id": run.id,
        "dry_run": dry_run,
        "policy": policy,
        "rows_read": report.rows_read,
        "created": 0 if dry_run else run.created_count,
        "valid": report.valid,
        "plan": {**report.actions, "stale": report.stale},
        "rejected_count": report.invalid,
        "rejected": _rejected(report),
        "problems": report.problems,
        "new_labels": report.new_labels,
        "first_issue_id": None if dry_run else run.first_issue_id,
        "last_issue_id": None if dry_run else run.last_issue_id,
    }


@bp.post("/issues/import", tags=["Import"])
@bp.arguments(ImportFormSchema, location="multipart")
@bp.response(201, ImportResultSchema, description="Imported (a dry run answers 200 and creates nothing).")
@bp.alt_response(200, schema=ImportResultSchema, description="Dry run: what the import would do.", success=True)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@bp.alt_response(503, response="SERVICE_UNAVAILABLE")
def import_issues(form):
    """Import issues from a CSV file, columns matched by their headers; `dry_run` only checks every row.

    An all-or-nothing import with invalid rows answers 422 with every rejected row and creates nothing.
    """
    policy = imports_service.parse_policy(form.get("policy"))
    upload = form["file"]
    limits = staging.StagingLimits.from_config(current_app.config)
    run = staging.stage(db.session, actor(), upload.filename, upload.stream, limits, request.content_length)
    report = imports_service.check(db.session, run)
    if form["dry_run"]:
        return _result(run, report, True, policy), 200
    run_id = run.id
    try:
        run = imports_service.run_import(db.session, actor(), run, policy, report.mapping)
    except imports_service.ImportRejected as exc:
        body = _result(run, report, False, policy)
        staging.record_failure(db.session, run_id, exc.message)
        return json_error(422, exc.code, exc.message, body)
    except (FileProblem, ImportFailed) as exc:
        staging.record_failure(db.session, run_id, exc.message)
        raise
    return _result(staging.get_run(db.session, run.id), report, False, policy), 201


IMPORT = f"/imports/<int(min=1, max={ID_MAX}):run_id>"


@bp.post(IMPORT + "/undo", tags=["Import"])
@bp.arguments(UndoImportSchema)
@bp.response(200, TrashResultSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(
    409, response="CONFLICT", description="Issues changed since the import (listed in `details`); nothing was undone."
)
def undo_import(body, run_id: int):
    """Move the issues an import created to the trash, all or none (its importer or an admin)."""
    count = undo.undo_import(db.session, actor(), run_id, untouched_only=body["untouched_only"])
    return {"count": count, "message": f"Moved {count:,} issue{'' if count == 1 else 's'} to the trash."}


@bp.post(IMPORT + "/redo", tags=["Import"])
@bp.response(200, TrashResultSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT", description="The import is not undone.")
def redo_import(run_id: int):
    """Bring back every issue an undo of this import moved to the trash."""
    count = undo.redo_import(db.session, actor(), run_id)
    return {"count": count, "message": f"Restored {count:,} issue{'' if count == 1 else 's'} from the trash."}
