"""API endpoints: JSON in, calls to the same service and query functions the pages use, JSON out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app, g, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from .. import access
from ..account import service as account_service
from ..bulk import service as bulk_service
from ..comments import service as comments_service
from ..error_handling import own_headers
from ..errors import DomainError, InvalidInput, NotFound, StaleVersion
from ..extensions import db
from ..issues import duplicates, queries
from ..issues import service as issues_service
from ..issues.timeline import load_timeline
from ..json_errors import domain_json_error, json_error, request_error
from ..labels import service as labels_service
from ..models import User
from ..numbers import whole_number
from ..outage import discard
from . import bp
from .schemas import (
    ID_MAX,
    BulkResultSchema,
    BulkStatusSchema,
    CommentCreateSchema,
    CommentSchema,
    ConflictSchema,
    DuplicateSchema,
    IssueCreateSchema,
    IssueListArgsSchema,
    IssuePageSchema,
    IssuePatchSchema,
    IssueSchema,
    LabelsPutSchema,
    LabelWithCountSchema,
    TimelineArgsSchema,
    TimelineSchema,
    UserSchema,
)

ISSUE = f"/issues/<int(min=1, max={ID_MAX}):issue_id>"


@bp.before_request
def authenticate() -> None:
    """Every API request carries a personal token; the session cookie is ignored."""
    secret = account_service.parse_bearer(request.headers.get("Authorization"))
    g.api_user = account_service.authenticate_token(db.session, secret)


def actor() -> User:
    """The user whose token authenticated this request."""
    return g.api_user


@bp.errorhandler(DomainError)
def handle_domain_error(exc: DomainError):
    """Domain errors as JSON with their details."""
    discard(db.session)
    return domain_json_error(exc)


@bp.errorhandler(StaleVersion)
def handle_stale_version(exc: StaleVersion):
    """A stale version: 409 with the issue as it is now, so the client can merge and retry (an issue deleted
    meanwhile, whose guarded change therefore found no row, is answered as not found)."""
    discard(db.session)
    try:
        current = issues_service.get_issue(db.session, exc.issue_id)
    except NotFound as gone:
        return current_app.handle_user_exception(gone)
    details = {"expected_version": exc.expected, "current_version": current.version}
    return json_error(409, exc.code, exc.message, details, current=IssueSchema().dump(current))


@bp.errorhandler(bulk_service.BulkRejected)
def handle_bulk_rejected(exc: bulk_service.BulkRejected):
    """Blocking issues of a bulk change, each with why; nothing was changed."""
    discard(db.session)
    return json_error(exc.status, exc.code, exc.message, [asdict(b) for b in exc.blockers])


@bp.errorhandler(HTTPException)
def handle_http_error(exc: HTTPException):
    """Request errors (bad JSON, schema types, size) as JSON."""
    return request_error(exc, own_headers(exc))


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """Issue fields from JSON to the service's shape: the API names labels (the service resolves the names)."""
    raw = dict(body)
    if "labels" in raw:
        raw["label_names"] = raw.pop("labels")
    return raw


# ---- issues --------------------------------------------------------------------------------------


@bp.get("/issues", tags=["Issues"])
@bp.arguments(IssueListArgsSchema, location="query")
@bp.response(200, IssuePageSchema)
@bp.alt_response(400, response="BAD_REQUEST")
def list_issues(args):
    """List issues: the same filters, sorting and paging as the issue list page."""
    values = MultiDict()
    for name in ("status", "priority", "label"):
        for value in args.get(name, []):
            values.add(name, value)
    if "assignee_id" in args:
        values.add("assignee", args["assignee_id"])
    if "import_id" in args:
        values.add("import", str(args["import_id"]))
    for name in ("q", "sort", "page", "created_from", "created_to", "resolved_from", "resolved_to"):
        if name in args:
            values.add(name, str(args[name]))
    view, errors, _labels = queries.load_filter(db.session, values, me_id=actor().id)
    if errors:
        # The message names every mistake, as the list page shows them (the query's own words).
        raise DomainError(" ".join(errors.values()), errors)
    per_page = args.get("per_page", current_app.config["ISSUES_PER_PAGE"])
    page = queries.list_issues(db.session, view, per_page=per_page)
    return {
        "items": page.items,
        "page": page.page,
        "per_page": per_page,
        "total": page.total,
        "total_capped": page.capped,
    }


@bp.post("/issues", tags=["Issues"])
@bp.arguments(IssueCreateSchema)
@bp.response(201, IssueSchema)
@bp.alt_response(403, response="FORBIDDEN")
def create_issue(body):
    """Create an issue reported by the token's user; `Location` names the new issue. Labels named that do not
    exist yet are created, as an import creates them."""
    issue = issues_service.create_issue(db.session, actor(), _fields(body))
    return issue, 201, {"Location": url_for("api.get_issue", issue_id=issue.id)}


@bp.get(ISSUE, tags=["Issues"])
@bp.response(200, IssueSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_issue(issue_id: int):
    """One issue."""
    return issues_service.get_issue(db.session, issue_id)


@bp.patch(ISSUE, tags=["Issues"])
@bp.arguments(IssuePatchSchema)
@bp.response(200, IssueSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(
    409, schema=ConflictSchema, description="The issue changed since `version`; `current` is the issue now."
)
def patch_issue(body, issue_id: int):
    """Change any fields of an issue read at `version`; the version grows by one."""
    version = body.pop("version")
    return _update(issue_id, version, body)


@bp.put(ISSUE + "/labels", tags=["Issues"])
@bp.arguments(LabelsPutSchema)
@bp.response(200, IssueSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(
    409, schema=ConflictSchema, description="The issue changed since `version`; `current` is the issue now."
)
def put_labels(body, issue_id: int):
    """Replace the issue's whole label set (by name) in one guarded change."""
    return _update(issue_id, body["version"], {"labels": body["labels"]})


@bp.post(ISSUE + "/duplicate", tags=["Issues"])
@bp.arguments(DuplicateSchema)
@bp.response(200, IssueSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(
    409, schema=ConflictSchema, description="The issue changed since `version`; `current` is the issue now."
)
def close_as_duplicate(body, issue_id: int):
    """Close the issue as a duplicate of another (a guarded change); both timelines say so. Reopening it (PATCH
    the status) clears the link."""
    return duplicates.close_as_duplicate(db.session, actor(), issue_id, body["version"], body["duplicate_of"])


def _update(issue_id: int, version: int, body: dict[str, Any]):
    """The guarded update behind PATCH and PUT labels (the service checks who may write, then the issue)."""
    return issues_service.update_issue(db.session, actor(), issue_id, version, _fields(body))


@bp.post("/issues/bulk-status", tags=["Issues"])
@bp.arguments(BulkStatusSchema)
@bp.response(200, BulkResultSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(
    409, response="CONFLICT", description="Some issues changed since their given versions; nothing was changed."
)
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
def bulk_status(body):
    """Move many issues to one status, all or nothing; blocking issues are listed with why."""
    access.require_edit_issues(actor())  # before the body's rules: a viewer hears "not allowed" first
    change = bulk_service.parse_change(db.session, {"status": body["status"], "note": body.get("note", "")})
    ids = bulk_service.parse_ids(body["issue_ids"])
    versions = None
    if "versions" in body:
        strays = [key for key in body["versions"] if whole_number(key) not in ids]
        if strays:  # a misspelt or missing id would otherwise leave that issue unguarded without a word
            raise InvalidInput(
                {"versions": f"'{strays[0][:20]}' is not one of the issue_ids; versions are keyed by them."}
            )
        given = {f"version_{whole_number(key)}": version for key, version in body["versions"].items()}
        versions = bulk_service.parse_versions(ids, given, required=False)
    result = bulk_service.apply_bulk(db.session, actor(), ids, versions, change)
    return {
        "updated": len(result.changed_ids),
        "unchanged": len(result.unchanged_ids),
        "versions": {str(i): v for i, v in result.versions.items()},
        "message": result.summary,
    }


@bp.get(ISSUE + "/timeline", tags=["Issues"])
@bp.arguments(TimelineArgsSchema, location="query")
@bp.response(200, TimelineSchema)
@bp.alt_response(404, response="NOT_FOUND")
def timeline(args, issue_id: int):
    """The issue's history and comments, newest 100 entries (oldest first); `before` pages back."""
    issues_service.get_issue(db.session, issue_id)
    entries = load_timeline(db.session, issue_id, before=args.get("before"))
    return {
        "entries": entries.entries,
        "has_earlier": entries.has_earlier,
        "before": entries.earliest_id if entries.has_earlier else None,
    }


# ---- comments ------------------------------------------------------------------------------------


@bp.get(ISSUE + "/comments", tags=["Comments"])
@bp.response(200, CommentSchema(many=True))
@bp.alt_response(404, response="NOT_FOUND")
def list_comments(issue_id: int):
    """The issue's comments, oldest first."""
    return comments_service.issue_comments(db.session, issue_id)


@bp.post(ISSUE + "/comments", tags=["Comments"])
@bp.arguments(CommentCreateSchema)
@bp.response(201, CommentSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def create_comment(body, issue_id: int):
    """Post a Markdown comment (the issue's version does not change)."""
    return comments_service.add_comment(db.session, actor(), issue_id, body["body"])


# ---- people and labels ---------------------------------------------------------------------------


@bp.get("/users", tags=["People and labels"])
@bp.response(200, UserSchema(many=True))
def list_users():
    """Everyone, by name (ids for assignee_id)."""
    return queries.people(db.session)


@bp.get("/labels", tags=["People and labels"])
@bp.response(200, LabelWithCountSchema(many=True))
def list_labels():
    """Every label with the number of issues carrying it."""
    return [
        {"id": label.id, "name": label.name, "color": label.color, "issue_count": count}
        for label, count in labels_service.labels_with_counts(db.session)
    ]
