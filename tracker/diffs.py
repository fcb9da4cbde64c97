"""A word diff of two texts, for the timeline's description changes."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from markupsafe import Markup, escape

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """The change from `old` to `new` as (kind, text) pieces in reading order, kind being same, removed or
    added; words and the spaces between them are the units, so a changed word shows whole."""
    before, after = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    pieces: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(before[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(after[j1:j2])))
    return pieces


def word_diff_html(old: str | None, new: str | None) -> Markup:
    """The word diff as HTML: removed words in <del>, added ones in <ins>, the rest as it was (escaped)."""
    tags = {"removed": "del", "added": "ins"}
    out = []
    for kind, piece in word_diff(old, new):
        if kind == "same":
            out.append(escape(piece))
        else:
            out.append(Markup("<{0}>{1}</{0}>").format(Markup(tags[kind]), piece))
    return Markup("").join(out)
