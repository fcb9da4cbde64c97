"""Configuration: secret key handling, database URL, production requirements."""

import pytest

from tracker import create_app
from tracker.config import Config, ProductionConfig


def test_development_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)

    class Dev(Config):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = None

    first = create_app(Dev)
    second = create_app(Dev)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "tracker.db")


def test_production_requires_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))

    class Prod(ProductionConfig):
        SECRET_KEY = None

    with pytest.raises(RuntimeError, match="SECRET_KEY must be set in production"):
        create_app(Prod)


def test_production_cookies_are_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))

    class Prod(ProductionConfig):
        SECRET_KEY = "x" * 32

    app = create_app(Prod)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_postgres_scheme_alias_is_normalised(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))
    app = create_app(Config, {"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "postgres://u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql://u@h/db"


def test_upload_limit_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))
    from tracker.config import _int_env

    monkeypatch.setenv("UPLOAD_LIMIT_MB", "7")
    assert _int_env("UPLOAD_LIMIT_MB", 50) == 7


def test_postgres_connections_run_without_jit(app, postgres_only):
    """Every pooled connection has JIT off, also after the pool has rolled back and reused it."""
    from tracker.extensions import db

    with app.app_context():
        for _ in range(2):
            assert db.session.execute(db.text("SHOW jit")).scalar() == "off"
            db.session.rollback()
            db.session.remove()
