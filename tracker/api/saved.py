"""API: saved views, listed, created, changed (version-guarded), deleted and run (their issues, a page at a time)."""

from __future__ import annotations

from flask import current_app, url_for
from werkzeug.datastructures import MultiDict

from ..errors import DomainError
from ..extensions import db
from ..issues import queries, saved
from . import bp
from .schemas import (
    IssuePageSchema,
    SavedViewCreateSchema,
    SavedViewListSchema,
    SavedViewPatchSchema,
    SavedViewRunArgsSchema,
    SavedViewSchema,
    SavedViewVersionArgsSchema,
)
from .views import actor

VIEW = "/views/<int:view_id>"


def _shown(listed: saved.Listed) -> dict:
    """A listed view as the API shows it."""
    view = listed.view
    return {
        "id": view.id, "name": view.name, "query": view.query, "shared": view.shared, "owner_id": view.owner_id,
        "version": view.version, "mine": listed.mine, "count": listed.count, "count_cap": saved.COUNT_CAP,
        "watching": listed.watching,
    }


def _one(view) -> dict:
    """One view as the API shows it (no count)."""
    return _shown(saved.Listed(view, view.owner_id == actor().id, False, watching=saved.is_watching(
        db.session, actor(), view.id)))


@bp.get("/views", tags=["Saved views"])
@bp.response(200, SavedViewListSchema)
def list_views():
    """The views the token's user sees (their own, then the shared ones), each with its capped count of issues."""
    listed = saved.visible_views(db.session, actor())
    saved.count_views(db.session, actor(), listed)
    return {"items": [_shown(item) for item in listed]}


@bp.post("/views", tags=["Saved views"])
@bp.arguments(SavedViewCreateSchema)
@bp.response(201, SavedViewSchema)
@bp.alt_response(403, response="FORBIDDEN")
def create_view(body):
    """Save a query as a view; `Location` names it. A mistake in the query is a 422 naming it."""
    view = saved.create_view(db.session, actor(), body["name"], body["query"], body.get("shared", False))
    return _one(view), 201, {"Location": url_for("api.get_view", view_id=view.id)}


@bp.get(VIEW, tags=["Saved views"])
@bp.response(200, SavedViewSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_view(view_id: int):
    """One view (someone else's private view is not found)."""
    return _one(saved.get_view(db.session, actor(), view_id))


@bp.patch(VIEW, tags=["Saved views"])
@bp.arguments(SavedViewPatchSchema)
@bp.response(200, SavedViewSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def patch_view(body, view_id: int):
    """Rename, change or (un)share a view read at `version` (its owner; admins for shared views)."""
    view = saved.get_view(db.session, actor(), view_id)
    changed = saved.update_view(
        db.session, actor(), view_id, body["version"], body.get("name", view.name), body.get("query", view.query),
        body.get("shared"),
    )
    return _one(changed)


@bp.delete(VIEW, tags=["Saved views"])
@bp.arguments(SavedViewVersionArgsSchema, location="query")
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def delete_view(args, view_id: int):
    """Delete a view read at `version` (query parameter)."""
    saved.delete_view(db.session, actor(), view_id, args["version"])
    return "", 204


@bp.put(VIEW + "/watch", tags=["Saved views"])
@bp.response(200, SavedViewSchema)
@bp.alt_response(404, response="NOT_FOUND")
def watch_view(view_id: int):
    """Watch a view: an issue that comes into it (as you run it) is a notification in your inbox, and email as your
    settings say. The issues it has now are no news. Watching twice is watching."""
    saved.watch_view(db.session, actor(), view_id, True)
    return _one(saved.get_view(db.session, actor(), view_id))


@bp.delete(VIEW + "/watch", tags=["Saved views"])
@bp.response(200, SavedViewSchema)
@bp.alt_response(404, response="NOT_FOUND")
def unwatch_view(view_id: int):
    """Stop watching a view (not watching it already is fine)."""
    saved.watch_view(db.session, actor(), view_id, False)
    return _one(saved.get_view(db.session, actor(), view_id))


@bp.get(VIEW + "/issues", tags=["Saved views"])
@bp.arguments(SavedViewRunArgsSchema, location="query")
@bp.response(200, IssuePageSchema)
@bp.alt_response(400, response="BAD_REQUEST")
@bp.alt_response(404, response="NOT_FOUND")
def run_view(args, view_id: int):
    """Run a view: a page of the issues its query lists, in its order (as GET /issues?q= with the view's query). A
    query that no longer holds (a label deleted since the view was saved) is a 400 naming it, as the list says."""
    view = saved.get_view(db.session, actor(), view_id)
    values = MultiDict([("q", view.query), ("page", str(args.get("page", 1)))])
    issue_filter, errors, _labels = queries.load_filter(db.session, values, me_id=actor().id)
    if errors:
        raise DomainError(" ".join(errors.values()), errors)
    per_page = args.get("per_page", current_app.config["ISSUES_PER_PAGE"])
    page = queries.list_issues(db.session, issue_filter, per_page=per_page)
    return {"items": page.items, "page": page.page, "per_page": per_page, "total": page.total,
            "total_capped": page.capped}
