"""A small browser over http.client: one keep-alive connection, its cookies, and the forms of a page."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

# Form data as a dict, or as (name, value) pairs when a name repeats (ticked checkboxes, multiple selects).
FormData = dict[str, str] | list[tuple[str, str]]


class BenchFailure(Exception):
    """A response the benchmark did not expect (wrong status, missing form)."""


@dataclass
class Response:
    """A complete response and how long it took, from sending the request to the last byte."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    text: str
    elapsed: float

    def expect(self, *statuses: int) -> Response:
        """Return self, or raise BenchFailure when the status is not one of `statuses`."""
        if self.status not in statuses:
            raise BenchFailure(f"{self.method} {self.path}: {self.status}, expected {'/'.join(map(str, statuses))}")
        return self


@dataclass
class Form:
    """A form as a browser would submit it: its action and the successful controls in order."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """The fields as a dict (the last value wins)."""
        return dict(self.fields)

    def set(self, name: str, value: str) -> None:
        """Replace every value of the field `name` with `value`."""
        self.fields = [(n, v) for n, v in self.fields if n != name] + [(name, value)]


class FormParser(HTMLParser):
    """Collect every form of a page with its inputs, textareas and selected options."""

    def __init__(self):
        """Start with no forms."""
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open forms, selects and textareas; record inputs and options."""
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(attr.get("action", ""), attr.get("method", "get").lower()))
            return
        if not self.forms:
            return
        name = attr.get("name")
        kind = attr.get("type", "text")
        if tag == "option" and self._select is not None:
            self._options.append((attr.get("value", ""), "selected" in attr))
        elif not name:
            return
        elif tag == "input" and kind not in ("submit", "button", "image", "reset", "file", "checkbox", "radio"):
            self.forms[-1].fields.append((name, attr.get("value", "")))
        elif tag == "input" and kind in ("checkbox", "radio") and "checked" in attr:
            self.forms[-1].fields.append((name, attr.get("value", "on")))
        elif tag == "textarea":
            self._textarea, self._text = name, []
        elif tag == "select":
            self._select, self._options = name, []

    def handle_data(self, data: str) -> None:
        """Keep the text of an open textarea."""
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Close a textarea (dropping the newline that follows its start tag) or a select."""
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            text = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
            self.forms[-1].fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.forms[-1].fields.extend((self._select, value) for value in chosen)
            self._select = None


def forms(html: str) -> list[Form]:
    """Every form of a page."""
    parser = FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


class Browser:
    """One user agent: requests over a reused connection, cookies kept like a browser keeps them."""

    def __init__(self, host: str, port: int, timeout: float = 60.0):
        """Prepare a connection to host:port (opened on the first request, reopened when the server closes it)."""
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""  # from the list page once signed in, for posts built without loading a form

    def request(
        self,
        method: str,
        path: str,
        form: FormData | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        send_cookies: bool = True,
    ) -> Response:
        """Send one request (a form is sent url-encoded, or a ready `body`; `headers` e.g. htmx's) and read the
        whole response."""
        headers = {"Accept": "text/html", **(headers or {})}
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies and send_cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.connection.sock is not None
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                raw = self.connection.getresponse()
                data = raw.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server closed an idle keep-alive connection (gthread workers do after a few seconds) before
                # this request reached it: send it again once on a new connection, as HTTP clients do.
                self.connection.close()
                if attempt == 2 or not reused:
                    raise
            except (http.client.HTTPException, OSError):
                self.connection.close()  # the next request reconnects
                raise
        elapsed = time.perf_counter() - started
        for header in raw.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(method, path, raw.status, dict(raw.headers), data.decode("utf-8", "replace"), elapsed)

    def post_multipart(
        self, path: str, fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]],
        headers: dict[str, str] | None = None,
    ) -> Response:
        """POST multipart/form-data: text fields, then files as (field name, file name, content)."""
        boundary = f"----bench{uuid.uuid4().hex}"
        parts = []
        for name, value in fields:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, file_name, content in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                f"Content-Type: text/csv\r\n\r\n".encode()
            )
            parts.append(content)
            parts.append(b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        body = b"".join(parts)
        return self.request(
            "POST", path, body=body,
            headers={**(headers or {}), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def download(self, path: str) -> tuple[Response, int, int]:
        """GET a (large) body a piece at a time without keeping it: (response without text, bytes, lines)."""
        headers = {"Accept": "text/csv"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        size = lines = 0
        try:
            self.connection.request("GET", path, headers=headers)
            raw = self.connection.getresponse()
            while chunk := raw.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        elapsed = time.perf_counter() - started
        return Response("GET", path, raw.status, dict(raw.headers), "", elapsed), size, lines

    def get(self, path: str) -> Response:
        """GET a path."""
        return self.request("GET", path)

    def post(self, path: str, form: FormData, headers: dict[str, str] | None = None) -> Response:
        """POST a form to a path."""
        return self.request("POST", path, form, headers)

    def json(self, method: str, path: str, payload=None, token: str = "") -> Response:
        """Send JSON (or nothing) with a bearer token, as an API client does; the response text is the JSON."""
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return self.request(method, path, headers=headers, body=body, send_cookies=False)  # the token alone

    def form(self, path: str, action: str) -> Form:
        """GET a page and return its form that posts to `action` (raise BenchFailure if missing)."""
        page = self.get(path).expect(200)
        for candidate in forms(page.text):
            if urlsplit(candidate.action or path).path == action and candidate.method == "post":
                return candidate
        raise BenchFailure(f"GET {path}: no form posting to {action}")

    def sign_in(self, email: str, password: str) -> None:
        """Sign in through the login form, as a person would."""
        login = self.form("/login", "/login").values()
        login.update(email=email, password=password)
        self.post("/login", login).expect(303)
        page = self.get("/issues").expect(200)
        self.csrf_token = next((v for f in forms(page.text) for n, v in f.fields if n == "csrf_token"), "")

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
