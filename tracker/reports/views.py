"""Views: the dashboard (full page or the report fragment for htmx), CSV per table, the printable report."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, request, url_for
from flask_login import current_user

from ..extensions import db
from ..htmx import block_for, error_trigger, is_htmx, render
from ..issues import queries as issue_queries
from ..labels import service as labels_service
from ..models import utcnow
from . import bp, formatting, queries


def _scope():
    """Parse and check the query parameters: (scope, errors, labels, people, now)."""
    now = utcnow()
    params, errors = queries.parse_params(request.args, now.date())
    labels = labels_service.all_labels(db.session)
    people = issue_queries.people(db.session)
    scope, unknown = queries.resolve_scope(params, labels, people)
    unknown.update(queries.scope_query(db.session, scope, current_user, labels))
    for name, message in unknown.items():
        errors.setdefault(name, message)
    return scope, errors, labels, people, now


def _context(scope: queries.Scope, report: queries.Report | None) -> dict:
    """What the report templates draw from."""
    context = {
        "scope": scope,
        "params": scope.params,
        "report": report,
        "links": formatting.IssueLinks(scope),
        "fmt": formatting,
        "period_title": formatting.period_title(scope.period),
    }
    if report is not None:
        context["flow_chart"] = formatting.flow_chart(report.flow)
        context["open_charts"] = formatting.open_charts(report.open)
    return context


@bp.get("")
def index():
    """The dashboard for a period, label and assignee; an htmx request gets only the report fragment."""
    scope, errors, labels, people, now = _scope()
    report = None if errors else queries.build_report(db.session, scope, now)
    response = render(
        "reports/index.html",
        block=block_for(["report"]),
        status=400 if errors else 200,
        errors=errors,
        labels=labels,
        people=people,
        period_choices=formatting.PERIOD_CHOICES,
        **_context(scope, report),
    )
    if is_htmx():
        if errors:
            message = " ".join(errors.values())
            response.headers["HX-Trigger"] = error_trigger(message, 400)
        else:  # push the tidy URL, not the form's every field
            response.headers["HX-Push-Url"] = url_for("reports.index", **scope.params.query_args())
    return response


def _checked_scope() -> tuple[queries.Scope, datetime]:
    """The scope of a CSV or print request; bad parameters end it with 400 and their messages."""
    scope, errors, _labels, _people, now = _scope()
    if errors:
        abort(400, " ".join(errors.values()))
    return scope, now


@bp.get("/<table>.csv")
def table_csv(table: str):
    """One table of the report as CSV, for the same parameters as the dashboard."""
    if table not in formatting.CSV_TABLES:
        abort(404, f"There is no report table '{table}'; choose from {', '.join(formatting.CSV_TABLES)}.")
    scope, now = _checked_scope()
    sections, rows_of = formatting.CSV_TABLES[table]
    report = queries.build_report(db.session, scope, now, sections)
    header, rows = rows_of(report)
    name = f"tracker-{table}-{scope.period.first.isoformat()}-to-{scope.period.last.isoformat()}.csv"
    return Response(
        formatting.csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/print")
def printable():
    """The whole report as one clean document to print or save as PDF (no navigation, no controls)."""
    scope, now = _checked_scope()
    report = queries.build_report(db.session, scope, now)
    return render("reports/print.html", generated_at=now, generated_by=current_user.name, **_context(scope, report))
