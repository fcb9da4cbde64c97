"""Files over HTTP, in both directions: a download's Content-Disposition (RFC 6266), and reading away the body of
an upload that is refused for its size (so the browser hears the 413 instead of a reset connection)."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import request

DRAIN_LIMIT = 1 << 30  # an over-limit upload is read and dropped up to this size


def _plain(text: str) -> str:
    """ASCII letters, digits and `-_. `, everything else as `_` (accents dropped first: 'Ä' becomes 'A')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c if c.isalnum() or c in "-_. " else "_" for c in ascii_text).strip()


def content_disposition(
    stem: str, suffix: str = "", disposition: str = "attachment", fallback: str = "download"
) -> str:
    """A Content-Disposition for a file named stem + suffix: an ASCII filename for old clients (`fallback` when the
    stem has no ASCII letter at all), and the name as written (RFC 6266 filename*, UTF-8) when it has other letters,
    so 'Ärger.csv' is not saved as '_rger.csv'."""
    stem = " ".join(stem.split())[:100]
    plain = _plain(stem)
    if not any(c.isalnum() for c in plain):
        plain = fallback
    plain_suffix = _plain(suffix)
    if plain + plain_suffix == stem + suffix:
        return f'{disposition}; filename="{plain}{plain_suffix}"'
    return f"{disposition}; filename=\"{plain}{plain_suffix}\"; filename*=UTF-8''{quote(stem + suffix, safe='')}"


def drain_request_body() -> None:
    """Read the rest of the request body and throw it away (bounded)."""
    stream = request.environ.get("wsgi.input")
    remaining = min(request.content_length or 0, DRAIN_LIMIT)
    while stream is not None and remaining > 0:
        chunk = stream.read(min(remaining, 1 << 16))
        if not chunk:
            break
        remaining -= len(chunk)
