"""API: delete issues to the trash and restore them (admins); the same service as the pages."""

from __future__ import annotations

from .. import access
from ..errors import IssueDeleted
from ..extensions import db
from ..issues import service as issues_service
from ..json_errors import domain_json_error, json_error
from ..outage import discard
from ..trash import service as trash_service
from . import bp
from .schemas import (
    ConflictSchema,
    DeleteArgsSchema,
    IssueSchema,
    TrashIdsSchema,
    TrashResultSchema,
    utc_timestamp,
)
from .views import ISSUE, actor


@bp.errorhandler(IssueDeleted)
def handle_issue_deleted(exc: IssueDeleted):
    """An issue in the trash is not found; those who may see the trash hear who deleted it and when."""
    discard(db.session)
    if not access.may_manage_trash(actor()):
        return domain_json_error(exc)
    details = {"deleted_at": utc_timestamp(exc.deleted_at), "deleted_by": exc.deleted_by, "purged": exc.purged}
    return json_error(404, "deleted", exc.trash_message, details)


@bp.delete(ISSUE, tags=["Issues"])
@bp.arguments(DeleteArgsSchema, location="query")
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(
    409, schema=ConflictSchema, description="The issue changed since `version`; `current` is the issue now."
)
def delete_issue(args, issue_id: int):
    """Move an issue to the trash (admins): it leaves every list, search and report until it is restored."""
    trash_service.delete_issue(db.session, actor(), issue_id, args.get("version"))
    return None


@bp.post("/issues/bulk-delete", tags=["Issues"])
@bp.arguments(TrashIdsSchema)
@bp.response(200, TrashResultSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(409, response="CONFLICT", description="Some issues are missing or already deleted; none was.")
def bulk_delete(body):
    """Move many issues to the trash, all or none (admins)."""
    access.require_manage_trash(actor())  # before the body's rules: a member hears "not allowed" first
    count = trash_service.delete_issues(db.session, actor(), trash_service.clean_ids(body["issue_ids"]))
    return {"count": count, "message": f"Moved {count:,} issue{'' if count == 1 else 's'} to the trash."}


@bp.post(ISSUE + "/restore", tags=["Issues"])
@bp.response(200, IssueSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT", description="The issue is not in the trash.")
def restore_issue(issue_id: int):
    """Bring an issue back from the trash with everything it had (admins); an issue that never existed is a 404."""
    trash_service.restore_issues(db.session, actor(), [issue_id])
    return issues_service.get_issue(db.session, issue_id)
