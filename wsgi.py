"""WSGI entry point: `gunicorn wsgi:app` (set TRACKER_ENV=production and SECRET_KEY in production)."""

from tracker import create_app

app = create_app()
