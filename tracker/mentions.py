"""@handles in Markdown: the pattern the renderer (tracker/markdown.py) marks mentions by."""

from __future__ import annotations

import re

# `@ada` not inside a word or an address (`ada@example.com`, `/@x`): the handle is what follows, lowercased.
MENTION = re.compile(r"(?<![\w@/.+-])@([A-Za-z0-9_-]{1,30})(?![\w@-])")
