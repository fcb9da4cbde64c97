"""The JSON API under /api: bearer tokens, the same services as the pages, a generated OpenAPI document."""

from __future__ import annotations

import json

import flask
from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from .schemas import ErrorSchema

API_VERSION = "1.0"
# Sections of the interactive docs, in this order.
TAGS = (
    ("Issues", "List, create, read and change issues; labels, bulk status, timeline."),
    ("Comments", "Discussion on an issue."),
    ("Attachments", "Files on issues: attach (multipart), list, download, delete."),
    ("People and labels", "Ids and names for assignees and labels."),
    ("Import", "Create issues from a CSV file."),
    ("Reports", "Workload and resolution times."),
    ("Saved views", "Named queries of the issue list: list, create, change, delete and run them."),
    ("Notifications", "Your inbox: notifications, read and done; watching issues."),
)


class TrackerApi(Api):
    """flask-smorest's Api with Tracker's error shape; errors are handled by Tracker, not by the extension."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """The app's own handlers (tracker.error_handling, the API blueprint) answer every error."""


class MultipartParser(FlaskParser):
    """webargs' Flask parser plus a "multipart" location (a form's fields and files read as one body).

    Unknown query parameters and form fields are errors, as unknown JSON fields are: a misspelt filter
    must not quietly list every issue.
    """

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "multipart": RAISE,
        "query": RAISE,
        "querystring": RAISE,
    }

    def load_multipart(self, req: flask.Request, schema):
        """Fields and files of a multipart/form-data body; a part without a name is a 422 that says so."""
        if None in req.form or None in req.files:
            flask.abort(
                422,
                "Every part of the multipart body needs a name (Content-Disposition: form-data; name=\"...\"); "
                "send the CSV file as the part named 'file'.",
            )
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    def _raw_load_json(self, req: flask.Request):
        """The JSON body; nesting deeper than Python's decoder can follow, or a number longer than it converts
        (4,300 digits), is invalid JSON (400), not a crash."""
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            self._handle_invalid_json_error(json.JSONDecodeError("nested too deeply", "[", 0), req)
        except ValueError as exc:  # JSONDecodeError is handled by webargs; this is int()'s digit limit
            self._handle_invalid_json_error(json.JSONDecodeError(str(exc)[:80], "0", 0), req)


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, documenting the "multipart" location as one multipart/form-data body, and the 400
    of every JSON body."""

    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def arguments(self, schema, *, location="json", **kwargs):
        """flask-smorest's arguments; a JSON body also documents its 400, the answer to a body that is not JSON
        (422, a body that is JSON but breaks the schema, flask-smorest documents itself)."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        not_json = self.alt_response(400, schema=ErrorSchema, description="The request body is not valid JSON.")

        def decorator(func):
            """Parse the body, and document the 400 beside the 422."""
            return not_json(parse(func))

        return decorator


bp = ApiBlueprint("api", __name__, url_prefix="/api")
# The OpenAPI document and the interactive docs are not API operations themselves.
docs_bp = flask.Blueprint("api_docs", __name__, url_prefix="/api")


def current_api() -> TrackerApi:
    """The app's API object (it holds the OpenAPI document)."""
    return flask.current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


def init_app(app: Flask) -> None:
    """Bind the API to the app: spec settings, bearer security scheme, blueprints, CSRF exemption."""
    from ..extensions import csrf

    app.config.setdefault("API_TITLE", "Tracker API")
    app.config.setdefault("API_VERSION", API_VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "Send a personal token (created on your account page) as "
                "`Authorization: Bearer <token>`. "
                'Errors are always `{"error", "message", "details"}`.'
            },
            "security": [{"bearerAuth": []}],
        },
    )
    api = TrackerApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for name, description in TAGS:
        api.spec.tag({"name": name, "description": description})
    # A session cookie never authenticates the API, so cross-site requests cannot ride on it: no CSRF token needed.
    csrf.exempt(bp)
    api.register_blueprint(bp)
    app.register_blueprint(docs_bp)


from . import attachments, docs, imports, notifications, reports, saved, trash, views  # noqa: E402,F401  (routes register on bp and docs_bp)
