"""The generated data set: users, labels and issues with a realistic spread, as rows for PostgreSQL's COPY.

Besides the ordinary issues it holds, at fixed ids derived from the issue count:
- one busy issue (busy_issue) with BUSY_COMMENTS comments and BUSY_CHANGES field/label changes in its timeline;
- the bulk pool (bulk_pool): issues spread over the whole id range, all created `open`, that only the bulk
  scenarios change (toggling them between open and in_progress), so bulk runs always meet valid transitions.

Time: the data set spans SPAN and ends at `end`: END (a fixed day) by default, the start of the load's day for the
benchmark's own load (load_end), so the reports' "last 30 days" hold the recent resolutions: RECENT_SHARE of the
resolved and closed issues were resolved in the last RECENT_DAYS days, about 100,000 at 1,000,000 issues
(with those resolved there anyway). Everything else is the same for every load with the same seed, only shifted.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

ADMIN_EMAIL = "admin@bench.example"
ADMIN_PASSWORD = "bench-password"
USER_COUNT = 50
VIEWER_COUNT = 4  # viewers read only: never assignees or reporters
SPAN = timedelta(days=730)
# The data set ends here unless told otherwise (tests); the benchmark's load ends it after the load day.
END = datetime(2026, 1, 1)
# Recent resolutions for the reports: this share of resolved/closed issues was resolved in the last RECENT_DAYS
# days (drawn from their own random stream, so the rest of the data set is as before). With the ~37,000 resolved
# there anyway this makes ~100,000 at 1M issues; the reports' default period (30 days, today included) covers it.
RECENT_DAYS = 29
RECENT_SHARE = 0.16
STATUSES = {"open": 40, "in_progress": 15, "resolved": 25, "closed": 20}
PRIORITIES = {"low": 25, "medium": 45, "high": 22, "critical": 8}
UNASSIGNED_SHARE = 0.10
# Words of titles and descriptions, most frequent first; drawn with Zipf weights (rank r has weight 1/r).
COMMON_WORDS = """
the error page when user not is on in to after with login button issue fails report list shows save form
crash slow data update wrong missing search filter timeout server request response loading display field
click settings profile account email notification export import file upload download link dashboard table
message status value date time order sort column row admin permission access session token password reset
api endpoint database query cache memory browser mobile layout style font icon image modal dialog menu
redirect validation input empty duplicate blank broken invalid unexpected exception stack trace log warning
null undefined missing incorrect label text translation language locale currency number format count total
chart graph widget sidebar header footer navigation tab panel card item detail view edit delete create
comment attachment history audit user group team project release version build deploy config environment
staging production test regression performance latency spinner scroll pagination keyboard shortcut focus
printing pdf csv spreadsheet calendar reminder schedule recurring invoice payment checkout cart discount
refund shipping address phone avatar signup onboarding invite role owner archive restore trash tag label
webpage retry queue worker job cron backup sync conflict merge offline reconnect socket stream video audio
""".split()
# Rarer words: one of them in RARE_SHARE of the issues, Zipf-weighted, so each is in ~0.1%-3.7% of issues.
RARE_WORDS = """
kerberos webhook tooltip favicon checksum hyphenation watermark throttling mojibake screenreader breadcrumb
keystore unicode daylight leapyear ipv6 sitemap captcha emoji rtl subpixel hotkey gzip sandbox proxying
geolocation thumbnail ellipsis clipboard autocomplete
""".split()
RARE_SHARE = 0.15
# Search terms for the benchmark: rare words of ranks 5-25, expected in ~0.75%, 0.4%, 0.25% and 0.15% of issues.
SEARCH_WORDS = (RARE_WORDS[4], RARE_WORDS[9], RARE_WORDS[14], RARE_WORDS[24])
# Labels: (name, colour, share of issues carrying it); each issue carries each label independently.
LABELS = (
    ("bug", "#b60205", 0.18),
    ("feature", "#0e8a16", 0.10),
    ("ui", "#1d76db", 0.07),
    ("backend", "#0052cc", 0.06),
    ("performance", "#d93f0b", 0.04),
    ("docs", "#006b75", 0.03),
    ("needs-triage", "#fbca04", 0.03),
    ("ux", "#5319e7", 0.02),
    ("api", "#6a737d", 0.015),
    ("mobile", "#e99695", 0.01),
    ("regression", "#b60205", 0.008),
    ("accessibility", "#0e8a16", 0.006),
    ("i18n", "#1d76db", 0.005),
    ("good-first-issue", "#006b75", 0.004),
    ("security", "#d93f0b", 0.003),
    ("wontfix", "#6a737d", 0.002),
)
# The label filter scenario draws from a common, a middling and a rare label (~18%, ~2%, ~0.3% of issues).
LABEL_FILTERS = ("bug", "ux", "security")
# The busy issue's timeline: this many comments and as many changes (priority, assignee, status, labels).
BUSY_COMMENTS = 500
BUSY_CHANGES = 500
# Issues set aside for bulk changes: at most this many, at most half the data set, spread over all ids.
BULK_POOL = 50_000
FIRST_NAMES = "Ada Grace Alan Edsger Barbara Donald Margaret Ken Dennis Linus Guido Frances Tim Radia Niklaus".split()
LAST_NAMES = "Lovelace Hopper Turing Dijkstra Liskov Knuth Hamilton Thompson Ritchie Torvalds Rossum Allen".split()


@dataclass(frozen=True)
class BenchUser:
    """A generated user: ids run from 1, user 1 is the admin the benchmark signs in as."""

    id: int
    name: str
    email: str
    role: str


def users() -> list[BenchUser]:
    """The admin, the members and a few viewers."""
    rng = random.Random(7)
    result = [BenchUser(1, "Bench Admin", ADMIN_EMAIL, "admin")]
    for user_id in range(2, USER_COUNT + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        role = "viewer" if user_id > USER_COUNT - VIEWER_COUNT else "member"
        email = f"{first}.{last}.{user_id}@bench.example".lower()
        result.append(BenchUser(user_id, f"{first} {last}", email, role))
    return result


def label_ids() -> dict[str, int]:
    """Label ids by name (ids run from 1 in LABELS order)."""
    return {name: index for index, (name, _, _) in enumerate(LABELS, start=1)}


def load_end(today: date | None = None) -> datetime:
    """Where a load made today ends the data set: today's midnight (UTC, naive), so nothing lies in the future."""
    today = today or datetime.now(timezone.utc).date()
    return datetime.combine(today, datetime.min.time())


def end_of(last_created: datetime) -> datetime:
    """The data set's end, from the creation time of its newest issue (created within the last day)."""
    return datetime.combine(last_created.date() + timedelta(days=1), datetime.min.time())


def bulk_stride(count: int) -> int:
    """Every bulk_stride-th issue belongs to the bulk pool."""
    return max(2, count // BULK_POOL)


def bulk_pool(count: int) -> list[int]:
    """Ids of the issues set aside for bulk changes, ascending (all `open` when loaded)."""
    stride = bulk_stride(count)
    return list(range(stride, min(count, stride * BULK_POOL) + 1, stride))


def busy_issue(count: int) -> int:
    """Id of the issue with the long timeline (in the middle of the data set, never in the bulk pool)."""
    issue_id = max(1, (count + 1) // 2)
    return issue_id + 1 if issue_id % bulk_stride(count) == 0 and issue_id < count else issue_id


def copy_text(value: str) -> str:
    """A string in COPY's text format: backslash, tab and line breaks escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def editor_ids() -> list[int]:
    """Users who report and are assigned issues (admin and members)."""
    return [u.id for u in users() if u.role != "viewer"]


def _cumulative(weights: list[float]) -> list[float]:
    """Running totals, for random.choices(cum_weights=...)."""
    total, result = 0.0, []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _copy_time(moment: datetime) -> str:
    """A timestamp as COPY reads it."""
    return moment.isoformat(sep=" ")


@dataclass
class IssueRows:
    """One issue's lines for each table, in COPY text format (all but `issue` may be empty)."""

    issue: str
    events: str
    labels: str = ""
    comments: str = ""


@dataclass
class _BusyState:
    """The busy issue's fields as its generated timeline changes them."""

    status: str = "open"
    priority: str = "medium"
    assignee: int | None = None
    labels: list[int] = field(default_factory=list)
    version: int = 1


def issue_rows(count: int, seed: int, end: datetime = END) -> Iterator[IssueRows]:
    """Yield each issue's rows, issue ids 1..count, oldest first; ordinary issues have one 'created' event."""
    rng = random.Random(seed)
    recent_rng = random.Random(seed * 1_000_003 + 17)  # recent resolutions only: the main stream stays as it was
    recent_start = end - timedelta(days=RECENT_DAYS)
    word_weights = _cumulative([1 / rank for rank in range(1, len(COMMON_WORDS) + 1)])
    rare_weights = _cumulative([1 / rank for rank in range(1, len(RARE_WORDS) + 1)])
    status_names, status_weights = list(STATUSES), _cumulative(list(STATUSES.values()))
    priority_names, priority_weights = list(PRIORITIES), _cumulative(list(PRIORITIES.values()))
    editors = editor_ids()
    label_shares = [(label_id, share) for label_id, (_, _, share) in enumerate(LABELS, start=1)]
    # A few people carry much of the work: assignee weights fall off with 1/sqrt(rank).
    assignee_weights = _cumulative([rank**-0.5 for rank in range(1, len(editors) + 1)])
    start = end - SPAN
    step = SPAN.total_seconds() / count
    stride = bulk_stride(count)
    pool = bulk_pool(count)
    pool_end = pool[-1] if pool else 0
    busy = busy_issue(count)
    for issue_id in range(1, count + 1):
        created = start + timedelta(seconds=(issue_id - 1 + rng.random()) * step)
        age = (end - created).total_seconds()
        status = rng.choices(status_names, cum_weights=status_weights)[0]
        if issue_id % stride == 0 and issue_id <= pool_end:
            status = "open"  # the bulk pool: every bulk scenario starts from a valid transition
        priority = rng.choices(priority_names, cum_weights=priority_weights)[0]
        assignee = (
            r"\N" if rng.random() < UNASSIGNED_SHARE else str(rng.choices(editors, cum_weights=assignee_weights)[0])
        )
        reporter = rng.choice(editors)
        if status in ("resolved", "closed"):
            resolved = created + timedelta(seconds=age * rng.random() ** 3)
            updated = resolved + timedelta(seconds=(end - resolved).total_seconds() * rng.random() ** 4)
            if recent_rng.random() < RECENT_SHARE:  # resolved lately: somewhere in the last RECENT_DAYS days
                since = max(created, recent_start)
                resolved = since + (end - since) * recent_rng.random()
                updated = resolved + (end - resolved) * recent_rng.random() ** 4
            resolved_at = _copy_time(resolved)
        else:
            updated = created + timedelta(seconds=age * rng.random() ** 2)
            resolved_at = r"\N"
        title_words = rng.choices(COMMON_WORDS, cum_weights=word_weights, k=rng.randint(3, 9))
        sentences = [
            rng.choices(COMMON_WORDS, cum_weights=word_weights, k=rng.randint(4, 12)) for _ in range(rng.randint(1, 4))
        ]
        if rng.random() < RARE_SHARE:
            rare = rng.choices(RARE_WORDS, cum_weights=rare_weights)[0]
            (title_words if rng.random() < 0.3 else rng.choice(sentences)).insert(rng.randint(0, 3), rare)
        title = " ".join(title_words).capitalize()
        # Sentences are separated by newlines, written as \n in COPY's text format.
        description = r"\n".join(" ".join(words).capitalize() + "." for words in sentences)
        labels = [label_id for label_id, share in label_shares if rng.random() < share]
        created_at = _copy_time(created)
        version = 1
        events = f"{issue_id}\t{issue_id}\t{reporter}\tcreated\t{{}}\t1\t{created_at}\t\\N\t\\N\n"
        comments = ""
        if issue_id == busy:
            state = _BusyState(priority=priority, assignee=None if assignee == r"\N" else int(assignee), labels=labels)
            more_events, comments, updated = _busy_timeline(
                rng, state, first_event_id=count + 1, issue_id=busy, created=created, end=end
            )
            events += more_events
            status, priority, labels, version, resolved_at = (
                state.status,
                state.priority,
                state.labels,
                state.version,
                r"\N",
            )
            assignee = r"\N" if state.assignee is None else str(state.assignee)
        yield IssueRows(
            issue=f"{issue_id}\t{title}\t{description}\t{status}\t{priority}\t{assignee}\t{reporter}\t{version}\t"
            f"{created_at}\t{_copy_time(updated)}\t{resolved_at}\n",
            events=events,
            labels="".join(f"{issue_id}\t{label_id}\n" for label_id in labels),
            comments=comments,
        )


def _comment_body(rng: random.Random, count: int) -> str:
    """A Markdown comment: a paragraph, sometimes a list, a code block, a link or an issue reference."""
    words = rng.choices(COMMON_WORDS, k=rng.randint(12, 60))
    parts = [" ".join(words).capitalize() + "."]
    kind = rng.random()
    if kind < 0.25:
        parts.append("\n".join(f"- {' '.join(rng.choices(COMMON_WORDS, k=rng.randint(2, 6)))}" for _ in range(3)))
    elif kind < 0.4:
        parts.append("```\nTraceback (most recent call last):\n  File \"app.py\", line 42\nValueError: bad value\n```")
    elif kind < 0.55:
        parts.append(
            f"Looks like a duplicate of #{rng.randint(1, count)};"
            f" see [the log](https://example.com/log/{rng.randint(1, 999)})."
        )
    elif kind < 0.65:
        parts.append("**Works for me** on *staging*, but not `production`.")
    return "\n\n".join(parts)


def _busy_timeline(
    rng: random.Random, state: _BusyState, first_event_id: int, issue_id: int, created: datetime, end: datetime = END
) -> tuple[str, str, datetime]:
    """The busy issue's comments and changes interleaved after `created`: (events lines, comments lines, last time).

    Changes cycle through priority, assignee, status (open <-> in_progress) and labels (one added or removed),
    each bumping the version as the app does; comments carry the version they were posted at.
    """
    editors = editor_ids()
    names = {label_id: name for name, label_id in label_ids().items()}
    kinds = ["comment"] * BUSY_COMMENTS + ["change"] * BUSY_CHANGES
    rng.shuffle(kinds)
    gap = (end - timedelta(days=1) - created) / (len(kinds) + 1)
    events, comments = [], []
    moment = created
    for index, kind in enumerate(kinds):
        moment = created + gap * (index + 1)
        event_id = first_event_id + index
        actor = rng.choice(editors)
        at = _copy_time(moment)
        if kind == "comment":
            comment_id = len(comments) + 1
            body = _comment_body(rng, issue_id * 2)
            comments.append(
                f"{comment_id}\t{issue_id}\t{actor}\t{copy_text(body)}\t{at}\t\\N\t\\N\t\\N\n"
            )
            events.append(f"{event_id}\t{issue_id}\t{actor}\tcomment\t{{}}\t{state.version}\t{at}\t{comment_id}\t\\N\n")
            continue
        changes: dict = {}
        which = rng.randrange(4)
        if which == 0:
            new = rng.choice([p for p in PRIORITIES if p != state.priority])
            changes["priority"], state.priority = [state.priority, new], new
        elif which == 1:
            new = rng.choice([e for e in editors if e != state.assignee])
            changes["assignee_id"], state.assignee = [state.assignee, new], new
        elif which == 2:
            new = "in_progress" if state.status == "open" else "open"
            changes["status"], state.status = [state.status, new], new
        else:
            label_id = rng.randint(1, len(LABELS))
            old = sorted(state.labels)
            state.labels = sorted(set(old) ^ {label_id})
            changes["labels"] = [old, state.labels]
            changes["label_names"] = {str(label_id): names[label_id]}
        state.version += 1
        events.append(
            f"{event_id}\t{issue_id}\t{actor}\tupdated\t{copy_text(json.dumps(changes))}\t{state.version}\t{at}\t\\N\t\\N\n"
        )
    return "".join(events), "".join(comments), moment
