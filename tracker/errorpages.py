"""The HTML error page (for htmx also a message event, so the page can show the message in its banner). It reads
nothing from the database, not even who is signed in: it must render while the database is down."""

from __future__ import annotations

from flask import render_template

from .htmx import error_trigger, is_htmx

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed meanwhile",
    413: "Too large",
    422: "Cannot be processed",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Briefly unavailable",
}


def html_error(status: int, message: str, headers: dict[str, str] | None = None):
    """The error page with its status; `headers` are the HTTP error's own (a 405's Allow)."""
    body = render_template("errors.html", status=status, title=TITLES.get(status, "Error"), message=message)
    headers = dict(headers or {})
    if is_htmx():
        headers["HX-Trigger"] = error_trigger(message, status)
    return body, status, headers
