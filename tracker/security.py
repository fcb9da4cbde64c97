"""Security headers on every response, and a guard against NUL characters in submitted text."""

from flask import Flask, abort, request

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


def register(app: Flask) -> None:
    """Add CSP, frame denial, nosniff and referrer policy to every response."""

    @app.before_request
    def refuse_nul_characters():
        """NUL never belongs in text and PostgreSQL cannot store it: refuse it with a 400, never a 500."""
        for values in (request.args, request.form):
            for name, value in values.items(multi=True):
                name = name or ""  # a multipart part without a name is read with the name None
                if "\x00" in name or "\x00" in value:
                    abort(
                        400,
                        f"The field '{name.replace(chr(0), '')[:40]}' contains a NUL character, which is not allowed.",
                    )

    @app.after_request
    def security_headers(response):
        """Set the headers unless a view chose its own."""
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
