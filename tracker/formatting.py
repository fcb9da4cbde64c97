"""Template filters and globals: times, labels, people, and what the signed-in person may do."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import Flask, g
from flask_login import current_user
from markupsafe import Markup, escape

from . import access
from .attachments.checks import human_size
from .diffs import word_diff_html
from .extensions import db
from .markdown import (
    existing_issues,
    link_mentions,
    markdown_html,
    mentioned_in,
    people_by_handle,
    referenced_issues,
    unlink_missing,
)
from .models import (
    DONE_STATUSES,
    NOTIFICATION_REASONS,
    PRIORITIES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    STATUSES,
    TRANSITIONS,
    utcnow,
)


def iso_utc(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, as browsers parse it."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """A short relative time such as '5 min ago' or '3 d ago'."""
    if value is None:
        return ""
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def time_tag(value: datetime | None, style: str = "exact") -> Markup:
    """A <time> element: exact UTC text (turned into local time by app.js) or relative, exact on hover."""
    if value is None:
        return Markup("")
    exact = value.strftime("%Y-%m-%d %H:%M UTC")
    text = relative(value) if style == "relative" else exact
    # Digits, dashes, colons and the words of relative(): nothing to escape but the style, which templates name.
    # (Built directly: a list page shows 50 of them, and Markup.format escapes each argument through a formatter.)
    return Markup(f'<time datetime="{iso_utc(value)}" title="{exact}" data-style="{escape(style)}">{text}</time>')


def option_maker(chosen: Iterable[str]):
    """The `option(value, text)` of macros/forms.html's choice_select: an <option>, selected when its value (as text)
    is among `chosen`. Python rather than a Jinja macro: the list page writes a hundred of them (each person twice,
    in the filter and the bulk bar), and a macro call costs ten times a function call."""
    chosen = set(chosen)

    def option(value, text) -> Markup:
        shown = str(value) if isinstance(value, int) else escape(value)  # a person's or label's number: no escaping
        selected = " selected" if str(value) in chosen else ""
        return Markup(f'<option value="{shown}"{selected}>{escape(text)}</option>')

    return option


def people_as_options(option, people, assignable_only: bool = False) -> Markup:
    """`option(number, name)` of every person (a deactivated one marked), or of those who may be assigned issues: one
    call for a list page's fifty people, where a loop in the template made three calls per person."""
    return Markup(
        "".join(
            option(p.id, p.name if p.active else f"{p.name} (deactivated)")
            for p in people
            if not assignable_only or access.may_be_assigned(p)
        )
    )


def labels_as_options(option, labels) -> Markup:
    """`option(number, name)` of every label, in one call (see people_as_options)."""
    return Markup("".join(option(label.id, label.name) for label in labels))


def duration(value: timedelta) -> str:
    """A length of time in the largest whole unit that fits: '8 hours', '90 minutes', '1 day'."""
    seconds = int(value.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def person(user, empty: str = "Unassigned") -> Markup:
    """A user's name (marked when deactivated), or a placeholder."""
    if user is None:
        return Markup('<span class="muted">{}</span>').format(empty)
    if not user.active:
        return Markup('{} <span class="muted">(deactivated)</span>').format(user.name)
    return escape(user.name)


def markdown(source: str | None) -> Markup:
    """A description or comment as the pages show it: the sanitized HTML, `#123` linked only where issue 123
    exists (so a reference to a missing issue reads as typed, not as a link to a 404)."""
    html = markdown_html(source)
    refs = referenced_issues(html)
    if refs:
        html = unlink_missing(html, known_issues(refs))
    handles = mentioned_in(html)
    return link_mentions(html, known_people(handles)) if handles else html


def known_people(handles: set[str]) -> dict[str, tuple[int, str]]:
    """(id, name) by handle of the people mentioned, asked once per request for each handle (a page prefetches)."""
    cache = g.setdefault("known_people", {})
    unknown = handles - cache.keys()
    if unknown:
        found = people_by_handle(db.session, unknown)
        cache.update({h: found.get(h) for h in unknown})
    return {h: cache[h] for h in handles if cache[h] is not None}


def known_issues(ids: set[int]) -> set[int]:
    """Which of these issue numbers exist, asked once per request for each number (a page prefetches them all)."""
    cache = g.setdefault("known_issues", {})
    unknown = ids - cache.keys()
    if unknown:
        found = existing_issues(db.session, unknown)
        cache.update({i: i in found for i in unknown})
    return {i for i in ids if cache[i]}


def prefetch_issue_references(sources: Iterable[str | None]) -> None:
    """Look up every issue the texts of a page refer to in one query, before the texts render one by one."""
    refs: set[int] = set()
    handles: set[str] = set()
    for source in sources:
        html = markdown_html(source)
        refs |= referenced_issues(html)
        handles |= mentioned_in(html)
    known_issues(refs)
    known_people(handles)


def register(app: Flask) -> None:
    """Install filters and globals into Jinja."""
    app.jinja_env.filters.update(
        markdown=markdown,
        time_tag=time_tag,
        relative=relative,
        iso_utc=iso_utc,
        person=person,
        duration=duration,
        filesize=human_size,
        word_diff=word_diff_html,
    )
    app.jinja_env.globals.update(
        STATUSES=STATUSES,
        DONE_STATUSES=DONE_STATUSES,
        PRIORITIES=PRIORITIES,
        STATUS_LABELS=STATUS_LABELS,
        PRIORITY_LABELS=PRIORITY_LABELS,
        TRANSITIONS=TRANSITIONS,
        NOTIFICATION_REASONS=NOTIFICATION_REASONS,
        option_maker=option_maker,
        people_as_options=people_as_options,
        labels_as_options=labels_as_options,
    )

    @app.context_processor
    def person_and_permissions():
        """`current_user` and `may`: the permission rules' answers for the signed-in person (tracker/access.py),
        so templates ask `may.edit_issues` or `may.delete_comment(comment)` instead of re-deriving a rule. Both
        are lazy: a template that never asks (an error page) never loads the person from the database."""
        return {"current_user": current_user, "may": access.Permissions(current_user)}
