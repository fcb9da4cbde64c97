"""Domain errors raised by service modules and mapped to status codes in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose; carries the HTTP status it maps to."""

    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After (429, 503)

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        """The HTTP headers the error's response carries: Retry-After when it says when to try again."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class IssueDeleted(NotFound):
    """The issue is in the trash (or was purged from it): not found for everyone, with what became of it for those
    who may see the trash (the issue page and the API say it to them)."""

    def __init__(self, issue_id: int, deleted_at: Any, deleted_by: str, purged: bool):
        super().__init__(f"Issue #{issue_id} does not exist.")
        self.issue_id = issue_id
        self.deleted_at = deleted_at
        self.deleted_by = deleted_by
        self.purged = purged

    @property
    def trash_message(self) -> str:
        """What the trash's keepers are told: who deleted the issue and when, and whether it can still come back."""
        when = self.deleted_at.strftime("%Y-%m-%d %H:%M UTC") if self.deleted_at else "an unknown time"
        fate = "and purged from the trash" if self.purged else "and is in the trash, where it can be restored"
        return f"Issue #{self.issue_id} was deleted by {self.deleted_by} on {when} {fate}."


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


class StaleView(DomainError):
    """A saved view changed since the version the caller started from (someone else saved it meanwhile)."""

    status = 409
    code = "version_conflict"

    def __init__(self, view_id: int, name: str, expected: int, current: int):
        super().__init__(
            f"The view '{name}' was changed by someone else since you opened it (your version {expected}, now "
            f"{current}); nothing was saved. Look at it as it is now, then make your change again."
        )
        self.view_id = view_id
        self.expected = expected
        self.current = current


class Throttled(DomainError):
    """Too many attempts (failed sign-ins, running exports); try again in `retry_after` seconds."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


# Seconds a client is asked to wait when the database is briefly unreachable.
OUTAGE_RETRY_AFTER = 30


class Unavailable(DomainError):
    """The database failed or could not be reached; everything was rolled back, and trying again later may work."""

    status = 503
    code = "unavailable"
    retry_after = OUTAGE_RETRY_AFTER


class TooLarge(DomainError):
    """More than a limit allows (a staged-files quota)."""

    status = 413
    code = "too_large"
