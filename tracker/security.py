"""Security headers on every response (HSTS with Secure cookies; no-store for what a signed-in person sees), and
guards on what is submitted: no NUL characters, form bodies in UTF-8."""

from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, g, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


HSTS_SECONDS = 365 * 24 * 3600  # a year; no includeSubDomains: other hosts of the domain are not Tracker's


def refuse_nul_fields(fields: Iterable[tuple[str | None, str]], within: str = "") -> None:
    """A 400 naming the first field (name, value) whose name or value holds a NUL character: NUL never belongs in
    text and PostgreSQL cannot store it (nor compare with it). `within` says where the fields came from, for the
    message (" of the list's filter")."""
    for name, value in fields:
        name = name or ""  # a multipart part without a name is read with the name None
        if "\x00" in name or "\x00" in value:
            abort(
                400,
                f"The field '{name.replace(chr(0), '')[:40]}'{within} contains a NUL character, which is not allowed.",
            )


def register(app: Flask) -> None:
    """Install the guards on what is submitted and the security headers on every response."""

    @app.before_request
    def refuse_undecodable_forms():
        """A form body that is not UTF-8 would be kept as its percent-escapes (title=%FF%FE became the title
        '%FF%FE'): refuse it with a 400 before anything reads it."""
        if request.mimetype != "application/x-www-form-urlencoded":
            return
        limit = request.max_form_memory_size
        if limit is not None and (request.content_length or 0) > limit:
            return  # too large for a form: the form parser refuses it (413) unread, and this check reads none
        try:
            unquote_to_bytes(request.get_data(cache=True).replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            abort(400, "The form was sent in an encoding that is not UTF-8; nothing was saved. Reload the page and "
                       "send it again.")

    @app.before_request
    def refuse_nul_characters():
        """NUL never belongs in text and PostgreSQL cannot store it: refuse it with a 400, never a 500 (nor
        removed quietly, from an uploaded file's name neither)."""
        if "\x00" in request.path:  # a path part (an @handle, a file's name) is text a query may use too
            abort(400, "The address contains a NUL character, which is not allowed.")
        for values in (request.args, request.form):
            refuse_nul_fields(values.items(multi=True))
        for upload in request.files.values():
            if "\x00" in (upload.filename or ""):
                abort(400, "The uploaded file's name contains a NUL character, which is not allowed; rename the file.")

    @app.after_request
    def security_headers(response):
        """Set the headers unless a view chose its own. Over HTTPS (Secure cookies), browsers are told to use
        nothing else; what a signed-in person (a session or an API token) is sent, exports included, is never
        stored by a browser or a cache (the back button asks the server again)."""
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
        if request.endpoint != "static" and (g.get("user_session") is not None or g.get("api_user") is not None):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
