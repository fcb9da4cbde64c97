"""Short requests while long ones run (issue 17): sign-in while four CSV exports of every issue stream.

- login_during_exports: four exports of the whole list (two people, two each: the most the per-person limit
  lets them run) stream and are read as fast as this client can, restarted as each ends; meanwhile a signed-out
  browser asks for the sign-in page (GET /login, timed), and every third time also signs in (POST /login with
  the password check, timed apart, in the details). The server is the README's production command (gthread
  workers); with sync workers the four exports held four of the workers and sign-in queued behind them (18 s).

GET /login is the scenario's own figure: it is what waited behind the exports. The sign-in POST adds the password
hash (scrypt, deliberately costly: the details give its time in this process at the same moment), which on a
CPU shared with four exports is CPU time, not waiting for a free worker.
"""

from __future__ import annotations

import http.client
import random
import statistics
import threading
import time
from urllib.parse import urlsplit

from . import dataset, server
from .browser import BenchFailure, Browser, Response, forms
from .scenarios import Limits, Workload, scenario

EXPORTS = 4  # streams at once: two people, two each (EXPORTS_PER_PERSON)
LOGIN_TARGET_P95_MS = 200.0


class ExportLoad:
    """Four exports streaming without pause until stopped: each thread downloads /issues/export.csv, reading and
    dropping the bytes, and starts again when one ends."""

    def __init__(self, port: int, emails: list[str]):
        """Prepare one signed-in browser per stream (each person signs in once per stream)."""
        self.port = port
        self.emails = emails
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.streaming = 0  # downloads whose headers have arrived and that are still being read
        self.finished = 0
        self.refused: list[str] = []  # statuses other than 200, e.g. a 429 from the per-person limit
        self.bytes = 0
        self.threads = [threading.Thread(target=self._run, args=(email,), daemon=True) for email in emails]

    def start(self) -> None:
        """Start every stream and wait until all of them are receiving their CSV."""
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + server.STARTUP_SECONDS
        while self.streaming < len(self.threads):
            if self.refused or time.monotonic() > deadline:
                raise BenchFailure(f"exports did not all start: {self.streaming} streaming, refused {self.refused}")
            time.sleep(0.05)

    def _run(self, email: str) -> None:
        """One stream: sign in, then download the export again and again until stopped."""
        browser = Browser(server.HOST, self.port, timeout=server.WORKER_TIMEOUT_SECONDS)
        browser.sign_in(email, dataset.ADMIN_PASSWORD)
        headers = {"Accept": "text/csv", "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        while not self.stop.is_set():
            connection = http.client.HTTPConnection(server.HOST, self.port, timeout=server.WORKER_TIMEOUT_SECONDS)
            try:
                connection.request("GET", "/issues/export.csv", headers=headers)
                response = connection.getresponse()
                if response.status != 200:
                    with self.lock:
                        self.refused.append(str(response.status))
                    return
                with self.lock:
                    self.streaming += 1
                try:
                    while not self.stop.is_set() and (chunk := response.read(1 << 16)):
                        with self.lock:
                            self.bytes += len(chunk)
                    if not self.stop.is_set():
                        with self.lock:
                            self.finished += 1
                finally:
                    with self.lock:
                        self.streaming -= 1
            finally:
                connection.close()  # stopping mid-download: the server sees the client go and frees the slot

    def close(self) -> None:
        """Stop every stream (mid-download) and wait for the threads."""
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


_loads: dict[int, ExportLoad] = {}
_samples: dict[str, list[float]] = {"sign_in_ms": [], "streaming": []}


def _load(work: Workload) -> ExportLoad:
    """The export load of this run, started on the first step."""
    if id(work) not in _loads:
        with work.cursor() as cursor:  # slots left by an earlier run's server, killed mid-export, would count
            cursor.execute("DELETE FROM export_slots")
        people = [dataset.ADMIN_EMAIL, next(u.email for u in dataset.users() if u.role == "member")]
        load = ExportLoad(work.port, [people[n % 2] for n in range(EXPORTS)])
        try:
            load.start()
        except BaseException:
            load.close()
            raise
        _loads[id(work)] = load
    return _loads[id(work)]


def login_step(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """A signed-out browser asks for the sign-in page while the exports stream; every third one also signs in."""
    load = _load(work)
    visitor = Browser(server.HOST, work.port)
    try:
        streaming = load.streaming
        page = visitor.get("/login")
        if page.status == 200 and len(_samples["streaming"]) % 3 == 0:
            form = next(f for f in forms(page.text) if urlsplit(f.action or "/login").path == "/login").values()
            form.update(email=rng.choice([u.email for u in dataset.users()[2:12]]), password=dataset.ADMIN_PASSWORD)
            _samples["sign_in_ms"].append(visitor.post("/login", form).expect(303).elapsed * 1000)
    finally:
        visitor.close()
    _samples["streaming"].append(min(streaming, load.streaming))
    return page


def _password_check_ms() -> list[float]:
    """How long checking one password takes in this process now (the same scrypt work as a sign-in)."""
    from werkzeug.security import check_password_hash, generate_password_hash

    stored = generate_password_hash(dataset.ADMIN_PASSWORD)
    times = []
    for _ in range(10):
        started = time.perf_counter()
        check_password_hash(stored, dataset.ADMIN_PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    """The 95th percentile (the value itself when there is one)."""
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[94]


def _summary(work: Workload) -> dict:
    """Stop the exports; how many ran at each request, the sign-ins' times, a password check's time meanwhile."""
    load = _loads.pop(id(work), None)
    if load is None:
        return {}
    checks = _password_check_ms()
    streaming, sign_ins = _samples["streaming"], _samples["sign_in_ms"]
    facts = {
        "exports_streaming_min": min(streaming) if streaming else 0,
        "exports_finished": load.finished,
        "export_mb_read": round(load.bytes / 1e6),
        "exports_refused": ", ".join(load.refused) or "none",
        "sign_ins": len(sign_ins),
        "sign_in_median_ms": round(statistics.median(sign_ins), 1) if sign_ins else None,
        "sign_in_p95_ms": round(_p95(sign_ins), 1) if sign_ins else None,
        "password_check_ms_median_meanwhile": round(statistics.median(checks), 1),
    }
    load.close()
    for values in _samples.values():
        values.clear()
    return facts


scenario(
    "login_during_exports",
    "GET /login while 4 GET /issues/export.csv of every issue stream",
    target_median_ms=None,
    target_p95_ms=LOGIN_TARGET_P95_MS,
    note="the sign-in page while four exports of all 1,000,000 issues stream (two people, two each, restarted as"
    " they end, read as fast as this client can), served by gthread workers as in the README's production"
    " command; details: the fewest exports streaming at any timed request, every third visitor's sign-in"
    " (POST /login, timed apart) and a password check's time in this process meanwhile",
    limits=Limits(warmup=3, requests=300, concurrency=0, concurrent_requests=0),
    probe=_summary,
)(login_step)
