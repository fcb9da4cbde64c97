"""Whole numbers typed by people: ASCII digits only, and small enough for an INTEGER column."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of a 32-bit INTEGER column (ids, versions) on PostgreSQL


def whole_number(raw: Any, maximum: int = MAX_ID) -> int | None:
    """`raw` as a whole number from 0 to `maximum`, or None when it is not one (e.g. '²', '-1', '1e3', 2**40)."""
    text = str(raw).strip() if raw is not None else ""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None


def range_pattern(low: int, high: int) -> str:
    """A regular expression matching exactly the decimal numbers from `low` to `high` (0 <= low <= high), written
    without leading zeros: range_pattern(1, 31) is '[1-9]|[1-2][0-9]|3[0-1]'."""
    pieces: list[str] = []
    for length in range(len(str(low)), len(str(high)) + 1):
        first = max(low, 10 ** (length - 1) if length > 1 else 0)
        last = min(high, 10**length - 1)
        pieces += _same_length(str(first), str(last))
    return "|".join(pieces)


def _same_length(low: str, high: str) -> list[str]:
    """Alternatives matching the numbers from `low` to `high`, two digit strings of the same length (low <= high)."""
    if len(low) == 1:
        return [low if low == high else f"[{low}-{high}]"]
    rest = len(low) - 1
    if low[0] == high[0]:
        return [low[0] + _group(_same_length(low[1:], high[1:]))]
    pieces: list[str] = []
    first, last = int(low[0]), int(high[0])
    if low[1:] != "0" * rest:  # from low to low's first digit followed by nines
        pieces.append(low[0] + _group(_same_length(low[1:], "9" * rest)))
        first += 1
    tail = []
    if high[1:] != "9" * rest:  # from high's first digit followed by zeros to high
        tail.append(high[0] + _group(_same_length("0" * rest, high[1:])))
        last -= 1
    if first <= last:
        digit = str(first) if first == last else f"[{first}-{last}]"
        pieces.append(digit + "[0-9]" + (f"{{{rest}}}" if rest > 1 else ""))
    return pieces + tail


def _group(pieces: list[str]) -> str:
    """Alternatives as one non-capturing group (one alone as it is)."""
    return pieces[0] if len(pieces) == 1 else "(?:" + "|".join(pieces) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs, capped at MAX_ID: a longer number is simply no such page (404), never a database error.
    ASCII digits only: Werkzeug's \\d would also take '１' (full-width) as 1.

    The bounds are part of the pattern, not only checked once the value is read: Werkzeug picks the rule for the
    request's method before it converts the value, and a value refused then answers 405, naming the methods of the
    path's other rules (DELETE /api/issues/99999999999: "Allow: GET, PATCH"). A number outside the bounds matches
    no rule at all, so every method answers 404."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - Werkzeug's parameter name
        """Werkzeug's integer converter with `max` defaulting to MAX_ID, its pattern limited to min..max (leading
        zeros allowed, as Werkzeug allows them: /issues/007 is issue 7)."""
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
        if not self.signed and not self.fixed_digits:
            self.regex = "0*(?:" + range_pattern(max(self.min or 0, 0), self.max) + ")"
