"""Report figures: every number is an SQL aggregate computed in the database, never issues loaded into Python.

Parameters come in as plain values (`parse_params`), are checked against the known labels and people
(`resolve_scope`, or `load_scope` / `scope_from_args` which read them), and each section is one statement
taking (session, scope) and returning plain dataclasses (`dataclasses.asdict` turns them into JSON-ready dicts
but for dates). The dashboard, the printable report, the CSV files and the JSON API share these functions. The only
differences between PostgreSQL and SQLite sit in `epoch_seconds` (whole seconds since 1970) and `duration_stats`
(percentiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..issues import queries as issue_queries
from ..issues import saved, search
from ..issues.queries import FIRST_DATE, LAST_DATE, MultiValues, day_range_clause, day_start, parse_day
from ..models import DONE_STATUSES, LIVE_ISSUE, OPEN_ISSUE, PRIORITIES, STATUSES, Issue, IssueLabel, Label, User
from ..numbers import whole_number

PRESETS = (7, 30, 90)
DEFAULT_PRESET = 30
MAX_DAYS = 366
DAILY_UP_TO = 31  # periods up to this many days are charted per day, longer ones per week
TOP_ASSIGNEES = 10
OLDEST = 10
OPEN_STATUSES = tuple(s for s in STATUSES if s not in DONE_STATUSES)
# Written as the partial index's condition (models.OPEN_ISSUE) so both databases match it to that index.
IS_OPEN = sa.text("issues." + OPEN_ISSUE)
# Age buckets of open issues, in whole UTC days since the day the issue was created: (key, first age, last age).
AGE_BUCKETS = (("day", 0, 0), ("week", 1, 6), ("month", 7, 29), ("older", 30, None))
PERCENTILES = (0.5, 0.9)
EPOCH = datetime(1970, 1, 1)
FIRST_MONDAY = date(1970, 1, 5)  # weeks run Monday to Sunday, counted from this Monday


# ---- parameters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A run of whole UTC days: `first` and `last` are both included; `preset` is 7, 30, 90 or None (custom)."""

    first: date
    last: date
    preset: int | None = None

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last - self.first).days + 1

    @property
    def weekly(self) -> bool:
        """Whether the flow is counted per week rather than per day."""
        return self.days > DAILY_UP_TO


@dataclass
class ReportParams:
    """The report's query parameters, checked for form only (labels and people are checked by resolve_scope)."""

    period: Period
    label: str = ""  # a label name, "" for every label
    assignee: str = ""  # "" anyone, "none" unassigned, or a user id as text
    q: str = ""  # a query of the search language: only the issues it lists (README: Searching)
    view: int | None = None  # a saved view: its query (the view's id is kept in links)

    def query_args(self) -> dict[str, Any]:
        """The query parameters that reproduce this report (for links, CSV, print and the pushed URL)."""
        if self.period.preset:
            args: dict[str, Any] = {"period": self.period.preset if self.period.preset != DEFAULT_PRESET else ""}
        else:
            args = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        args.update(label=self.label, assignee=self.assignee)
        args.update({"view": self.view} if self.view else {"q": self.q})
        return {k: v for k, v in args.items() if v not in ("", None)}


def preset_period(days: int, today: date) -> Period:
    """The last `days` days, today included."""
    return Period(today - timedelta(days=days - 1), today, days)


def parse_params(args: MultiValues, today: date) -> tuple[ReportParams, dict[str, str]]:
    """Read period (7, 30, 90 or custom), from, to, label and assignee; each problem is reported by parameter.

    A preset period ignores the dates; without one (or with period=custom) `from` and `to` are both needed.
    """
    errors: dict[str, str] = {}
    period_raw = _only(args, "period", errors)
    first_raw, last_raw = _only(args, "from", errors), _only(args, "to", errors)
    period = preset_period(DEFAULT_PRESET, today)
    if period_raw in {str(days) for days in PRESETS}:
        period = preset_period(int(period_raw), today)
    elif period_raw not in ("", "custom"):
        errors["period"] = f"Unknown period '{period_raw[:40]}'; use 7, 30, 90, or from and to dates."
    elif period_raw == "custom" or first_raw or last_raw:
        first, last = parse_day(first_raw) if first_raw else None, parse_day(last_raw) if last_raw else None
        for name, raw, value in (("from", first_raw, first), ("to", last_raw, last)):
            if not raw:
                errors[name] = f"Give both dates of the period: '{name}' is missing."
            elif value is None:
                errors[name] = (
                    f"'{name}' must be a date like 2026-01-31 between {FIRST_DATE} and {LAST_DATE}, not '{raw[:40]}'."
                )
        if first and last:
            if first > last:
                errors["from"] = f"The period starts ({first}) after it ends ({last})."
            elif (last - first).days + 1 > MAX_DAYS:
                errors["to"] = f"A report covers at most {MAX_DAYS} days; this period has {(last - first).days + 1}."
            else:
                period = Period(first, last)
    label = " ".join(_only(args, "label", errors).split())
    assignee = _only(args, "assignee", errors).lower()
    if assignee and assignee != "none" and whole_number(assignee) is None:
        errors["assignee"] = f"Assignee must be a user id or 'none', not '{assignee[:40]}'."
        assignee = ""
    q = " ".join(_only(args, "q", errors).split())
    view_raw = _only(args, "view", errors)
    view = whole_number(view_raw) if view_raw else None
    if view_raw and view is None:
        errors["view"] = f"view must be the number of a saved view, not '{view_raw[:40]}'."
    return ReportParams(period=period, label=label, assignee=assignee, q=q, view=view), errors


def _only(args: MultiValues, key: str, errors: dict[str, str]) -> str:
    """The single value of a parameter ("" when absent); giving it twice with different values is an error."""
    values = {v.strip() for v in args.getlist(key) if v.strip()}
    if len(values) > 1:
        errors[key] = f"Give '{key}' once; the report takes one {key}."
        return ""
    return values.pop() if values else ""


@dataclass
class Scope:
    """Which issues a report counts: the period, and optionally one label and one assignee (or unassigned)."""

    params: ReportParams
    label: Label | None = None
    assignee: User | None = None
    query_clauses: list = field(default_factory=list)  # the query's (or view's) conditions on issues
    query_text: str = ""  # the query the report is scoped by (a view's query for view=)
    view_name: str = ""

    @property
    def period(self) -> Period:
        """The report's period."""
        return self.params.period

    @property
    def unassigned(self) -> bool:
        """Whether the report counts only unassigned issues."""
        return self.params.assignee == "none"

    def where(self) -> list[sa.ColumnElement[bool]]:
        """Conditions on issues for the label and assignee filters (and never an issue in the trash)."""
        clauses: list[sa.ColumnElement[bool]] = [LIVE_ISSUE]
        if self.label is not None:
            clauses.append(Issue.id.in_(sa.select(IssueLabel.issue_id).where(IssueLabel.label_id == self.label.id)))
        if self.unassigned:
            clauses.append(Issue.assignee_id.is_(None))
        elif self.assignee is not None:
            clauses.append(Issue.assignee_id == self.assignee.id)
        return clauses + self.query_clauses


def resolve_scope(params: ReportParams, labels: list[Label], people: list[User]) -> tuple[Scope, dict[str, str]]:
    """Match the label name and assignee id against the known labels and people (already loaded for the form)."""
    errors: dict[str, str] = {}
    scope = Scope(params)
    if params.label:
        scope.label = next((label for label in labels if label.name_key == params.label.lower()), None)
        if scope.label is None:
            errors["label"] = f"There is no label named '{params.label[:60]}'."
    if params.assignee and params.assignee != "none":
        scope.assignee = next((user for user in people if str(user.id) == params.assignee), None)
        if scope.assignee is None:
            errors["assignee"] = f"There is no user with id {params.assignee[:20]}."
    return scope, errors


def scope_from_args(
    session: Session, args: MultiValues, today: date, user: User | None = None
) -> tuple[Scope, dict[str, str]]:
    """Query parameters to a checked scope in one call (for the JSON API); errors are keyed by parameter."""
    params, errors = parse_params(args, today)
    scope, unknown = load_scope(session, params)
    if user is not None:
        unknown.update(scope_query(session, scope, user))
    return scope, {**unknown, **errors}


def scope_query(session: Session, scope: Scope, user: User, labels: list[Label] | None = None) -> dict[str, str]:
    """Narrow the scope to the issues its query (q=) or saved view (view=) lists, exactly as the issue list does;
    the query's mistakes by parameter (the rest of it still applies). A view the person may not see is NotFound."""
    params = scope.params
    text = params.q
    if params.view:
        view = saved.get_view(session, user, params.view)
        text, scope.view_name = view.query, view.name
    if not text:
        return {}
    issue_filter = saved.filter_for(session, user, text, labels)
    errors = {f"q{i or ''}": error.message for i, error in enumerate(issue_filter.query.errors)}
    for kind, message in search.unresolved(issue_filter.query, issue_filter.lookups):
        errors.setdefault(kind, message)
    scope.query_text = text
    scope.query_clauses = issue_queries.filter_clauses(_dialect(session), issue_filter)
    return errors


def load_scope(session: Session, params: ReportParams) -> tuple[Scope, dict[str, str]]:
    """resolve_scope for callers without the label and people lists at hand (the JSON API): two small reads."""
    labels: list[Label] = []
    people: list[User] = []
    if params.label:
        labels = list(session.execute(sa.select(Label).where(Label.name_key == params.label.lower())).scalars())
    user_id = whole_number(params.assignee)
    if user_id is not None:
        people = list(session.execute(sa.select(User).where(User.id == user_id)).scalars())
    return resolve_scope(params, labels, people)


# ---- what differs between PostgreSQL and SQLite ----------------------------------------------------


def epoch_seconds(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """Whole seconds from 1970-01-01 to a naive UTC timestamp (rounded down), as an integer."""
    if dialect == "postgresql":
        # date_part is a double; EXTRACT returns numeric since PostgreSQL 14, a third slower over 100k rows.
        return sa.cast(sa.func.floor(sa.func.date_part("epoch", column)), sa.BigInteger)
    # SQLite reads at most milliseconds and rounds to them: 23:59:59.9997 would be the next day's midnight (a day
    # late in the flow's buckets, past the last one on the period's last day). The whole seconds alone round down.
    return sa.cast(sa.func.strftime("%s", sa.func.substr(column, 1, 19)), sa.Integer)


def duration_stats(dialect: str, durations: sa.CTE) -> sa.Select | sa.CompoundSelect:
    """Count, average, median and 90th percentile of `durations.c.seconds`, overall and per assignee.

    Rows: (overall, assignee_id, count, average, p50, p90), the overall row first (overall = 1).
    PostgreSQL uses percentile_cont; elsewhere the same definition is computed with window functions:
    for n sorted values v[0..n-1] and fraction p, pos = p * (n - 1), k = floor(pos), and the result is
    v[k] + (pos - k) * (v[k + 1] - v[k]); the arithmetic (in doubles) follows PostgreSQL's step by step,
    so both give identical numbers. The average is sum / count in doubles on both.
    """
    seconds = durations.c.seconds
    average = sa.cast(sa.func.sum(seconds), sa.Float) / sa.cast(sa.func.count(), sa.Float)
    if dialect == "postgresql":
        # ROLLUP makes the overall row and the per-assignee rows in one pass; grouping() is 1 on the overall row.
        return sa.select(
            sa.func.grouping(durations.c.assignee_id).label("overall"),
            durations.c.assignee_id,
            sa.func.count().label("count"),
            average.label("average"),
            *(
                sa.func.percentile_cont(sa.literal(p, sa.Float))
                .within_group(sa.cast(seconds, sa.Float))
                .label(f"p{int(p * 100)}")
                for p in PERCENTILES
            ),
        ).group_by(sa.func.rollup(durations.c.assignee_id))

    ranked = sa.select(
        durations.c.assignee_id,
        seconds,
        sa.func.row_number().over(order_by=seconds).label("rank_all"),
        sa.func.count().over().label("n_all"),
        sa.func.row_number().over(partition_by=durations.c.assignee_id, order_by=seconds).label("rank_one"),
        sa.func.count().over(partition_by=durations.c.assignee_id).label("n_one"),
    ).cte("ranked")

    def interpolated(p: float, rank: sa.ColumnElement[int], n: sa.ColumnElement[int]) -> sa.ColumnElement[float]:
        """The p-th percentile of a group: rank is 1-based within it, n its size."""
        # In doubles, as PostgreSQL does (a bare 0.9 would be an exact numeric there).
        position = sa.cast(sa.literal(p), sa.Float) * (n - 1)
        # floor(position) on both databases: CAST truncates on SQLite but rounds on PostgreSQL.
        truncated = sa.cast(position, sa.Integer)
        k = sa.case((truncated > position, truncated - 1), else_=truncated)
        low = sa.func.max(sa.case((rank == k + 1, ranked.c.seconds)))
        high = sa.func.coalesce(sa.func.max(sa.case((rank == k + 2, ranked.c.seconds))), low)
        fraction = sa.func.max(position - k)
        return low + fraction * (high - low)

    def stats(group: list, rank, n) -> sa.Select:
        """One row for everyone (no group) or one per assignee."""
        ranked_average = sa.cast(sa.func.sum(ranked.c.seconds), sa.Float) / sa.cast(sa.func.count(), sa.Float)
        return sa.select(
            sa.literal(0 if group else 1).label("overall"),
            *(group or [sa.null().label("assignee_id")]),
            sa.func.count().label("count"),
            ranked_average.label("average"),
            *(interpolated(p, rank, n).label(f"p{int(p * 100)}") for p in PERCENTILES),
        ).select_from(ranked)

    overall = stats([], ranked.c.rank_all, ranked.c.n_all)
    per_assignee = stats([ranked.c.assignee_id], ranked.c.rank_one, ranked.c.n_one).group_by(ranked.c.assignee_id)
    return sa.union_all(overall, per_assignee)


# ---- the sections -----------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    """'postgresql' or 'sqlite'."""
    return session.get_bind().dialect.name


def _in_period(column: sa.ColumnElement[Any], period: Period) -> sa.ColumnElement[bool]:
    """From midnight of the first day (included) to midnight after the last (excluded)."""
    return day_range_clause(column, period.first, period.last)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """How many rows of the group meet the condition (0, not NULL, for none)."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


@dataclass
class AssigneeRow:
    """One person (or nobody) with the issues assigned now, by status, and those resolved in the period."""

    rank: int | None  # None for the unassigned row and the total
    assignee_id: int | None
    name: str | None
    active: bool
    total: int
    by_status: dict[str, int]
    resolved_in_period: int
    kind: str = "person"  # person | unassigned | total


def top_assignees(session: Session, scope: Scope, limit: int = TOP_ASSIGNEES) -> list[AssigneeRow]:
    """People ranked by issues assigned to them now (ties share a rank, listed by most resolved in the period, then
    by name, then id: so the top `limit` keeps those who resolved more),

    each with counts per status and how many of their issues were resolved in the period; then the
    unassigned issues, then the total over everyone (also those below the top `limit`). One statement.
    """
    # Count per (assignee, status) first: that grouping follows the (assignee_id, status, resolved_at) index,
    # so the database streams it from the index; the pivot to one row per person then runs over a few rows.
    by_status = (
        sa.select(
            Issue.assignee_id,
            Issue.status,
            sa.func.count().label("n"),
            _count_if(_in_period(Issue.resolved_at, scope.period)).label("resolved"),
        )
        .where(*scope.where())
        .group_by(Issue.assignee_id, Issue.status)
        .cte("by_status")
    )
    per = (
        sa.select(
            by_status.c.assignee_id,
            sa.func.sum(by_status.c.n).label("total"),
            *(sa.func.sum(sa.case((by_status.c.status == s, by_status.c.n), else_=0)).label(s) for s in STATUSES),
            sa.func.sum(by_status.c.resolved).label("resolved_in_period"),
        )
        .group_by(by_status.c.assignee_id)
        .cte("per_assignee")
    )
    nobody = per.c.assignee_id.is_(None)
    ranked = (
        sa.select(
            per,
            User.name,
            User.active,
            sa.func.rank().over(partition_by=nobody, order_by=per.c.total.desc()).label("rank"),
            sa.func.row_number()
            .over(
                partition_by=nobody,
                order_by=(
                    per.c.total.desc(),
                    per.c.resolved_in_period.desc(),
                    sa.func.lower(User.name),
                    per.c.assignee_id,
                ),
            )
            .label("position"),
        )
        .select_from(per.outerjoin(User, User.id == per.c.assignee_id))
        .subquery("ranked")
    )
    counts = ("total", *STATUSES, "resolved_in_period")
    people = _assignee_arm(
        0,
        {c: ranked.c[c] for c in counts},
        position=ranked.c.position,
        rank=ranked.c.rank,
        assignee_id=ranked.c.assignee_id,
        name=ranked.c.name,
        active=ranked.c.active,
    ).where(ranked.c.position <= limit, ranked.c.assignee_id.is_not(None))
    unassigned = _assignee_arm(1, {c: per.c[c] for c in counts}, assignee_id=per.c.assignee_id).where(nobody)
    total = _assignee_arm(2, {c: sa.func.coalesce(sa.func.sum(per.c[c]), 0) for c in counts})
    union = sa.union_all(people, unassigned, total).subquery("rows")
    rows = session.execute(sa.select(union).order_by(union.c.section, union.c.position)).all()
    result = []
    for row in rows:
        kind = ("person", "unassigned", "total")[row.section]
        result.append(
            AssigneeRow(
                rank=row.rank,
                assignee_id=row.assignee_id,
                name=row.name,
                active=bool(row.active) if row.active is not None else True,
                total=int(row.total),
                by_status={s: int(row._mapping[s]) for s in STATUSES},
                resolved_in_period=int(row.resolved_in_period),
                kind=kind,
            )
        )
    return result


# The columns of every arm of top_assignees' UNION, in this order.
_ASSIGNEE_COLUMNS = (
    "section",
    "position",
    "rank",
    "assignee_id",
    "name",
    "active",
    "total",
    *STATUSES,
    "resolved_in_period",
)


def _assignee_arm(section: int, counts: dict[str, Any], position: Any = 1, **columns: Any) -> sa.Select:
    """One arm of top_assignees' UNION (0 people, 1 unassigned, 2 the total): every column by name, NULL where
    the arm has none, so the arms line up by construction."""
    given = {"section": section, "position": position, **columns, **counts}
    values = (given.get(name) for name in _ASSIGNEE_COLUMNS)
    return sa.select(
        *(
            (sa.literal(v) if isinstance(v, int) else sa.null() if v is None else v).label(name)
            for name, v in zip(_ASSIGNEE_COLUMNS, values)
        )
    )


@dataclass
class ResolutionRow:
    """Time from creation to (last) resolution of the issues resolved in the period, in seconds."""

    assignee_id: int | None
    name: str | None
    active: bool
    count: int
    average: float | None
    median: float | None
    p90: float | None
    kind: str = "person"  # overall | person | unassigned


def resolution_times(session: Session, scope: Scope, percentiles_as: str | None = None) -> list[ResolutionRow]:
    """Count, average, median and 90th percentile overall (first row) and per assignee, busiest first.

    An issue counts if its resolved_at falls in the period; reopening clears resolved_at and resolving again
    sets it anew, so a reopened issue counts from its creation to its last resolution. `percentiles_as`
    ("sqlite") forces the portable percentile branch (tests compare both branches on PostgreSQL).
    """
    dialect = _dialect(session)
    durations = (
        sa.select(
            Issue.assignee_id,
            (epoch_seconds(dialect, Issue.resolved_at) - epoch_seconds(dialect, Issue.created_at)).label("seconds"),
        )
        .where(_in_period(Issue.resolved_at, scope.period), *scope.where())
        .cte("durations")
    )
    stats = duration_stats(percentiles_as or dialect, durations).subquery("stats")
    rows = session.execute(
        sa.select(stats, User.name, User.active)
        .select_from(stats.outerjoin(User, User.id == stats.c.assignee_id))
        .order_by(
            stats.c.overall.desc(),
            stats.c.assignee_id.is_(None),
            stats.c["count"].desc(),
            sa.func.lower(User.name),
            stats.c.assignee_id,
        )
    ).all()
    result = []
    for row in rows:
        if row.overall:
            kind = "overall"
        else:
            kind = "unassigned" if row.assignee_id is None else "person"
        result.append(
            ResolutionRow(
                assignee_id=row.assignee_id,
                name=row.name,
                active=bool(row.active) if row.active is not None else True,
                count=int(row.count),
                average=_float(row.average),
                median=_float(row.p50),
                p90=_float(row.p90),
                kind=kind,
            )
        )
    return result


def _float(value: Any) -> float | None:
    """A database number (Decimal on some drivers) as a float, None staying None."""
    return None if value is None else float(value)


@dataclass
class FlowBucket:
    """One day or week of the period: its first and last day, issues created and resolved in it."""

    first: date
    last: date
    created: int = 0
    resolved: int = 0


@dataclass
class Flow:
    """Created vs resolved per day (periods up to 31 days) or per week (Monday to Sunday, cut to the period)."""

    weekly: bool
    buckets: list[FlowBucket]
    created: int
    resolved: int


def flow(session: Session, scope: Scope) -> Flow:
    """Issues created and resolved in the period, per bucket and in total (one statement)."""
    dialect = _dialect(session)
    period = scope.period
    if period.weekly:
        origin_day = FIRST_MONDAY + timedelta(days=(period.first - FIRST_MONDAY).days // 7 * 7)
        size = 7 * 86400
    else:
        origin_day = period.first
        size = 86400
    origin = int((day_start(origin_day) - EPOCH).total_seconds())

    def counted(kind: str, column: sa.ColumnElement[Any]) -> sa.CTE:
        """Issues per bucket of `column` within the period."""
        bucket = ((epoch_seconds(dialect, column) - origin) // size).label("bucket")
        return (
            sa.select(bucket, sa.func.count().label("n"))
            .where(_in_period(column, period), *scope.where())
            .group_by(bucket)
            .cte(kind)
        )

    created, resolved = counted("created", Issue.created_at), counted("resolved", Issue.resolved_at)
    parts = []
    for kind, cte in (("created", created), ("resolved", resolved)):
        parts.append(sa.select(sa.literal(kind).label("kind"), cte.c.bucket, cte.c.n))
        parts.append(sa.select(sa.literal(kind), sa.null(), sa.func.coalesce(sa.func.sum(cte.c.n), 0)))
    rows = session.execute(sa.union_all(*parts)).all()
    buckets = _flow_buckets(period, origin_day, 7 if period.weekly else 1)
    totals = {"created": 0, "resolved": 0}
    for kind, bucket, n in rows:
        if bucket is None:
            totals[kind] = int(n)
        else:
            setattr(buckets[int(bucket)], kind, int(n))
    return Flow(weekly=period.weekly, buckets=buckets, created=totals["created"], resolved=totals["resolved"])


def _flow_buckets(period: Period, origin_day: date, days: int) -> list[FlowBucket]:
    """Every bucket of the period (empty ones too), cut to the period at both ends."""
    buckets = []
    start = origin_day
    while start <= period.last:
        end = start + timedelta(days=days - 1)
        buckets.append(FlowBucket(max(start, period.first), min(end, period.last)))
        start += timedelta(days=days)
    return buckets


@dataclass
class AgeBucket:
    """Open issues created between `oldest` and `newest` (UTC days, both included; None = no bound)."""

    key: str
    first_age: int
    last_age: int | None
    oldest: date | None
    newest: date
    count: int = 0


@dataclass
class OpenIssues:
    """Issues open now (open or in progress): how many, by status, by priority and by age."""

    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_age: list[AgeBucket]


def open_issues(session: Session, scope: Scope, today: date) -> OpenIssues:
    """Open issues by status, by priority and by age in whole UTC days (one scan, one statement).

    The scan groups by status and priority only (eight groups at most) and counts, per group, the issues
    created since the start of each age bucket; the buckets are the differences of those running counts.
    A text age key per row in the grouping cost twice as much at half a million open issues.
    """
    buckets = [
        AgeBucket(
            key, first, last, today - timedelta(days=last) if last is not None else None, today - timedelta(days=first)
        )
        for key, first, last in AGE_BUCKETS
    ]
    bounded = [bucket for bucket in buckets if bucket.oldest is not None]  # youngest first; the last is unbounded
    since = [
        sa.func.count().filter(Issue.created_at >= day_start(bucket.oldest)).label(f"since_{bucket.key}")
        for bucket in bounded
    ]
    rows = session.execute(
        sa.select(Issue.status, Issue.priority, sa.func.count().label("n"), *since)
        .where(IS_OPEN, *scope.where())
        .group_by(Issue.status, Issue.priority)
    ).all()
    by_status = dict.fromkeys(OPEN_STATUSES, 0)
    by_priority = dict.fromkeys(PRIORITIES, 0)
    running = [0] * len(bounded)
    total = 0
    for row in rows:
        by_status[row.status] += row.n  # open statuses only (IS_OPEN); priorities are constrained
        by_priority[row.priority] += row.n
        total += row.n
        for i, bucket in enumerate(bounded):
            running[i] += row._mapping[f"since_{bucket.key}"]
    younger = 0
    for bucket, count in zip(buckets, [*running, total]):
        bucket.count = count - younger
        younger = count
    return OpenIssues(total=total, by_status=by_status, by_priority=by_priority, by_age=buckets)


def oldest_open(session: Session, scope: Scope, limit: int = OLDEST) -> list[Any]:
    """The oldest open issues (id, title, status, priority, created_at, assignee name and active flag)."""
    return list(
        session.execute(
            sa.select(
                Issue.id,
                Issue.title,
                Issue.status,
                Issue.priority,
                Issue.created_at,
                Issue.assignee_id,
                User.name.label("assignee_name"),
                User.active.label("assignee_active"),
            )
            .outerjoin(User, User.id == Issue.assignee_id)
            .where(IS_OPEN, *scope.where())
            .order_by(Issue.created_at, Issue.id)
            .limit(limit)
        ).all()
    )


@dataclass
class Report:
    """Every section of the report for one scope, as of `now`."""

    scope: Scope
    now: datetime
    assignees: list[AssigneeRow] = field(default_factory=list)
    resolution: list[ResolutionRow] = field(default_factory=list)
    flow: Flow | None = None
    open: OpenIssues | None = None
    oldest: list[Any] = field(default_factory=list)


SECTIONS = ("assignees", "resolution", "flow", "open", "oldest")


def build_report(session: Session, scope: Scope, now: datetime, sections: tuple[str, ...] = SECTIONS) -> Report:
    """Run the statements of the wanted sections (one each)."""
    report = Report(scope=scope, now=now)
    if "assignees" in sections:
        report.assignees = top_assignees(session, scope)
    if "resolution" in sections:
        report.resolution = resolution_times(session, scope)
    if "flow" in sections:
        report.flow = flow(session, scope)
    if "open" in sections:
        report.open = open_issues(session, scope, now.date())
    if "oldest" in sections:
        report.oldest = oldest_open(session, scope)
    return report
