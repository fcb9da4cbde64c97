"""Domain errors raised by service modules and mapped to status codes in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose; carries the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class Unauthorized(DomainError):
    """No valid credentials (an API request without a usable token)."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """The signed-in user's role does not allow this."""

    status = 403
    code = "forbidden"


class InvalidInput(DomainError):
    """Input that breaks a rule; `errors` maps each field to its message."""

    status = 422
    code = "invalid"
    DEFAULT_MESSAGE = "Please correct the marked fields."

    def __init__(self, errors: dict[str, str], message: str | None = None):
        super().__init__(message or self.DEFAULT_MESSAGE, errors)
        self.errors = errors


class StaleVersion(DomainError):
    """The issue changed since the version the caller started from."""

    status = 409
    code = "version_conflict"

    def __init__(self, issue_id: int, expected: int, current: int | None = None):
        super().__init__(f"Issue #{issue_id} changed since version {expected}.")
        self.issue_id = issue_id
        self.expected = expected
        self.current = current


class Throttled(DomainError):
    """Too many failed attempts; try again later."""

    status = 429
    code = "throttled"
