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


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs, capped at MAX_ID: a longer number is simply no such page (404), never a database error.
    ASCII digits only: Werkzeug's \\d would also take '１' (full-width) as 1."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - Werkzeug's parameter name
        """Werkzeug's integer converter with `max` defaulting to MAX_ID."""
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
