"""The generated OpenAPI document and the interactive docs (Swagger UI, served from Tracker's own static files)."""

from __future__ import annotations

from flask import jsonify, render_template

from . import current_api, docs_bp

SWAGGER_UI = "vendor/swagger-ui-5.32.0"


@docs_bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3 document, generated from the API's routes and schemas."""
    return jsonify(current_api().spec.to_dict())


@docs_bp.get("/docs")
def docs():
    """Interactive docs: try any endpoint with a personal token (Authorize)."""
    # Swagger UI runs under the app's own CSP: its scripts are files from /static and it needs no inline code.
    return render_template("api/docs.html", swagger_ui=SWAGGER_UI)
