"""Tracker: a self-hosted issue tracker. create_app builds the Flask application."""

from __future__ import annotations

import functools
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import error_handling, formatting
from .config import Config, config_from_environment, instance_secret_key
from .extensions import csrf, db, expire_kept_at_request_end, login_manager, migrate
from .htmx import is_htmx
from .numbers import IdConverter

ROOT = Path(__file__).resolve().parent.parent
# Endpoints anyone may reach without signing in.
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.setup", "notifications.unsubscribe"}


def create_app(config_class: type[Config] | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, security headers."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=os.environ.get("TRACKER_INSTANCE_PATH", str(ROOT / "instance")),
    )
    app.config.from_object(config_class or config_from_environment())
    if overrides:
        app.config.update(overrides)
    _finish_config(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["int"] = IdConverter

    db.init_app(app)
    app.teardown_request(expire_kept_at_request_end)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.before_request(start_unknown)
    # Before the CSRF check: a request from someone whose session ended goes to the sign-in page (htmx: a
    # 401 that navigates there), not to "the form has expired"; the browser keeps what they typed meanwhile.
    app.before_request(require_sign_in)
    from .attachments import web as attachments_web

    attachments_web.init_app(app)  # before the CSRF check reads a form: upload routes have their own body limit
    csrf.init_app(app)
    # current_user reaches templates lazily (formatting.py): Flask-Login's own context processor would load the
    # person for every template, the error pages too, which must render while the database is down.
    login_manager.init_app(app, add_context_processor=False)

    from . import api, auth, cli, security
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .attachments import bp as attachments_bp
    from .auth import bp as auth_bp
    from .bulk import bp as bulk_bp
    from .comments import bp as comments_bp
    from .imports import bp as imports_bp
    from .issues import bp as issues_bp
    from .labels import bp as labels_bp
    from .notifications import bp as notifications_bp
    from .notifications import fanout
    from .reports import bp as reports_bp
    from .saved import bp as saved_bp
    from .trash import bp as trash_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(issues_bp)
    app.register_blueprint(bulk_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(labels_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(trash_bp)
    app.register_blueprint(saved_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(notifications_bp)
    fanout.EMAIL["enabled"] = bool(app.config.get("MAIL_URL"))
    if app.config["RUN_WORKER"] and not app.config["TESTING"]:
        from .worker import start_in_process

        start_in_process(app)
    api.init_app(app)
    auth.init_login(app, login_manager)
    error_handling.register(app)
    security.register(app)
    formatting.register(app)
    cli.register(app)

    @app.get("/")
    def index():
        """My page: the views the person pinned, each as a short list (tracker/saved/views.py)."""
        from .saved.views import my_page

        return my_page()

    return app


def start_unknown():
    """Each request finds its signed-in person anew, from its own cookie, even where requests share an application
    context (the tests' client does): nothing a previous request loaded counts."""
    for name in ("_login_user", "user_session", "api_user"):
        g.pop(name, None)


def require_sign_in():
    """Every page but sign-in, first-run setup and static files needs a signed-in user."""
    if request.endpoint in PUBLIC_ENDPOINTS or error_handling.is_api_request() or current_user.is_authenticated:
        return None  # the API authenticates each request with its bearer token, never the session
    from .auth.service import has_users

    if not has_users(db.session):
        return redirect(url_for("auth.setup"))
    if request.endpoint is None:
        return None  # let the 404 page answer
    if error_handling.sent_by_script():
        return error_handling.scripts_go_to_the_api()
    if is_htmx():
        # A redirect would be followed inside the page; make htmx navigate to the sign-in page instead.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = (current.path + ("?" + current.query if current.query else "")) or request.path
        return "", 401, {"HX-Redirect": url_for("auth.login", next=back)}
    return redirect(url_for("auth.login", next=_return_path()))


def _return_path() -> str:
    """Where signing in leads back to: this page, or for a form sent here, the page it was sent from (the
    form's own URL may take only POST)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + ("?" + referrer.query if referrer.query else "")
    return url_for("index")


def _finish_config(app: Flask) -> None:
    """Fill what the environment left open: the SQLite file in instance/, the development secret key."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "tracker.db")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri = "postgresql://" + uri[len("postgres://") :]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30})
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    # The cookie of a signed-in browser lasts as long as its session may stay idle (auth/cookies.py).
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    if app.config.get("MAIL_URL"):
        from .notifications.mail import parse_mail_url

        try:
            parse_mail_url(app.config["MAIL_URL"])
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None
        if not app.config.get("TRACKER_BASE_URL"):
            if app.config["ENV_NAME"] == "production":
                raise RuntimeError(
                    "MAIL_URL is set but TRACKER_BASE_URL is not: emails need the address people open Tracker at "
                    "(e.g. TRACKER_BASE_URL=https://tracker.example.com)."
                )
            app.config["TRACKER_BASE_URL"] = "http://localhost:5000"
    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production (TRACKER_ENV=production).")
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)


def _casefold(value: str | None) -> str | None:
    """SQLite's casefold(text): Python's str.casefold, NULL stays NULL."""
    return value.casefold() if isinstance(value, str) else value


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    """A search's regular expression, compiled once."""
    return re.compile(pattern)


def _words_match(value: str | None, pattern: str) -> int:
    """SQLite's words_match(text, pattern): 1 when the casefolded text matches the search's pattern
    (tracker.issues.search.words_pattern), else 0."""
    return int(isinstance(value, str) and _compiled(pattern).search(value.casefold()) is not None)


@sa.event.listens_for(sa.Engine, "connect")
def _connection_settings(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys and let readers work while a writer commits. PostgreSQL: no JIT."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's LIKE ignores case for ASCII letters only: search compares casefolded text ("Ärger", "STRASSE").
        dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)
        dbapi_connection.create_function("words_match", 2, _words_match, deterministic=True)
    elif type(dbapi_connection).__module__.startswith("psycopg2"):
        # PostgreSQL's JIT compiles every execution of a costly plan anew: about 10 ms on each report query and
        # up to 300 ms on a connection's first, for queries that run in 30 to 70 ms. Committed, or the pool's
        # reset would roll the setting back.
        cursor = dbapi_connection.cursor()
        cursor.execute("SET jit = off")
        cursor.close()
        dbapi_connection.commit()
