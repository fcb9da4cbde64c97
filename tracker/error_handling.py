"""Errors become responses here: this module decides HTML or JSON and owns what both renderers need.

The HTML renderer (`errorpages`) and the JSON renderer (`json_errors`) depend on nothing of each other; this module
picks one per request and installs the application's error handlers.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .errorpages import TITLES, html_error
from .errors import OUTAGE_RETRY_AFTER, DomainError
from .extensions import db
from .json_errors import http_json_error
from .outage import OUTAGES, discard, is_outage
from .transfers import drain_request_body

UNAVAILABLE = (
    "Tracker is briefly unavailable: it cannot reach its database right now. Nothing you sent was saved. "
    "Please try again in a minute."
)

API_PREFIX = "/api/"


def is_api_request() -> bool:
    """Whether the request is for the JSON API (so errors are JSON and the session plays no part)."""
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


def sent_by_script() -> bool:
    """Whether the request carries an API token (a script), not a browser's session."""
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def own_headers(exc: HTTPException) -> dict[str, str]:
    """The headers an HTTP error carries besides its body's type: a 405's Allow, a 401's WWW-Authenticate."""
    return {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}


def error_response(status: int, message: str, headers: dict[str, str] | None = None):
    """An error as JSON under /api (also for 404/405/413 outside any API view), else as the error page.
    `headers` are the HTTP error's own (a 405's Allow)."""
    if is_api_request():
        return http_json_error(status, message, headers)
    return html_error(status, message, headers)


def scripts_go_to_the_api():
    """The answer to a script that brought its token to a page instead of the API."""
    return error_response(
        400,
        "Pages take a signed-in browser's forms. Scripts send their token to the JSON API under /api "
        "(CSV files: POST /api/issues/import; see /api/docs).",
    )


def unavailable():
    """The answer while the database is unreachable: 503 with Retry-After, the page or JSON touching no database."""
    discard(db.session)
    return error_response(503, UNAVAILABLE, {"Retry-After": str(OUTAGE_RETRY_AFTER)})


def register(app: Flask) -> None:
    """Install the application's error handlers (the API blueprint adds its own for its views)."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        """A rule said no: its own status and message (and Retry-After when it says when to try again)."""
        discard(db.session)
        return error_response(exc.status, exc.message, exc.headers())

    def database_unavailable(exc: Exception):
        """The database is down, unreachable or dropped the connection: a calm 503, never a bare 500."""
        first_line = (str(exc).splitlines() or [""])[0][:300]
        app.logger.warning("Database unavailable (%s): %s", type(exc).__name__, first_line)
        return unavailable()

    for outage in OUTAGES:
        app.register_error_handler(outage, database_unavailable)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        """A state change without a valid CSRF token (a script with a token has come to a page, not the API)."""
        if sent_by_script():
            return scripts_go_to_the_api()
        return error_response(
            400, "The form has expired or is missing its security token. Reload the page and try again."
        )

    @app.errorhandler(413)
    def too_large(exc):
        """An upload over the limit of its route (file uploads have their own): read away, then said."""
        drain_request_body()
        limit = (request.max_content_length or app.config["MAX_CONTENT_LENGTH"]) // (1024 * 1024)
        return error_response(413, f"The request is larger than the {limit} MB limit.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """Any other HTTP error, with its own description (a 500 caused by an outage, while handling another
        error, is the outage's 503)."""
        if is_outage(getattr(exc, "original_exception", None)):
            return unavailable()
        return error_response(
            exc.code or 500, exc.description or TITLES.get(exc.code or 500, "Error"), own_headers(exc)
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        """A bug: roll back, log, and show a plain page instead of a traceback (an error raised while the
        database went away is the outage's 503)."""
        if is_outage(exc):
            return unavailable()
        discard(db.session)
        app.logger.exception("Unhandled error")
        return error_response(500, "Something went wrong on our side; nothing was saved. Please try again.")
