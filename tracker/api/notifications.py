"""API: one's notifications (paged, unread only if asked), marking them read or done, watching an issue."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..errors import InvalidInput
from ..extensions import db
from ..models import NOTIFICATION_REASONS
from ..notifications import service
from . import bp
from .schemas import ID_MAX, UTCDateTime
from .views import ISSUE, actor

TAG = "Notifications"


class NotificationArgsSchema(Schema):
    """Which notifications: newest first, `per_page` of them older than `before` (a notification id)."""

    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})
    reason = fields.String(validate=validate.OneOf(list(NOTIFICATION_REASONS)))
    before = fields.Integer(validate=validate.Range(min=1, max=ID_MAX))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationSchema(Schema):
    """One notification: why, about which issue (or import), by whom, and whether read or done."""

    id = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"enum": list(NOTIFICATION_REASONS)})
    issue_id = fields.Integer(required=True, allow_none=True)
    import_run_id = fields.Integer(required=True, allow_none=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    summary = fields.String(required=True)
    count = fields.Integer(required=True, metadata={"description": "Issues it stands for (an import's)."})
    comment_id = fields.Integer(required=True, allow_none=True)
    event_id = fields.Integer(required=True, allow_none=True)
    created_at = UTCDateTime(required=True)
    read_at = UTCDateTime(required=True, allow_none=True)
    done_at = UTCDateTime(required=True, allow_none=True)


class NotificationPageSchema(Schema):
    """A page of notifications; `next_before` asks for the next (older) page, null at the end."""

    items = fields.List(fields.Nested(NotificationSchema), required=True)
    unread = fields.Integer(required=True, metadata={"description": "Unread ones, counted up to 100."})
    next_before = fields.Integer(required=True, allow_none=True)


class MarkSchema(Schema):
    """Mark these notifications (or, with `all`, every one) read, unread or done."""

    ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=ID_MAX)), validate=validate.Length(max=1000))
    all = fields.Boolean(load_default=False)
    state = fields.String(required=True, validate=validate.OneOf(["read", "unread", "done"]))


class MarkedSchema(Schema):
    """How many notifications changed."""

    changed = fields.Integer(required=True)


class WatchingSchema(Schema):
    """Whether you watch the issue, and how many do."""

    issue_id = fields.Integer(required=True)
    watching = fields.Boolean(required=True)
    count = fields.Integer(required=True)


@bp.get("/notifications", tags=[TAG])
@bp.arguments(NotificationArgsSchema, location="query")
@bp.response(200, NotificationPageSchema)
def list_notifications(args):
    """Your notifications, newest first (`unread=true` for the unread only)."""
    state = "unread" if args["unread"] else "all"
    per_page = args["per_page"]
    rows = service.notifications_page(
        db.session, actor(), state, args.get("reason", ""), args.get("before"), limit=per_page
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    return {
        "items": rows,
        "unread": service.unread_count(db.session, actor().id),
        "next_before": rows[-1].id if more and rows else None,
    }


@bp.post("/notifications/mark", tags=[TAG])
@bp.arguments(MarkSchema)
@bp.response(200, MarkedSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def mark_notifications(body):
    """Mark notifications read, unread or done: `ids`, or `all: true` for every one."""
    ids = body.get("ids")
    if not ids and not body["all"]:
        raise InvalidInput({"ids": "Give the ids to mark, or all: true."})
    return {"changed": service.mark(db.session, actor(), None if body["all"] else ids, body["state"])}


@bp.post(ISSUE + "/watch", tags=[TAG])
@bp.response(200, WatchingSchema)
@bp.alt_response(404, response="NOT_FOUND")
def watch_issue(issue_id: int):
    """Watch an issue: hear about its comments and status changes."""
    return service.set_watching(db.session, actor(), issue_id, "1")


@bp.delete(ISSUE + "/watch", tags=[TAG])
@bp.response(200, WatchingSchema)
@bp.alt_response(404, response="NOT_FOUND")
def unwatch_issue(issue_id: int):
    """Stop watching an issue."""
    return service.set_watching(db.session, actor(), issue_id, "0")
