"""Configuration classes, read from the environment."""

import os
import secrets
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    """Read an integer setting from the environment, falling back to the default."""
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    """Development defaults: embedded SQLite in instance/, a generated secret key."""

    ENV_NAME = "development"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None: SQLite in instance/
    SECRET_KEY = os.environ.get("SECRET_KEY")
    MAX_CONTENT_LENGTH = _int_env("UPLOAD_LIMIT_MB", 50) * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    ISSUES_PER_PAGE = 50
    # Signed-in browsers (README, "Sessions"): a session ends after SESSION_IDLE_MINUTES without a request, and
    # SESSION_LIFETIME_HOURS after signing in at the latest; the cookie expires at the same moment.
    SESSION_IDLE_MINUTES = _int_env("SESSION_IDLE_MINUTES", 8 * 60)
    SESSION_LIFETIME_HOURS = _int_env("SESSION_LIFETIME_HOURS", 24)
    # Sign-in throttling (README, "Sign-in throttling"), over a window of SIGNIN_WINDOW_SECONDS: an account is
    # locked for one address after SIGNIN_MAX_FAILURES_PER_ACCOUNT failures from it; an address after
    # SIGNIN_MAX_FAILURES_PER_ADDRESS failures for any accounts; past SIGNIN_SLOWDOWN_AFTER failures for an account
    # from all addresses together, each further attempt from an address it never signed in from waits twice as
    # long as the one before (from one second up to the window).
    SIGNIN_WINDOW_SECONDS = _int_env("SIGNIN_WINDOW_SECONDS", 15 * 60)
    SIGNIN_MAX_FAILURES_PER_ACCOUNT = _int_env("SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5)
    SIGNIN_MAX_FAILURES_PER_ADDRESS = _int_env("SIGNIN_MAX_FAILURES_PER_ADDRESS", 20)
    SIGNIN_SLOWDOWN_AFTER = _int_env("SIGNIN_SLOWDOWN_AFTER", 20)
    SIGNIN_TRUSTED_DAYS = _int_env("SIGNIN_TRUSTED_DAYS", 90)
    # Proxies in front of the app that set X-Forwarded-For/-Proto/-Host (0: trust no such header). Behind a
    # proxy the client's address is needed for the per-address sign-in limit, else every user shares one.
    TRUSTED_PROXIES = _int_env("TRUSTED_PROXIES", 0)
    # Attachments: where the files live ("" = instance/attachments/, a folder path, or s3://bucket/prefix with the
    # endpoint and credentials in the AWS_* variables), and what is accepted (README, "Attachments").
    ATTACHMENTS_URL = os.environ.get("ATTACHMENTS_URL", "")
    ATTACHMENT_MAX_BYTES = _int_env("ATTACHMENT_MAX_MB", 25) * 1024 * 1024
    ATTACHMENT_TYPES = os.environ.get("ATTACHMENT_TYPES", "image,pdf,text,csv,json,zip")
    ATTACHMENTS_PER_ISSUE = _int_env("ATTACHMENTS_PER_ISSUE", 100)
    # One request may carry several files: this is its whole body's limit (the CSV import keeps UPLOAD_LIMIT_MB).
    ATTACHMENT_REQUEST_MAX_BYTES = _int_env("ATTACHMENT_REQUEST_MAX_MB", 100) * 1024 * 1024
    # S3 only: downloads redirect to a presigned URL valid this long (0 turns redirects off: the app streams them).
    ATTACHMENT_LINK_SECONDS = _int_env("ATTACHMENT_LINK_SECONDS", 300)
    # Stored objects no row refers to (an upload whose transaction rolled back) are swept once older than this.
    ATTACHMENT_ORPHAN_MINUTES = _int_env("ATTACHMENT_ORPHAN_MINUTES", 60)
    # CSV exports one person may stream at the same time (counted across app processes); more get 429.
    EXPORTS_PER_PERSON = _int_env("EXPORTS_PER_PERSON", 2)
    # Imports: files with more columns are refused (422) before any page is built; staged files (uploaded, not
    # yet imported, kept for a day) may hold at most this many MB per person (413 beyond).
    IMPORT_MAX_COLUMNS = _int_env("IMPORT_MAX_COLUMNS", 500)
    IMPORT_STAGED_MB_PER_PERSON = _int_env("IMPORT_STAGED_MB_PER_PERSON", 200)
    # The trash: deleted issues are purged this many days after their deletion (`flask trash purge`, or the
    # background worker's tracker.trash.tasks.purge_trash).
    TRASH_RETENTION_DAYS = _int_env("TRASH_RETENTION_DAYS", 30)
    # Email about notifications (README, "Notifications"): MAIL_URL smtp://user:pass@host:587 (STARTTLS when the
    # server offers it) or smtps://user:pass@host:465; unset, no email is queued (the inbox still works). Links in
    # emails start with TRACKER_BASE_URL (required in production when mail is on). Changes to one issue within
    # MAIL_WINDOW_SECONDS make one email; a refused-for-now email is tried again after MAIL_RETRY_SECONDS, doubling.
    MAIL_URL = os.environ.get("MAIL_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Tracker <tracker@localhost>")
    TRACKER_BASE_URL = os.environ.get("TRACKER_BASE_URL", "")
    MAIL_WINDOW_SECONDS = _int_env("MAIL_WINDOW_SECONDS", 120)
    MAIL_RETRY_SECONDS = _int_env("MAIL_RETRY_SECONDS", 60)
    MAIL_POLL_SECONDS = _int_env("MAIL_POLL_SECONDS", 5)
    VIEW_ALERT_SECONDS = _int_env("VIEW_ALERT_SECONDS", 60)  # how often the worker checks each watched view
    UPKEEP_MINUTES = _int_env("UPKEEP_MINUTES", 60)  # the worker's clean-ups: trash retention, sessions, imports, files
    # `make run` sets it: a worker thread in the web process sends the email, so the embedded default delivers.
    RUN_WORKER = os.environ.get("TRACKER_RUN_WORKER", "0") == "1"
    TESTING = False


class ProductionConfig(Config):
    """Production: SECRET_KEY is required, cookies are Secure."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestConfig(Config):
    """Tests: the database URL is given by the fixture, a fixed secret key."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it on
    SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5
    SIGNIN_MAX_FAILURES_PER_ADDRESS = 20


def config_from_environment() -> type[Config]:
    """Pick the configuration class named by TRACKER_ENV (development by default)."""
    name = os.environ.get("TRACKER_ENV", "development").lower()
    return ProductionConfig if name == "production" else Config


def instance_secret_key(instance_path: str) -> str:
    """Return the development secret key kept in instance/, creating it on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
