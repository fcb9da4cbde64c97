"""The attachments' side of a request: the configured store and limits, the files a form sent, the body limit of
the routes that take files, and sending a stored file back safely. Shared by the pages and the API."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import Flask, Response, abort, current_app, redirect, request

from ..transfers import content_disposition
from . import content, service
from .storage import MissingObject, Store, store_from_url

log = logging.getLogger(__name__)
# The routes that take files: their request body may be as large as ATTACHMENT_REQUEST_MAX_BYTES (several files),
# not only UPLOAD_LIMIT_MB. Set before anything reads the body (the CSRF check reads the form).
UPLOAD_ENDPOINTS = {"attachments.upload", "api.upload_attachments", "issues.new", "comments.create"}
# Types sent under their own name; anything else (HTML, SVG, XML, unknown) goes out as application/octet-stream.
OWN_TYPE = content.INLINE_TYPES | {
    k.content_type for k in (content.PDF, content.TEXT, content.CSV, content.JSON, content.ZIP, content.GZIP)
}
# A stored file is never a page of Tracker: no script, no styles, no plugins, no forms, a unique origin (sandbox).
FILE_CSP = "default-src 'none'; sandbox"
# An image opened on its own: the browser's image view may show it and nothing else.
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def init_app(app: Flask) -> None:
    """Build the store from ATTACHMENTS_URL, check ATTACHMENT_TYPES, and raise the body limit of upload routes."""
    content.parse_groups(app.config["ATTACHMENT_TYPES"])  # a typo fails at start, not at the first upload
    app.extensions["attachments_store"] = store_from_url(app.config["ATTACHMENTS_URL"], app.instance_path)
    app.before_request(_upload_limit)
    app.jinja_env.globals["attachment_limits"] = limits
    from .tasks import attachments_cli

    app.cli.add_command(attachments_cli)


def _upload_limit() -> None:
    """Routes that take files accept a body of up to ATTACHMENT_REQUEST_MAX_BYTES, larger or smaller than the CSV
    import's UPLOAD_LIMIT_MB (MAX_CONTENT_LENGTH, every other route's)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config["ATTACHMENT_REQUEST_MAX_BYTES"]


def store() -> Store:
    """The app's attachment store."""
    return current_app.extensions["attachments_store"]


def limits() -> service.Limits:
    """What this Tracker accepts, from its configuration."""
    config = current_app.config
    return service.Limits(
        max_bytes=config["ATTACHMENT_MAX_BYTES"],
        groups=content.parse_groups(config["ATTACHMENT_TYPES"]),
        per_issue=config["ATTACHMENTS_PER_ISSUE"],
    )


def orphan_age() -> timedelta:
    """How old an object no row names must be before the sweep removes it."""
    return timedelta(minutes=current_app.config["ATTACHMENT_ORPHAN_MINUTES"])


def incoming(name: str = "file") -> service.Incoming:
    """The files the request's form sent under `name` (a form without a chosen file sends an empty part: skipped)."""
    uploads = [
        service.Upload(file.filename, file.stream) for file in request.files.getlist(name) if file and file.filename
    ]
    return service.Incoming(store(), uploads, limits())


def described(outcomes: list[service.Attached]) -> list[dict]:
    """The attached files as the pages' script and the API name them."""
    return [
        {
            "id": o.attachment.id,
            "name": o.attachment.file_name,
            "sent_as": o.file_name,
            "url": service.file_url(o.attachment),
            "image": o.attachment.is_image,
            "duplicate": o.duplicate,
        }
        for o in outcomes
    ]


def send(attachment, thumbnail: bool = False) -> Response:
    """The stored file (or its thumbnail) with headers that keep it from ever running in Tracker's origin: only a
    raster image Pillow has read goes out inline; everything else as a download (`attachment`), with nosniff and
    a sandboxing Content-Security-Policy. With S3, downloads may redirect to a short-lived presigned URL (images
    shown on the pages are streamed: the pages load images from Tracker only)."""
    if thumbnail:
        if not attachment.thumbnail_key:
            abort(404, "This attachment has no thumbnail.")
        key, content_type, inline, etag = attachment.thumbnail_key, "image/webp", True, attachment.sha256 + "-t"
        size = None
    else:
        key, etag, size = attachment.storage_key, attachment.sha256, attachment.size
        inline = attachment.is_image and attachment.content_type in content.INLINE_TYPES
        content_type = attachment.content_type if attachment.content_type in OWN_TYPE else "application/octet-stream"
    stem, extension = os.path.splitext(attachment.file_name)
    if thumbnail:
        extension = ".webp"
    disposition = content_disposition(stem, extension, "inline" if inline else "attachment", fallback="file")
    headers = {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_CSP if inline else FILE_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        # Asked again on every use (a file the browser has comes back as a bodiless 304): who may read it and
        # whether its issue went to the trash are checked each time, never answered from a cache for a day.
        "Cache-Control": "private, no-cache",
        "ETag": f'"{etag}"',
    }
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    if not inline:
        url = store().download_url(key, content_type, disposition, current_app.config["ATTACHMENT_LINK_SECONDS"])
        if url:
            response = redirect(url, 302)
            response.headers.update({k: v for k, v in headers.items() if k != "ETag"})
            response.headers["Cache-Control"] = "no-store"  # the link expires
            return response
    try:
        chunks = store().chunks(key)
    except MissingObject:
        log.error("The stored object %s of attachment %s is missing", key, attachment.id)
        abort(404, "This file is missing from the attachment store.")
    response = Response(chunks, mimetype=content_type, headers=headers, direct_passthrough=True)
    if size is not None:
        response.content_length = size
    return response
