"""API: the reports' top assignees and resolution times, from the same query functions as the reports page."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..reports import queries
from . import bp
from .schemas import LatencySchema, ReportArgsSchema, TopAssigneesArgsSchema, TopAssigneesSchema
from .views import actor


def _scope(args: dict) -> queries.Scope:
    """The report's scope from the query, checked by the reports' own parameter rules."""
    values = MultiDict()
    for name, key in (
        ("period", "period"),
        ("from_", "from"),
        ("to", "to"),
        ("label", "label"),
        ("assignee", "assignee"),
        ("q", "q"),
        ("view", "view"),
    ):
        if name in args:
            values.add(key, str(args[name]))
    scope, errors = queries.scope_from_args(db.session, values, utcnow().date(), actor())
    if errors:
        raise DomainError("The report parameters are not valid.", errors)
    return scope


def _period(scope: queries.Scope) -> dict:
    """The period the report covers, for the response."""
    return {"from_": scope.period.first, "to": scope.period.last}


@bp.get("/reports/top-assignees", tags=["Reports"])
@bp.arguments(TopAssigneesArgsSchema, location="query")
@bp.response(200, TopAssigneesSchema)
@bp.alt_response(400, response="BAD_REQUEST")
@bp.alt_response(404, response="NOT_FOUND")
def top_assignees(args):
    """People with the most issues assigned now (by status, and resolved in the period); the last 30 days by default."""
    scope = _scope(args)
    rows = queries.top_assignees(db.session, scope, limit=args.get("limit", queries.TOP_ASSIGNEES))
    return {"period": _period(scope), "rows": rows}


@bp.get("/reports/latency", tags=["Reports"])
@bp.arguments(ReportArgsSchema, location="query")
@bp.response(200, LatencySchema)
@bp.alt_response(400, response="BAD_REQUEST")
@bp.alt_response(404, response="NOT_FOUND")
def latency(args):
    """Time from creation to resolution of issues resolved in the period: count, average, median, 90th percentile."""
    scope = _scope(args)
    return {"period": _period(scope), "rows": queries.resolution_times(db.session, scope)}
