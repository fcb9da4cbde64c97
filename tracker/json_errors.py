"""The JSON error renderer (the API): every failure is JSON {"error", "message", "details"}, whatever raised it."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from .errors import DomainError

# Codes for HTTP errors that reach the API without a domain error (routing, body size, bad JSON...).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "version_conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def json_error(status: int, code: str, message: str, details: Any = None, **extra: Any) -> Response:
    """The JSON error body with its status; 401 also says how to authenticate."""
    response = jsonify({"error": code, "message": message, "details": details, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response


def http_json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An HTTP error (404, 405, 413, 500...) as JSON, with the error's own headers (a 405's Allow)."""
    response = json_error(status, HTTP_CODES.get(status, "error"), message)
    response.headers.update(headers or {})
    return response


def domain_json_error(exc: DomainError) -> Response:
    """A domain error as JSON, with its details (per-field messages, blocking issues) and its headers."""
    response = json_error(exc.status, exc.code, exc.message, exc.details)
    response.headers.update(exc.headers())
    return response


def request_error(exc: HTTPException, headers: dict[str, str]) -> Response:
    """An HTTP error raised in an API view (`headers`: its own, such as a 405's Allow); webargs' 422/400 carry
    per-field messages by location."""
    status = exc.code or 500
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if messages:
        details = {
            field: "; ".join(problem)
            if isinstance(problem, list) and all(isinstance(p, str) for p in problem)
            else problem
            for fields_ in messages.values()
            for field, problem in (fields_.items() if isinstance(fields_, dict) else [("body", fields_)])
        }
        if status == 422:
            return json_error(422, "invalid", "Please correct the marked fields.", details)
        return json_error(status, HTTP_CODES.get(status, "error"), "The request body is not valid JSON.", details)
    return http_json_error(status, exc.description or "", headers)
