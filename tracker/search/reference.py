"""The search language's reference, as the in-app help page shows it (GET /issues/search-help).

Every qualifier of query.QUALIFIERS has a row (a test checks it), and every example is a query that parses without
errors, so each can be a link that lists what it says. Examples that name a label use the tracker's own labels:
a label that does not exist would be explained as an error instead of listing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .query import PRIORITIES, SORT_KEYS, STATUSES, Term, print_term


@dataclass(frozen=True)
class HelpRow:
    """One row of the reference: how the part is written, what it lists, and examples to try."""

    syntax: tuple[str, ...]
    meaning: str
    examples: tuple[str, ...]


def rows(label_names: list[str]) -> list[HelpRow]:
    """The reference's rows; label examples use up to two of `label_names` (the tracker's labels), or none."""
    names = label_names[:2]
    singles = [print_term(Term("label", (name,))) for name in names]  # quoted as the query language quotes them
    label_examples = tuple(singles[:1])
    if len(names) == 2:
        label_examples += (print_term(Term("label", tuple(names))), " ".join(singles))
    return [
        HelpRow(("is:open", "is:closed"), "Open or in progress; resolved or closed.", ("is:open", "is:closed")),
        HelpRow(
            ("is:duplicate",), "Closed as a duplicate of another issue.", ("is:duplicate", "is:closed -is:duplicate")
        ),
        HelpRow(
            ("status:<status>[,<status>…]",),
            f"Any of these statuses: {', '.join(STATUSES)}.",
            ("status:in_progress", "status:open,in_progress"),
        ),
        HelpRow(
            ("priority:<priority>[,<priority>…]", "priority:>=<priority>"),
            f"Any of these priorities, or a comparison (>=, >, <=, <), in the order {' < '.join(PRIORITIES)}.",
            ("priority:critical", "priority:>=high"),
        ),
        HelpRow(("assignee:<who>",), "Assigned to them: @me (you) or a person's handle.", ("assignee:@me",)),
        HelpRow(("reporter:<who>",), "Reported by them.", ("reporter:@me",)),
        HelpRow(("involves:<who>",), "Reported by them, assigned to them, commented on or mentioning them.",
                ("involves:@me",)),
        HelpRow(("no:assignee", "no:label"), "Unassigned; without any label.", ("is:open no:assignee", "no:label")),
        HelpRow(
            ("label:<name>[,<name>…]",),
            "Carrying any of these labels; two label: parts, both. Quote a name with spaces or commas: "
            r'label:"needs triage"; inside quotes, \" is a quote and \\ a backslash: label:"say \"hi\"".',
            label_examples,
        ),
        HelpRow(
            ("created:<when>", "updated:<when>", "resolved:<when>"),
            "A day, a month or a range (UTC); >=, >, <=, < compare; a time ago in hours, days, weeks or months "
            "(30 days): updated:<7d is less than 7 days ago, >7d more.",
            ("updated:<7d", "created:>=2026-01-01", "resolved:2026-11", "created:2026-01-01..2026-03-31"),
        ),
        HelpRow(('word', '"a phrase"'), "Every word in the title or description, each as the start of a word (cras "
                "finds Crash); a phrase: its words in that order; a version, host, address or path as typed (v1.2 "
                "finds v1.2.3, example.com finds example.com).", ('crash', '"on save"')),
        HelpRow(("#123", "123"), "That issue, or an imported issue whose key in the other tracker is 123.", ("#1",)),
        HelpRow(
            ("sort:<key>-<asc|desc>",),
            f"The order, by {', '.join(SORT_KEYS)}; the default is sort:updated-desc.",
            ("sort:priority-desc", "sort:created-asc"),
        ),
        HelpRow(("-<part>",), "Everything the part does not list; any part can be negated.",
                ("-assignee:@me", "is:open -no:label")),
    ]

