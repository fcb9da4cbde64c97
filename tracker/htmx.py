"""The one place that branches on htmx: full page or the fragment a request targets."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request
from flask.wrappers import Response
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (a history restore wants the full page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def block_for(blocks: Iterable[str]) -> str | None:
    """The block whose element (id = block name in kebab-case) this htmx request targets, if any."""
    if not is_htmx():
        return None
    target = (request.headers.get("HX-Target") or "").replace("-", "_")
    return target if target in set(blocks) else None


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render the page, or only `block` of it for an htmx request; always varies on HX-Request."""
    if block and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def targets(element_id: str) -> bool:
    """True for an htmx request aimed at the element with this id."""
    return is_htmx() and request.headers.get("HX-Target") == element_id


def current_path() -> str | None:
    """The path of the page an htmx request was sent from (its HX-Current-URL), None for other requests."""
    url = request.headers.get("HX-Current-URL") if is_htmx() else None
    return urlsplit(url).path if url else None


def error_trigger(message: str, status: int) -> str:
    """An HX-Trigger value that makes the page show `message` in its error banner (see static/app.js)."""
    return json.dumps({"tracker:error": {"message": message, "status": status}})


def go(url: str) -> Response:
    """After a successful POST: a 303 redirect, or for htmx a full navigation there (HX-Redirect)."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        response.vary.add("HX-Request")
        return response
    return redirect(url, 303)
