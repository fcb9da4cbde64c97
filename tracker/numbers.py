"""Whole numbers typed by people: ASCII digits only, and small enough for an INTEGER column."""

from __future__ import annotations

from typing import Any

MAX_ID = 2**31 - 1  # the largest value of a 32-bit INTEGER column (ids, versions) on PostgreSQL


def whole_number(raw: Any, maximum: int = MAX_ID) -> int | None:
    """`raw` as a whole number from 0 to `maximum`, or None when it is not one (e.g. '²', '-1', '1e3', 2**40)."""
    text = str(raw).strip() if raw is not None else ""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None
