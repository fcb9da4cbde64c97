"""Reports: exact figures against a hand-computed fixture on both databases, links, CSV, bad parameters, statements."""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import hx, text
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.labels import service as labels_service
from tracker.models import Issue, IssueLabel
from tracker.reports import queries
from tracker.reports.formatting import duration

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 7)
PERIOD = f"from={FIRST}&to={LAST}"
NOW = datetime(2026, 3, 7, 23, 30)  # "now" for the open-issue figures: today is the period's last day
DAY = 86400
HOUR = 3600


def at(text: str) -> datetime:
    """A naive UTC timestamp from '2026-03-01 10:00' (seconds optional)."""
    return datetime.fromisoformat(text)


@pytest.fixture
def fixture(app, make_user, monkeypatch):
    """Twelve issues whose figures are worked out by hand in each test (period 2026-03-01 to 2026-03-07).

    #   assignee    status       priority  created            resolved_at           label
    1   Ada         resolved     medium    02-20 10:00        03-01 00:00:00 (from) bug
    2   Ada         closed       medium    03-02 08:00        03-03 08:00
    3   Ada         open         high      03-05 12:00
    4   Grace       resolved     medium    03-01 00:00        03-07 23:59:59 (to)   bug
    5   Grace       resolved     medium    03-08 00:00 (out)  03-08 01:00 (out)
    6   Grace       in_progress  critical  01-01 00:00                              bug
    7   Grace       resolved     medium    02-28 12:00        03-04 12:00 (resolved 03-01, reopened 03-02)
    8   -           open         low       02-25 00:00
    9   -           resolved     medium    03-03 06:00        03-03 06:30           bug
    10  Linus       open         medium    03-06 00:00
    11  Linus       closed       medium    2025-12-01         02-28 23:59:59 (out)
    12  Linus       open         high      03-07 23:00
    """
    reporter = make_user("member", name="Reporter")
    ada = make_user("member", name="Ada")
    grace = make_user("member", name="Grace")
    linus = make_user("member", name="Linus")
    bug = labels_service.create_label(db.session, reporter, "bug", "#cc0000")
    rows = [
        (ada, "resolved", "medium", "2026-02-20 10:00", "2026-03-01 00:00:00", True),
        (ada, "closed", "medium", "2026-03-02 08:00", "2026-03-03 08:00", False),
        (ada, "open", "high", "2026-03-05 12:00", None, False),
        (grace, "resolved", "medium", "2026-03-01 00:00", "2026-03-07 23:59:59", True),
        (grace, "resolved", "medium", "2026-03-08 00:00", "2026-03-08 01:00", False),
        (grace, "in_progress", "critical", "2026-01-01 00:00", None, True),
        None,  # 7: made through the service below (resolved, reopened, resolved again)
        (None, "open", "low", "2026-02-25 00:00", None, False),
        (None, "resolved", "medium", "2026-03-03 06:00", "2026-03-03 06:30", True),
        (linus, "open", "medium", "2026-03-06 00:00", None, False),
        (linus, "closed", "medium", "2025-12-01 00:00", "2026-02-28 23:59:59", False),
        (linus, "open", "high", "2026-03-07 23:00", None, False),
    ]
    ids = []
    for n, row in enumerate(rows, start=1):
        if row is None:
            ids.append(_reopened_issue(monkeypatch, reporter, grace))
            continue
        who, status, priority, created, resolved, labelled = row
        issue = Issue(
            title=f"Issue {n}",
            status=status,
            priority=priority,
            assignee_id=who.id if who else None,
            reporter_id=reporter.id,
            created_at=at(created),
            updated_at=at(created),
            resolved_at=at(resolved) if resolved else None,
        )
        db.session.add(issue)
        db.session.flush()
        if labelled:
            db.session.add(IssueLabel(issue_id=issue.id, label_id=bug.id))
        ids.append(issue.id)
    db.session.commit()
    assert len(set(ids)) == 12
    return {"ada": ada, "grace": grace, "linus": linus, "reporter": reporter, "bug": bug, "ids": ids}


def _reopened_issue(monkeypatch, reporter, grace) -> int:
    """Issue 7 by the real service: created 02-28 12:00, resolved 03-01 10:00, reopened 03-02, resolved 03-04 12:00."""
    clock = {"now": at("2026-02-28 12:00")}
    monkeypatch.setattr(issue_service, "utcnow", lambda: clock["now"])
    issue = issue_service.create_issue(db.session, reporter, {"title": "Issue 7", "assignee_id": grace.id})
    for moment, status in (
        ("2026-03-01 10:00", "resolved"),
        ("2026-03-02 09:00", "open"),
        ("2026-03-04 12:00", "resolved"),
    ):
        clock["now"] = at(moment)
        issue = issue_service.update_issue(db.session, reporter, issue.id, issue.version, {"status": status})
    monkeypatch.undo()
    assert issue.resolved_at == at("2026-03-04 12:00")
    return issue.id


def scope_of(first=FIRST, last=LAST, label="", assignee="") -> queries.Scope:
    """A checked scope for a custom period and optional filters."""
    params = queries.ReportParams(queries.Period(first, last), label=label, assignee=assignee)
    scope, errors = queries.load_scope(db.session, params)
    assert errors == {}
    return scope


def assignee_table(rows) -> list[tuple]:
    """(rank, who, total, open, in progress, resolved, closed, resolved in period) per row."""
    return [
        (r.rank, r.name if r.kind == "person" else r.kind, r.total, *r.by_status.values(), r.resolved_in_period)
        for r in rows
    ]


def resolution_table(rows) -> list[tuple]:
    """(who, count, average, median, p90) per row."""
    return [(r.name if r.kind == "person" else r.kind, r.count, r.average, r.median, r.p90) for r in rows]


# ---- the figures, straight from the queries -------------------------------------------------------------


def test_top_assignees_rank_ties_unassigned_and_total(fixture):
    rows = queries.top_assignees(db.session, scope_of())
    assert assignee_table(rows) == [
        (1, "Grace", 4, 0, 1, 3, 0, 2),  # 4 and 7 resolved in the period; 5 just after it
        (2, "Ada", 3, 1, 0, 1, 1, 2),  # tie with Linus on 3 assigned: same rank, more resolved first
        (2, "Linus", 3, 2, 0, 0, 1, 0),  # 11 resolved one second before the period
        (None, "unassigned", 2, 1, 0, 1, 0, 1),
        (None, "total", 12, 4, 1, 5, 2, 5),
    ]


def test_top_assignees_limit_keeps_total_over_everyone(fixture):
    rows = queries.top_assignees(db.session, scope_of(), limit=1)
    assert assignee_table(rows) == [
        (1, "Grace", 4, 0, 1, 3, 0, 2),
        (None, "unassigned", 2, 1, 0, 1, 0, 1),
        (None, "total", 12, 4, 1, 5, 2, 5),
    ]


def test_resolution_times_overall_and_per_assignee(fixture):
    rows = queries.resolution_times(db.session, scope_of())
    # Resolved in the period: 1 (8 d 14 h), 2 (1 d), 4 (6 d 23:59:59), 7 (4 d, to its last resolution), 9 (30 min).
    d1, d2, d4, d7, d9 = 8 * DAY + 14 * HOUR, DAY, 7 * DAY - 1, 4 * DAY, 1800
    expected = [
        # sorted 1800, 86400, 345600, 604799, 741600: p90 at position 3.6 = 604799 + 0.6 * 136801
        ("overall", 5, (d1 + d2 + d4 + d7 + d9) / 5, d7, d4 + 0.6 * (d1 - d4)),
        ("Ada", 2, (d1 + d2) / 2, (d1 + d2) / 2, d2 + 0.9 * (d1 - d2)),
        ("Grace", 2, (d4 + d7) / 2, (d4 + d7) / 2, d7 + 0.9 * (d4 - d7)),
        ("unassigned", 1, d9, d9, d9),
    ]
    got = resolution_table(rows)
    assert [r[:2] for r in got] == [r[:2] for r in expected]
    for row, want in zip(got, expected):
        assert row[2:] == pytest.approx(want[2:], abs=1e-6), row[0]
    assert (duration(rows[0].average), duration(rows[0].median), duration(rows[0].p90)) == (
        "4 d 3 h",
        "4 d",
        "7 d 23 h",
    )


def test_flow_per_day_with_inclusive_from_and_exclusive_after_to(fixture):
    result = queries.flow(db.session, scope_of())
    assert not result.weekly
    assert [(b.first, b.last) for b in result.buckets] == [(FIRST + timedelta(days=i),) * 2 for i in range(7)]
    assert [b.created for b in result.buckets] == [1, 1, 1, 0, 1, 1, 1]  # 5 (03-08 00:00) is out
    assert [b.resolved for b in result.buckets] == [1, 0, 2, 1, 0, 0, 1]  # 1 at 03-01 00:00 in, 4 at 23:59:59 in
    assert (result.created, result.resolved) == (6, 5)


def test_the_last_instant_of_a_day_counts_in_that_day(fixture, client, login):
    """Times in the last half millisecond of a day stay in it (SQLite rounded them to the next midnight: a day
    late, and a 500 on the period's last day)."""
    ids = fixture["ids"]
    db.session.execute(
        sa.update(Issue).where(Issue.id == ids[3]).values(resolved_at=datetime(2026, 3, 7, 23, 59, 59, 999_700))
    )
    db.session.execute(
        sa.update(Issue).where(Issue.id == ids[2]).values(created_at=datetime(2026, 3, 5, 23, 59, 59, 999_999))
    )
    db.session.commit()
    result = queries.flow(db.session, scope_of())
    assert [b.created for b in result.buckets] == [1, 1, 1, 0, 1, 1, 1]
    assert [b.resolved for b in result.buckets] == [1, 0, 2, 1, 0, 0, 1]
    login(fixture["reporter"])
    assert client.get(f"/reports?{PERIOD}").status_code == 200


def test_flow_per_week_cut_to_the_period(fixture):
    result = queries.flow(db.session, scope_of(date(2026, 2, 20), date(2026, 3, 31)))
    assert result.weekly
    assert [(b.first.isoformat(), b.last.isoformat(), b.created, b.resolved) for b in result.buckets] == [
        ("2026-02-20", "2026-02-22", 1, 0),
        ("2026-02-23", "2026-03-01", 3, 2),
        ("2026-03-02", "2026-03-08", 6, 5),
        ("2026-03-09", "2026-03-15", 0, 0),
        ("2026-03-16", "2026-03-22", 0, 0),
        ("2026-03-23", "2026-03-29", 0, 0),
        ("2026-03-30", "2026-03-31", 0, 0),
    ]
    assert (result.created, result.resolved) == (10, 7)


def test_open_issues_by_status_priority_and_age(fixture):
    result = queries.open_issues(db.session, scope_of(), NOW.date())
    assert result.total == 5  # 3, 6, 8, 10, 12
    assert result.by_status == {"open": 4, "in_progress": 1}
    assert result.by_priority == {"low": 1, "medium": 1, "high": 2, "critical": 1}
    # Ages on 03-07: 12 is 0 days, 10 and 3 are 1 and 2, 8 is 10, 6 is 65.
    assert [(b.key, b.count, b.oldest, b.newest) for b in result.by_age] == [
        ("day", 1, date(2026, 3, 7), date(2026, 3, 7)),
        ("week", 2, date(2026, 3, 1), date(2026, 3, 6)),
        ("month", 1, date(2026, 2, 6), date(2026, 2, 28)),
        ("older", 1, None, date(2026, 2, 5)),
    ]


def test_oldest_open_issues(fixture):
    rows = queries.oldest_open(db.session, scope_of())
    assert [(r.title, r.assignee_name) for r in rows] == [
        ("Issue 6", "Grace"),
        ("Issue 8", None),
        ("Issue 3", "Ada"),
        ("Issue 10", "Linus"),
        ("Issue 12", "Linus"),
    ]


def test_label_filter(fixture):
    scope = scope_of(label="BUG")  # names match regardless of case
    assert assignee_table(queries.top_assignees(db.session, scope)) == [
        (1, "Grace", 2, 0, 1, 1, 0, 1),
        (2, "Ada", 1, 0, 0, 1, 0, 1),
        (None, "unassigned", 1, 0, 0, 1, 0, 1),
        (None, "total", 4, 0, 1, 3, 0, 3),
    ]
    overall = queries.resolution_times(db.session, scope)[0]
    assert (overall.count, overall.median) == (3, 7 * DAY - 1)
    assert queries.open_issues(db.session, scope, NOW.date()).total == 1


def test_assignee_filters(fixture):
    unassigned = scope_of(assignee="none")
    assert assignee_table(queries.top_assignees(db.session, unassigned)) == [
        (None, "unassigned", 2, 1, 0, 1, 0, 1),
        (None, "total", 2, 1, 0, 1, 0, 1),
    ]
    assert resolution_table(queries.resolution_times(db.session, unassigned)) == [
        ("overall", 1, 1800.0, 1800.0, 1800.0),
        ("unassigned", 1, 1800.0, 1800.0, 1800.0),
    ]
    linus = scope_of(assignee=str(fixture["linus"].id))
    assert resolution_table(queries.resolution_times(db.session, linus)) == [("overall", 0, None, None, None)]
    assert queries.flow(db.session, linus).created == 2


def test_empty_period(fixture):
    scope = scope_of(date(2025, 6, 1), date(2025, 6, 7))
    assert resolution_table(queries.resolution_times(db.session, scope)) == [("overall", 0, None, None, None)]
    result = queries.flow(db.session, scope)
    assert (result.created, result.resolved, len(result.buckets)) == (0, 0, 7)
    assert all(b.created == b.resolved == 0 for b in result.buckets)
    # Assigned counts are "now"; only the resolved-in-period column depends on the period.
    assert [r.resolved_in_period for r in queries.top_assignees(db.session, scope)] == [0, 0, 0, 0, 0]


def test_empty_database(app):
    report = queries.build_report(db.session, scope_of(), NOW)
    assert assignee_table(report.assignees) == [(None, "total", 0, 0, 0, 0, 0, 0)]
    assert resolution_table(report.resolution) == [("overall", 0, None, None, None)]
    assert report.open.total == 0 and report.oldest == []


def test_portable_percentiles_match_postgres(fixture, postgres_only):
    """The window-function percentiles (SQLite's branch) give PostgreSQL's percentile_cont figures exactly."""
    rng = random.Random(6)
    people = [fixture["ada"], fixture["grace"], fixture["linus"], None]
    for n in range(60):
        created = datetime(2026, 2, 1) + timedelta(seconds=rng.randrange(0, 20 * DAY))
        who = rng.choice(people)
        db.session.add(
            Issue(
                title=f"Random {n}",
                status="resolved",
                assignee_id=who.id if who else None,
                reporter_id=fixture["reporter"].id,
                created_at=created,
                updated_at=created,
                resolved_at=datetime(2026, 3, 1) + timedelta(seconds=rng.randrange(0, 7 * DAY)),
            )
        )
    db.session.commit()
    native = queries.resolution_times(db.session, scope_of())
    portable = queries.resolution_times(db.session, scope_of(), percentiles_as="sqlite")
    assert resolution_table(portable) == resolution_table(native)


# ---- parameters --------------------------------------------------------------------------------------


class Args(dict):
    """A MultiDict stand-in: every key maps to a list."""

    def getlist(self, key):
        return self.get(key, [])


def test_parse_params_presets_and_custom():
    today = date(2026, 3, 7)
    params, errors = queries.parse_params(Args(), today)
    assert errors == {} and params.period == queries.Period(date(2026, 2, 6), today, 30)
    params, errors = queries.parse_params(Args(period=["7"], **{"from": ["2020-01-01"]}), today)
    assert errors == {} and params.period == queries.Period(date(2026, 3, 1), today, 7)
    assert params.query_args() == {"period": 7}
    params, errors = queries.parse_params(
        Args({"from": ["2026-01-01"], "to": ["2026-01-31"], "label": [" a  b "]}), today
    )
    assert errors == {} and params.period == queries.Period(date(2026, 1, 1), date(2026, 1, 31))
    assert params.query_args() == {"from": "2026-01-01", "to": "2026-01-31", "label": "a b"}


# ---- pages -------------------------------------------------------------------------------------------


@pytest.fixture
def at_now(monkeypatch):
    """The report views see NOW as the current time."""
    from tracker.reports import views

    monkeypatch.setattr(views, "utcnow", lambda: NOW)


def test_dashboard_shows_the_figures_with_names(client, login, fixture, at_now):
    login(fixture["ada"])
    response = client.get(f"/reports?{PERIOD}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2026-03-01 to 2026-03-07" in page
    assert re.search(r"Grace</th>\s*<td class=\"n\"><a class=\"count\" href=\"[^\"]+\">4</a>", page)
    assert "Unassigned" in page and "Everyone" in page
    assert "4 d 3 h" in page and "7 d 23 h" in page  # overall average and 90th percentile
    assert f'href="/issues/{fixture["ids"][5]}"' in page  # the oldest open issue links to itself
    assert "HX-Request" in response.headers["Vary"]


def test_every_count_links_to_exactly_those_issues(client, login, fixture, at_now):
    """Follow each linked figure to the issue list and compare the list's count with the figure."""
    login(fixture["ada"])
    for query in (PERIOD, f"{PERIOD}&label=bug", f"{PERIOD}&assignee=none", "from=2026-02-20&to=2026-03-31"):
        page = client.get(f"/reports?{query}").get_data(as_text=True)
        links = re.findall(r'<a class="count" href="([^"]+)">([\d,]+)</a>', page)
        assert len(links) > 30
        for href, figure in set(links):
            listing = client.get(html.unescape(href), headers=hx("issue-results"))
            assert listing.status_code == 200, href
            listed = listing.get_data(as_text=True)
            found = re.search(r"Showing [\d,]+–[\d,]+ of\s+([\d,]+) issues?\b", listed)
            shown = int(found.group(1).replace(",", "")) if found else 0
            assert shown == int(figure.replace(",", "")), (query, html.unescape(href), figure)


def test_htmx_gets_the_report_fragment_and_the_tidy_url(client, login, fixture, at_now):
    login(fixture["ada"])
    response = client.get(
        f"/reports?period=custom&{PERIOD}&label=&assignee=", headers=hx("report")
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="report"') and "<html" not in body
    assert response.headers["HX-Push-Url"] == f"/reports?from={FIRST}&to={LAST}"
    assert "HX-Request" in response.headers["Vary"]


def test_printable_report(client, login, fixture, at_now):
    login(fixture["grace"])
    response = client.get(f"/reports/print?{PERIOD}&label=bug")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<nav" not in page and "<button" not in page and "<form" not in page
    assert "Download CSV" not in page and 'class="count"' not in page
    assert "Generated" in page and "2026-03-07 23:30 UTC by Grace" in page
    assert "2026-03-01 to 2026-03-07" in page and "<dd>bug</dd>" in page
    assert "print.css" in page and "app.css" not in page


def csv_rows(response) -> list[list[str]]:
    """The CSV body as rows of cells."""
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_downloads(client, login, fixture, at_now):
    login(fixture["ada"])
    response = client.get(f"/reports/assignees.csv?{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="tracker-assignees-2026-03-01-to-2026-03-07.csv"'
    )
    g, a, linus = fixture["grace"].id, fixture["ada"].id, fixture["linus"].id
    assert csv_rows(response) == [
        [
            "rank",
            "assignee",
            "assignee_id",
            "assigned",
            "open",
            "in_progress",
            "resolved",
            "closed",
            "resolved_in_period",
        ],
        ["1", "Grace", str(g), "4", "0", "1", "3", "0", "2"],
        ["2", "Ada", str(a), "3", "1", "0", "1", "1", "2"],
        ["2", "Linus", str(linus), "3", "2", "0", "0", "1", "0"],
        ["", "Unassigned", "", "2", "1", "0", "1", "0", "1"],
        ["", "Everyone", "", "12", "4", "1", "5", "2", "5"],
    ]
    rows = csv_rows(client.get(f"/reports/resolution.csv?{PERIOD}&assignee=none"))
    assert rows == [
        [
            "assignee",
            "assignee_id",
            "resolved",
            "average_seconds",
            "median_seconds",
            "p90_seconds",
            "average",
            "median",
            "p90",
        ],
        ["Everyone", "", "1", "1800", "1800", "1800", "30 min", "30 min", "30 min"],
        ["Unassigned", "", "1", "1800", "1800", "1800", "30 min", "30 min", "30 min"],
    ]
    rows = csv_rows(client.get(f"/reports/flow.csv?{PERIOD}"))
    assert rows[0] == ["first_day", "last_day", "created", "resolved"]
    assert rows[1:] == [[d, d, c, r] for d, c, r in zip(
        [(FIRST + timedelta(days=i)).isoformat() for i in range(7)], "1110111", "1021001"
    )]
    assert csv_rows(client.get(f"/reports/open.csv?{PERIOD}"))[1:] == [
        ["status", "Open", "4"], ["status", "In progress", "1"],
        ["priority", "Low", "1"], ["priority", "Medium", "1"], ["priority", "High", "2"], ["priority", "Critical", "1"],
        ["total", "Open now", "5"],
    ]
    assert csv_rows(client.get(f"/reports/aging.csv?{PERIOD}"))[1:] == [
        ["Under 1 day", "0", "0", "2026-03-07", "2026-03-07", "1"],
        ["1–7 days", "1", "6", "2026-03-01", "2026-03-06", "2"],
        ["7–30 days", "7", "29", "2026-02-06", "2026-02-28", "1"],
        ["Over 30 days", "30", "", "", "2026-02-05", "1"],
    ]
    oldest = csv_rows(client.get(f"/reports/oldest.csv?{PERIOD}"))
    assert [row[1] for row in oldest[1:]] == ["Issue 6", "Issue 8", "Issue 3", "Issue 10", "Issue 12"]
    assert oldest[1][4:] == ["Grace", "2026-01-01 00:00:00", "65"]


def test_csv_neutralises_formulas(client, login, fixture, at_now):
    login(fixture["ada"])
    db.session.execute(sa.update(Issue).where(Issue.title == "Issue 6").values(title="=HYPERLINK(1)"))
    db.session.commit()
    oldest = csv_rows(client.get(f"/reports/oldest.csv?{PERIOD}"))
    assert oldest[1][1] == "'=HYPERLINK(1)"


BAD_PARAMETERS = [
    ("period=14", "Unknown period '14'"),
    ("period=%C2%B2", "Unknown period"),
    ("from=2026-03-01", "'to' is missing"),
    ("to=2026-03-01", "'from' is missing"),
    ("from=2026-02-30&to=2026-03-01", "'from' must be a date like 2026-01-31"),
    ("from=2026-03-01&to=03/07/2026", "'to' must be a date like 2026-01-31"),
    ("from=2026-03-07&to=2026-03-01", "The period starts (2026-03-07) after it ends (2026-03-01)."),
    ("from=2025-01-01&to=2026-03-01", "A report covers at most 366 days"),
    ("period=custom", "'from' is missing"),
    ("period=7&period=30", "Give 'period' once"),
    ("label=nope", "There is no label named 'nope'."),
    ("assignee=abc", "Assignee must be a user id or 'none'"),
    ("assignee=%C2%B2", "Assignee must be a user id or 'none'"),
    ("assignee=99999999999999999999", "Assignee must be a user id or 'none'"),
    ("assignee=4242", "There is no user with id 4242."),
]


@pytest.mark.parametrize(("query", "message"), BAD_PARAMETERS)
@pytest.mark.parametrize("path", ["/reports", "/reports/print", "/reports/flow.csv"])
def test_bad_parameters_are_400_with_a_message(client, login, fixture, snapshot, path, query, message):
    login(fixture["ada"])
    before = snapshot()
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert message in text(response)
    assert snapshot() == before


def test_bad_parameters_for_htmx_trigger_the_error_banner(client, login, fixture):
    login(fixture["ada"])
    response = client.get("/reports?period=14", headers=hx("report"))
    assert response.status_code == 400
    assert json.loads(response.headers["HX-Trigger"]) == {
        "tracker:error": {"message": "Unknown period '14'; use 7, 30, 90, or from and to dates.", "status": 400}
    }


def test_unknown_csv_table_is_404(client, login, fixture):
    login(fixture["ada"])
    response = client.get("/reports/passwords.csv")
    assert response.status_code == 404
    assert "There is no report table 'passwords'" in text(response)


def test_reports_need_sign_in(client):
    assert client.get("/reports").status_code == 302


def test_statement_count_does_not_grow_with_issues(client, login, fixture, count_statements, at_now):
    login(fixture["ada"])
    paths = [f"/reports?{PERIOD}", f"/reports/print?{PERIOD}&label=bug", f"/reports/assignees.csv?{PERIOD}"]
    counts = []
    for extra in (0, 40):
        for n in range(extra):
            db.session.add(
                Issue(title=f"More {n}", status="open", reporter_id=fixture["reporter"].id,
                      assignee_id=fixture["linus"].id, created_at=at("2026-03-02 10:00"), updated_at=NOW)
            )
        db.session.commit()
        row = []
        for path in paths:
            with count_statements() as statements:
                assert client.get(path).status_code == 200
            row.append(len(statements))
        counts.append(row)
    assert counts[0] == counts[1]
    assert counts[0][0] <= 9  # session user, labels, people, five report statements (+ savepoint noise: none)


# ---- the issue list's date filters -------------------------------------------------------------------


def test_list_resolved_and_created_ranges(client, login, fixture):
    login(fixture["ada"])
    response = client.get(f"/issues?resolved_from={FIRST}&resolved_to={LAST}&assignee={fixture['grace'].id}&sort=id")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.findall(r">(Issue \d+)</a>", page) == ["Issue 4", "Issue 7"]
    # The dates become part of the query in the box, so changing another filter does not widen the list.
    grace = fixture["grace"].email.split("@")[0]
    assert f'value="assignee:{grace} sort:id-asc resolved:2026-03-01..2026-03-07"' in page
    response = client.get(f"/issues?created_from={FIRST}&created_to={FIRST}&sort=id")
    assert re.findall(r">(Issue \d+)</a>", response.get_data(as_text=True)) == ["Issue 4"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("created_from=yesterday", "created_from must be a date like 2026-01-31"),
        ("resolved_to=2026-02-30", "resolved_to must be a date like 2026-01-31"),
        ("created_from=2026-03-02&created_to=2026-03-01", "created_from (2026-03-02) is after created_to (2026-03-01)"),
    ],
)
def test_list_bad_dates_are_400(client, login, fixture, query, message):
    login(fixture["ada"])
    response = client.get(f"/issues?{query}")
    assert response.status_code == 400
    assert message in text(response)


def test_scope_from_args_for_the_api(fixture):
    """The JSON API's entry point: query parameters in, a checked scope (or errors by parameter) out."""
    args = Args({"from": [str(FIRST)], "to": [str(LAST)], "label": ["Bug"], "assignee": [str(fixture["grace"].id)]})
    scope, errors = queries.scope_from_args(db.session, args, NOW.date())
    assert errors == {}
    assert (scope.label.name, scope.assignee.name, scope.period.days) == ("bug", "Grace", 7)
    assert [r.count for r in queries.resolution_times(db.session, scope)] == [1, 1]
    _scope, errors = queries.scope_from_args(
        db.session, Args(label=["nope"], assignee=["4242"], period=["5"]), NOW.date()
    )
    assert errors == {
        "label": "There is no label named 'nope'.",
        "assignee": "There is no user with id 4242.",
        "period": "Unknown period '5'; use 7, 30, 90, or from and to dates.",
    }
