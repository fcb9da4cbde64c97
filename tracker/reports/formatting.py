"""How report figures read: durations in human units, period titles, links into the issue list, charts, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import url_for

from ..models import PRIORITY_LABELS, STATUS_LABELS
from . import charts
from .queries import OPEN_STATUSES, PRESETS, Flow, OpenIssues, Period, Report, Scope

AGE_LABELS = {"day": "Under 1 day", "week": "1–7 days", "month": "7–30 days", "older": "Over 30 days"}
PERIOD_CHOICES = [(str(days), f"Last {days} days") for days in PRESETS]


def duration(seconds: float | None) -> str:
    """A duration as a person says it: '45 s', '12 min', '5 h 20 min', '2 d 4 h' ('—' when there is none)."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def period_title(period: Period) -> str:
    """'Last 30 days (2026-10-27 to 2026-11-25)' or '2026-01-01 to 2026-01-31'."""
    dates = f"{period.first.isoformat()} to {period.last.isoformat()}"
    return f"Last {period.preset} days ({dates})" if period.preset else dates


def day_label(first: date, last: date) -> str:
    """A flow bucket's name: one day, or the days of a week."""
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


def person_name(name: str | None, active: bool, kind: str) -> str:
    """A row's person as plain text (CSV and print)."""
    if kind == "unassigned":
        return "Unassigned"
    if kind in ("total", "overall"):
        return "Everyone"
    return f"{name} (deactivated)" if not active else (name or "")


class IssueLinks:
    """URLs of the issue list showing exactly the issues behind a figure, within the report's label and assignee."""

    def __init__(self, scope: Scope):
        """Remember the filters every link keeps."""
        self.scope = scope
        self.base: dict[str, Any] = {}
        if scope.label is not None:
            self.base["label"] = [scope.label.name]
        if scope.params.assignee:
            self.base["assignee"] = scope.params.assignee
        if scope.query_text:  # the figure's own filters narrow the report's query further (they are AND-ed)
            self.base["q"] = scope.query_text

    def url(self, **filters: Any) -> str:
        """The issue list with the report's filters plus these ones."""
        args = {**self.base, **{k: v for k, v in filters.items() if v not in (None, "", [])}}
        return url_for("issues.index", **args)

    def who(self, assignee_id: int | None, kind: str) -> dict[str, Any]:
        """The assignee filter of a row (none for the total)."""
        if kind == "unassigned":
            return {"assignee": "none"}
        if kind == "person":
            return {"assignee": str(assignee_id)}
        return {}

    def created(self, first: date, last: date, **filters: Any) -> str:
        """Issues created from `first` to `last` (both included)."""
        return self.url(created_from=first.isoformat(), created_to=last.isoformat(), **filters)

    def resolved(self, first: date, last: date, **filters: Any) -> str:
        """Issues resolved from `first` to `last` (both included)."""
        return self.url(resolved_from=first.isoformat(), resolved_to=last.isoformat(), **filters)

    def open(self, **filters: Any) -> str:
        """Issues open now (open or in progress)."""
        return self.url(status=list(OPEN_STATUSES), **filters)


def flow_chart(flow: Flow) -> charts.Chart:
    """Created vs resolved columns per day or week."""
    labels = [b.first.strftime("%m-%d") for b in flow.buckets]
    tips = [("Week of " if flow.weekly else "") + day_label(b.first, b.last) for b in flow.buckets]
    return charts.column_chart(
        "Issues created and resolved per " + ("week" if flow.weekly else "day"),
        labels,
        [
            ("Created", charts.CREATED_COLOR, [b.created for b in flow.buckets]),
            ("Resolved", charts.RESOLVED_COLOR, [b.resolved for b in flow.buckets]),
        ],
        tips,
    )


def open_charts(open_issues: OpenIssues) -> dict[str, charts.Chart]:
    """Bars of open issues by status, by priority and by age."""
    return {
        "status": charts.bar_chart(
            "Open issues by status", [(STATUS_LABELS[s], n) for s, n in open_issues.by_status.items()]
        ),
        "priority": charts.bar_chart(
            "Open issues by priority", [(PRIORITY_LABELS[p], n) for p, n in open_issues.by_priority.items()]
        ),
        "age": charts.bar_chart("Open issues by age", [(AGE_LABELS[b.key], b.count) for b in open_issues.by_age]),
    }


def seconds_cell(value: float | None) -> int | float | str:
    """A duration in seconds for a CSV cell: whole when it is, else to a tenth of a second."""
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else round(value, 1)


# ---- CSV ----------------------------------------------------------------------------------------------


def _assignee_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["rank", "assignee", "assignee_id", "assigned", *(s for s in STATUS_LABELS), "resolved_in_period"]
    rows = [
        [row.rank or "", person_name(row.name, row.active, row.kind), row.assignee_id or "", row.total,
         *row.by_status.values(), row.resolved_in_period]
        for row in report.assignees
    ]
    return header, rows


def _resolution_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["assignee", "assignee_id", "resolved", "average_seconds", "median_seconds", "p90_seconds",
              "average", "median", "p90"]
    rows = [
        [person_name(row.name, row.active, row.kind), row.assignee_id or "", row.count,
         seconds_cell(row.average), seconds_cell(row.median), seconds_cell(row.p90),
         duration(row.average), duration(row.median), duration(row.p90)]
        for row in report.resolution
    ]
    return header, rows


def _flow_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    assert report.flow is not None
    header = ["first_day", "last_day", "created", "resolved"]
    rows = [[b.first.isoformat(), b.last.isoformat(), b.created, b.resolved] for b in report.flow.buckets]
    return header, rows


def _open_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    assert report.open is not None
    rows: list[list[Any]] = [["status", STATUS_LABELS[s], n] for s, n in report.open.by_status.items()]
    rows += [["priority", PRIORITY_LABELS[p], n] for p, n in report.open.by_priority.items()]
    rows.append(["total", "Open now", report.open.total])
    return ["by", "value", "open_issues"], rows


def _aging_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    assert report.open is not None
    rows = [
        [AGE_LABELS[b.key], b.first_age, "" if b.last_age is None else b.last_age,
         b.oldest.isoformat() if b.oldest else "", b.newest.isoformat(), b.count]
        for b in report.open.by_age
    ]
    return ["age", "min_days", "max_days", "created_from", "created_to", "open_issues"], rows


def _oldest_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = ["issue", "title", "status", "priority", "assignee", "created_at_utc", "age_days"]
    today = report.now.date()
    rows = [
        [row.id, row.title, STATUS_LABELS[row.status], PRIORITY_LABELS[row.priority],
         person_name(row.assignee_name, bool(row.assignee_active), "person" if row.assignee_id else "unassigned"),
         row.created_at.strftime("%Y-%m-%d %H:%M:%S"), (today - row.created_at.date()).days]
        for row in report.oldest
    ]
    return header, rows


# table name -> (sections it needs, rows builder)
CSV_TABLES = {
    "assignees": (("assignees",), _assignee_rows),
    "resolution": (("resolution",), _resolution_rows),
    "flow": (("flow",), _flow_rows),
    "open": (("open",), _open_rows),
    "aging": (("open",), _aging_rows),
    "oldest": (("oldest",), _oldest_rows),
}


def _safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    """A CSV document (RFC 4180 line endings)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return out.getvalue()
