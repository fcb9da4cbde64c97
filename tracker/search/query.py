r"""The search language of the issue list: parse a query (`is:open label:bug assignee:@me "crash on save"`) into
terms, and print terms back as the canonical query text.

Plain Python, no database: tracker/issues/search.py turns a parsed query into SQL. A mistake never stops the rest
of the query: the term is left out and reported (with where it sits in the text, so the box can mark it).

Double quotes group words and values (`label:"needs triage"`); inside them `\"` is a quote and `\\` a backslash, so
any label name can be written (`label:"say \"hi\""`), and the printed text escapes them the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

STATUSES = ("open", "in_progress", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "critical")
IS_VALUES = {"open": ("open", "in_progress"), "closed": ("resolved", "closed")}
IS_CHOICES = (*IS_VALUES, "duplicate")  # is:duplicate: closed as a duplicate of another issue
NO_VALUES = ("assignee", "label")
SORT_KEYS = ("updated", "created", "priority", "id", "title")
DATE_KEYS = ("created", "updated", "resolved")
PEOPLE_KEYS = ("assignee", "reporter", "involves")
QUALIFIERS = ("is", "status", "priority", "assignee", "reporter", "involves", "label", "no", "sort", *DATE_KEYS)
COMPARISONS = (">=", "<=", ">", "<")  # longest first: ">=" must not be read as ">" and "=..."
FIRST_YEAR, LAST_YEAR = 1970, 9998
MAX_TERMS = 30
MAX_LENGTH = 500
_QUALIFIER = re.compile(r"^([A-Za-z_]+):(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^#?([0-9]{1,9})$")
_HANDLE = re.compile(r"^@?[\w.+-]+$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")
_RELATIVE = re.compile(r"^([0-9]{1,4})([hdwm])$")
_WORD = re.compile(r"[^\W_]")  # a letter or digit


@dataclass(frozen=True)
class Term:
    """One part of a query: a qualifier (`key` one of QUALIFIERS) with its values, a search word or phrase (`key`
    "text", one value; `phrase` when it was quoted) or an issue number (`key` "id").

    `op` is a comparison (">=", "<"...) of a priority or a date, or ".." for a date range (two values)."""

    key: str
    values: tuple[str, ...]
    negated: bool = False
    op: str = ""
    phrase: bool = False


@dataclass(frozen=True)
class QueryError:
    """A part of the query that could not be used: the message, and where the part sits in the text."""

    message: str
    start: int
    end: int


@dataclass(frozen=True)
class Query:
    """A parsed query: its terms in order (equal queries have equal terms) and the errors met on the way."""

    terms: tuple[Term, ...] = ()
    errors: tuple[QueryError, ...] = field(default=(), compare=False)

    @property
    def sort(self) -> str | None:
        """The list order the query asks for, in the list's spelling ("-updated", "title"), or None."""
        sorts = [t for t in self.terms if t.key == "sort"]
        if not sorts:
            return None
        key, _, direction = sorts[-1].values[0].partition("-")
        return ("-" if direction == "desc" else "") + key


class BadTerm(Exception):
    """A term's value that cannot be used (the message says why)."""


def _characters(text: str) -> Iterator[tuple[int, str, bool | None]]:
    r"""The text as the language reads it, one character at a time: (position, character, quoted), where quoted is
    None for a double quote that opens or closes a quoted part, else whether the character is inside one. Inside
    quotes \" stands for a quote and \\ for a backslash (one character, at the backslash's position); any other
    backslash is itself. A quote left open runs to the end."""
    quoted = False
    escape_at = -1
    for i, ch in enumerate(text):
        if i == escape_at:
            continue
        if ch == '"':
            quoted = not quoted
            yield i, ch, None
        elif quoted and ch == "\\" and text[i + 1:i + 2] in ('"', "\\"):
            escape_at = i + 1
            yield i, text[i + 1], True
        else:
            yield i, ch, quoted


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Split the text at white space outside double quotes: (token, start, end). A quote left open runs to the end."""
    found: list[tuple[str, int, int]] = []
    start: int | None = None
    for i, ch, quoted in _characters(text):
        if quoted is False and ch.isspace():
            if start is not None:
                found.append((text[start:i], start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        found.append((text[start:], start, len(text)))
    return found


def parse(text: str) -> Query:
    """Parse the query text; unusable parts are reported in `errors` and left out, the rest is kept."""
    terms: list[Term] = []
    errors: list[QueryError] = []
    if len(text) > MAX_LENGTH:
        errors.append(QueryError(f"The query is longer than {MAX_LENGTH} characters; the rest is left out.", 0, 0))
        text = text[:MAX_LENGTH]
    for token, start, end in tokens(text):
        if len(terms) == MAX_TERMS:
            errors.append(QueryError(f"A query has at most {MAX_TERMS} parts; '{token}' and after are left out.",
                                     start, len(text)))
            break
        try:
            term = parse_token(token)
        except BadTerm as exc:
            errors.append(QueryError(str(exc), start, end))
            continue
        if term is not None:
            terms.append(term)
    return Query(tuple(terms), tuple(errors))


def parse_token(token: str) -> Term | None:
    """One token as a term (None for nothing at all, like a lone quote pair); BadTerm when it cannot be used."""
    negated = token.startswith("-") and len(token) > 1
    body = token[1:] if negated else token
    match = _QUALIFIER.match(body)
    if match and '"' not in match.group(1):
        key = match.group(1).lower()
        if key not in QUALIFIERS:
            raise BadTerm(unknown_qualifier(match.group(1)))
        return _qualifier(key, match.group(2), negated)
    if '"' in body:
        phrase = " ".join("".join(" " if quoted is None else ch for _i, ch, quoted in _characters(body)).split())
        if not phrase:
            raise BadTerm("Empty quotes: put the words to search for between them.")
        _searchable(phrase)
        return Term("text", (phrase,), negated, phrase=True)
    number = _NUMBER.match(body)
    if number:
        return Term("id", (str(int(number.group(1))),), negated)
    _searchable(body)
    return Term("text", (body,), negated, phrase=_quoted(body) != body)  # a comma makes it a phrase when printed


def _searchable(text: str) -> None:
    if not _WORD.search(text):
        raise BadTerm(f"Nothing to search for in '{text[:40]}': search words need letters or digits.")


def unknown_qualifier(name: str) -> str:
    """The message for a qualifier the language does not have, with the closest one it has."""
    close = difflib.get_close_matches(name.lower(), QUALIFIERS, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else f"; use one of {', '.join(QUALIFIERS)}"
    return f"Unknown qualifier '{name}'{hint}."


def split_values(raw: str) -> list[str]:
    r"""The comma-separated values of a qualifier; double quotes group (a comma inside them is part of the value, and
    \" a quote: label:"say \"hi\"")."""
    values: list[str] = []
    current: list[str] = []
    for _i, ch, quoted in _characters(raw):
        if quoted is None:
            continue
        if ch == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
    values.append("".join(current))
    return [v for v in (" ".join(v.split()) for v in values) if v]


def _qualifier(key: str, raw: str, negated: bool) -> Term:
    if key in DATE_KEYS:
        op, values = _date_values(key, raw)
        return Term(key, values, negated, op)
    op = ""
    if key == "priority":
        op = next((c for c in COMPARISONS if raw.startswith(c)), "")
        raw = raw[len(op):]
    values = split_values(raw)
    if not values:
        raise BadTerm(f"{key}: needs a value, like {EXAMPLES[key]}.")
    if key == "sort":
        if negated:
            raise BadTerm("sort: cannot be negated; use sort:updated-asc or sort:updated-desc.")
        if len(values) > 1:
            raise BadTerm("sort: takes one order, like sort:updated-desc.")
        return Term(key, (_sort(values[0]),))
    if op and len(values) > 1:
        raise BadTerm(f"priority:{op} takes one priority, like priority:>=high.")
    checker = {
        "is": lambda v: _choice(key, v.lower(), IS_CHOICES),
        "status": lambda v: _choice(key, v.lower(), STATUSES),
        "priority": lambda v: _choice(key, v.lower(), PRIORITIES),
        "no": lambda v: _choice(key, v.lower(), NO_VALUES),
        "label": lambda v: v,
    }.get(key, _person)
    return Term(key, tuple(_unique(checker(v) for v in values)), negated, op)


def _unique(values) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value in allowed:
        return value
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    raise BadTerm(f"Unknown {key} '{value}' ({hint}use one of {', '.join(allowed)}).")


def _person(value: str) -> str:
    value = value.lower()
    if value in ("@me", "me"):
        return "@me"
    if not _HANDLE.match(value):
        raise BadTerm(f"'{value}' is not a person: use @me or a handle like grace.")
    return value.removeprefix("@")


def _sort(value: str) -> str:
    value = value.lower()
    key, _, direction = value.partition("-")
    direction = direction or "desc"
    if key not in SORT_KEYS or direction not in ("asc", "desc"):
        close = difflib.get_close_matches(key, SORT_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}-{direction}? " if close and direction in ("asc", "desc") else ""
        raise BadTerm(f"Unknown sort '{value}' ({hint}use one of {', '.join(SORT_KEYS)}, then -asc or -desc).")
    return f"{key}-{direction}"


def _date_values(key: str, raw: str) -> tuple[str, tuple[str, ...]]:
    raw = raw.replace('"', "").strip().lower()
    if ".." in raw:
        first, _, last = raw.partition("..")
        values = (_date(key, first), _date(key, last))
        if _RELATIVE.match(values[0]) or _RELATIVE.match(values[1]):
            raise BadTerm(f"{key}: a range is between two dates, like {key}:2026-01-01..2026-03-31.")
        if period(values[0])[0] > period(values[1])[0]:
            raise BadTerm(f"{key}:{raw} starts after it ends; nothing can match.")
        return "..", values
    op = next((c for c in COMPARISONS if raw.startswith(c)), "")
    return op, (_date(key, raw[len(op):]),)


def _date(key: str, value: str) -> str:
    if _RELATIVE.match(value):
        number, unit = _RELATIVE.match(value).groups()  # type: ignore[union-attr]
        return f"{int(number)}{unit}"
    try:
        if _DAY.match(value) and FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            return date.fromisoformat(value).isoformat()
        if _MONTH.match(value) and FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            return date.fromisoformat(value + "-01").isoformat()[:7]
    except ValueError:
        pass
    raise BadTerm(
        f"{key}: takes a date (2026-01-31), a month (2026-11), a time ago (7d, 2w, 12h, 3m) or a range "
        f"(2026-01-01..2026-03-31), not '{value[:40]}'."
    )


def period(value: str) -> tuple[date, date]:
    """A date value's first day and the day after its last (a day or a month); relative values are not periods."""
    if len(value) == 7:
        first = date.fromisoformat(value + "-01")
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, after
    first = date.fromisoformat(value)
    return first, date.fromordinal(first.toordinal() + 1)


EXAMPLES = {
    "is": "is:open",
    "status": "status:open,in_progress",
    "priority": "priority:high or priority:>=high",
    "assignee": "assignee:@me",
    "reporter": "reporter:grace",
    "involves": "involves:@me",
    "label": 'label:bug or label:"needs triage"',
    "no": "no:assignee",
    "sort": "sort:updated-desc",
}


def quote(value: str) -> str:
    r"""A value in double quotes, its quotes and backslashes escaped (\" and \\), as `_characters` reads them."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted(value: str) -> str:
    """A value as typed: in double quotes when it holds white space, a comma or could be read as something else."""
    if not value or any(ch.isspace() or ch in ',"' for ch in value):
        return quote(value)
    return value


def print_term(term: Term) -> str:
    """One term as text that parses back to it."""
    sign = "-" if term.negated else ""
    if term.key == "text":
        value = term.values[0]
        plain = not term.phrase and not _QUALIFIER.match(value) and not _NUMBER.match(value) and _quoted(value) == value
        return sign + (value if plain else quote(value))
    if term.key == "id":
        return f"{sign}#{term.values[0]}"
    if term.op == "..":
        return f"{sign}{term.key}:{term.values[0]}..{term.values[1]}"
    values = ",".join(_quoted(v) for v in term.values)
    return f"{sign}{term.key}:{term.op}{values}"


def to_text(query: Query) -> str:
    """The canonical text of a query: its terms printed in order, one space apart."""
    return " ".join(print_term(t) for t in query.terms)
