"""The filter form and the query box are two views of one query.

The form's fields (status, priority, assignee, labels, sort) show what the query says (`state`); a field the
person changed is written into the query's text (`merge`), replacing the qualifiers it stands for, so the text
stays the one truth. The form carries the query it was shown for (`was`): a field whose value differs from that
query's state was changed, and wins; otherwise the text typed in the box wins. Without `was` (older URLs like
?status=open&assignee=3, and links from reports), every field given is written into the query.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..models import PRIORITIES, STATUSES
from ..numbers import whole_number
from ..search.query import IS_VALUES, MAX_LENGTH, BadTerm, Query, Term, parse, parse_token, print_term, tokens
from .search import priorities

FIELDS = ("status", "priority", "assignee", "label", "sort")
DEFAULT_SORT = "-updated"
# The qualifiers each field stands for: a changed field replaces the positive ones of these in the text.
REPLACES = {
    "status": {"is", "status"},
    "priority": {"priority"},
    "assignee": {"assignee", "no:assignee"},
    "label": {"label", "no:label"},
    "sort": {"sort"},
}
SORT_KEYS = ("updated", "created", "priority", "id", "title")
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(9998, 12, 31)
DATE_PARAMS = (("created_from", "created_to", "created"), ("resolved_from", "resolved_to", "resolved"))


def state(query: Query, ids_by_handle: dict[str, int], me_id: int | None = None) -> dict[str, Any]:
    """The filter form's fields for this query: what each shows (empty where the query says nothing the field can
    show, e.g. two status qualifiers, or a negated one)."""
    positive = [t for t in query.terms if not t.negated]
    statuses = [t for t in positive if t.key == "status" or (t.key == "is" and "duplicate" not in t.values)]
    prios = [t for t in positive if t.key == "priority"]
    people = [t for t in positive if t.key == "assignee" or (t.key == "no" and "assignee" in t.values)]
    labels = [t for t in positive if t.key == "label"]
    result: dict[str, Any] = {"status": (), "priority": (), "assignee": "", "label": ()}
    result["sort"] = query.sort or DEFAULT_SORT
    if len(statuses) == 1:
        term = statuses[0]
        chosen = {s for v in term.values for s in (IS_VALUES[v] if term.key == "is" else (v,))}
        result["status"] = tuple(s for s in STATUSES if s in chosen)
    if len(prios) == 1:
        chosen = set(priorities(prios[0]))
        result["priority"] = tuple(p for p in PRIORITIES if p in chosen)
    if len(people) == 1 and len(people[0].values) == 1:
        value = people[0].values[0]
        if people[0].key == "no":
            result["assignee"] = "none"
        elif value == "@me":
            result["assignee"] = "@me"
        elif value in ids_by_handle:
            result["assignee"] = str(ids_by_handle[value])
    if labels and all(len(t.values) == 1 for t in labels):
        result["label"] = tuple(sorted({t.values[0].lower() for t in labels}))
    return result


def _field_values(args: Any, name: str) -> list[str]:
    return [v.strip() for v in args.getlist(name) if v.strip()]


def submitted(args: Any, handles: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's fields as sent (only those present), each checked; bad values are reported by field, as before
    the query language (older URLs give the same messages)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if args.getlist("status"):
        given = _field_values(args, "status")
        bad = [s for s in given if s not in STATUSES]
        if bad:
            errors["status"] = f"Unknown status '{bad[0]}'; use one of {', '.join(STATUSES)}."
        values["status"] = tuple(s for s in STATUSES if s in given)
    if args.getlist("priority"):
        given = _field_values(args, "priority")
        bad = [p for p in given if p not in PRIORITIES]
        if bad:
            errors["priority"] = f"Unknown priority '{bad[0]}'; use one of {', '.join(PRIORITIES)}."
        values["priority"] = tuple(p for p in PRIORITIES if p in given)
    if args.getlist("assignee"):
        assignee = (_field_values(args, "assignee") or [""])[0].lower()
        if assignee not in ("", "none", "@me"):
            if whole_number(assignee) is None:
                errors["assignee"] = f"Assignee must be a user id or 'none', not '{assignee}'."
            elif assignee not in handles:
                errors["assignee"] = f"No one has the user id {assignee}."
        values["assignee"] = assignee
    if args.getlist("label") or "was" in args:
        names: list[str] = []
        for raw in args.getlist("label"):
            name = " ".join(raw.split())
            if name and name.lower() not in names:
                names.append(name.lower())
        values["label"] = tuple(sorted(names[:10]))
    if args.getlist("sort"):
        sort = (_field_values(args, "sort") or [DEFAULT_SORT])[0]
        if sort.removeprefix("-") not in SORT_KEYS:
            errors["sort"] = f"Unknown sort '{sort}'; use one of {', '.join(SORT_KEYS)} (with - for descending)."
            sort = DEFAULT_SORT
        values["sort"] = sort
    return values, errors


def fragment(name: str, value: Any, handles: dict[str, str], labels_by_key: dict[str, str]) -> list[Term]:
    """The qualifiers a field's value writes into the query (none for 'any')."""
    if not value:
        return []
    if name == "status":
        if set(value) == set(IS_VALUES["open"]):
            return [Term("is", ("open",))]
        if set(value) == set(IS_VALUES["closed"]):
            return [Term("is", ("closed",))]
        return [Term("status", tuple(value))]
    if name == "priority":
        return [Term("priority", tuple(value))]
    if name == "assignee":
        if value == "none":
            return [Term("no", ("assignee",))]
        if value == "@me":
            return [Term("assignee", ("@me",))]
        return [Term("assignee", (handles[value],))] if value in handles else []
    if name == "label":
        return [Term("label", (labels_by_key.get(v, v),)) for v in value]
    if value == DEFAULT_SORT:
        return []
    return [Term("sort", (f"{value.removeprefix('-')}-{'desc' if value.startswith('-') else 'asc'}",))]


def replaced(text: str, keys: set[str], terms: list[Term]) -> str:
    """The text with its positive qualifiers of these keys taken out (every other part kept exactly as typed,
    mistakes included) and these terms added at the end."""
    kept = []
    for token, _start, _end in tokens(text):
        try:
            term = parse_token(token)
        except BadTerm:  # a mistake is kept as typed, for the box to mark
            term = None
        key = None if term is None else (f"no:{term.values[0]}" if term.key == "no" else term.key)
        if term is not None and not term.negated and key in keys:
            continue
        kept.append(token)
    return " ".join(kept + [print_term(t) for t in terms])


def merge(args: Any, handles: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The query text of a request: the box's text (`q`) with the form's changed fields (or an older URL's
    parameters) written in. `handles`: user id (as text) -> handle."""
    text = " ".join((args.getlist("q") or [""])[0].split())[:MAX_LENGTH]
    values, errors = submitted(args, handles)
    ids_by_handle = unique_handles(handles)
    labels_by_key = {" ".join(raw.split()).lower(): " ".join(raw.split()) for raw in args.getlist("label")}
    if "was" in args:
        before = state(parse((args.getlist("was") or [""])[0]), ids_by_handle)
    else:
        before = {}
    for name in FIELDS:
        if name in errors or name not in values:
            continue
        terms = fragment(name, values[name], handles, labels_by_key)
        if before and values[name] != before[name]:
            text = replaced(text, REPLACES[name], terms)
        elif not before and terms:  # an older URL's (or a report link's) parameter narrows the query further
            text = " ".join([text, *(print_term(t) for t in terms)]).strip()
    text, date_errors = dates(args, text)
    errors.update(date_errors)
    hide = (args.getlist("duplicates") or [""])[0].strip()
    if hide == "hide" and "-is:duplicate" not in text.split():  # an older URL's "Hide duplicates"
        text = f"{text} -is:duplicate".strip()
    elif hide:
        errors["duplicates"] = f"duplicates can only be 'hide' (the same as -is:duplicate), not '{hide[:40]}'."
    return text, errors


def unique_handles(handles: dict[str, str]) -> dict[str, int]:
    """handle -> user id, for the handles that name one person only."""
    counts: dict[str, list[int]] = {}
    for user_id, handle in handles.items():
        counts.setdefault(handle, []).append(int(user_id))
    return {handle: ids[0] for handle, ids in counts.items() if len(ids) == 1}


def dates(args: Any, text: str) -> tuple[str, dict[str, str]]:
    """Older date-range parameters (created_from=...&created_to=..., from the reports' links) as a date qualifier."""
    errors: dict[str, str] = {}
    for start, end, key in DATE_PARAMS:
        bounds = []
        for name in (start, end):
            raw = (args.getlist(name) or [""])[0].strip()
            value = day(raw) if raw else None
            if raw and value is None:
                errors[name] = (
                    f"{name} must be a date like 2026-01-31 (from {FIRST_DATE} to {LAST_DATE}), not '{raw[:40]}'."
                )
            bounds.append(value)
        first, last = bounds
        if first and last and first > last:
            errors[start] = f"{start} ({first}) is after {end} ({last}); nothing can match."
            continue
        if first and last:
            term = Term(key, (first.isoformat(), last.isoformat()), op="..")
        elif first or last:
            term = Term(key, ((first or last).isoformat(),), op=">=" if first else "<=")  # type: ignore[union-attr]
        else:
            continue
        text = f"{text} {print_term(term)}".strip()
    return text, errors


def day(raw: str) -> date | None:
    """An ISO date (YYYY-MM-DD) within the range the filters accept, or None."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    if len(raw.strip()) != 10 or not FIRST_DATE <= value <= LAST_DATE:
        return None
    return value

