"""Attachments (issue 21): upload and download of a 25 MB file, stored on local disk and in S3, with the serving
worker's memory growth.

- attach_25mb_local / attach_25mb_s3: POST /issues/<id>/attachments (multipart, a 25 MB log, different content each
  time so none is a duplicate); the file is deleted again right after (untimed).
- download_25mb_local: GET /files/<id>/<name>, the app streams the file from disk.
- download_25mb_s3: GET /files/<id>/<name> answers 302 with a presigned link, and the client reads the file from
  the bucket: timed together.

The S3 rows serve a second app (one gunicorn worker) whose ATTACHMENTS_URL is a bucket of moto's S3 server, started
in this process on a free port. Memory: the serving worker's peak resident set (VmHWM, reset before each request)
less its size before; the target is growth under 10 MB for a 25 MB file. The scenario's first request (its warm-up)
is reported apart: it also loads what storing needs (for S3, boto3: about 20 MB, once in a worker's life).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import logging
import os
import random
import statistics
import threading
import time
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

from . import dataset, server
from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, scenario
from .scenarios_imports import PeakMemory

SIZE = 25 * 1024 * 1024 - 4096  # just under the 25 MB limit
GROWTH_TARGET_MB = 10.0
BUCKET = "tracker-bench"
_state: dict = {}
_lock = threading.Lock()
_base = {}


def log_file() -> bytes:
    """A 25 MB log whose first line is new each time (the issue would keep one copy of a repeated file)."""
    if "log" not in _base:
        line = b"2026-12-05T10:00:00Z INFO worker 3 handled GET /issues in 12 ms (user 42, 50 rows)\n"
        _base["log"] = (line * (SIZE // len(line) + 1))[:SIZE]
    head = f"bench upload {uuid.uuid4().hex}\n".encode()
    return head + _base["log"][len(head) :]


def _s3_server(work: Workload) -> tuple[Browser, int]:
    """The second app, storing in moto's bucket, and a browser signed in to it (started once, stopped at exit)."""
    with _lock:
        if "s3" not in _state:
            import boto3
            from moto.server import ThreadedMotoServer

            stack = contextlib.ExitStack()
            atexit.register(stack.close)
            port = server.free_port()
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
            moto = ThreadedMotoServer(ip_address=server.HOST, port=port, verbose=False)
            moto.start()
            stack.callback(moto.stop)
            endpoint = f"http://{server.HOST}:{port}"
            credentials = {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            session = boto3.session.Session(
                aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
            )
            session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            settings = {**credentials, "AWS_ENDPOINT_URL": endpoint, "ATTACHMENTS_URL": f"s3://{BUCKET}/bench"}
            served = stack.enter_context(server.serve(work.database_url, 1, settings=settings))
            browser = Browser(server.HOST, served.port, timeout=server.WORKER_TIMEOUT_SECONDS)
            browser.sign_in(dataset.ADMIN_EMAIL, dataset.ADMIN_PASSWORD)
            _state["s3"] = (browser, served.pid)
        return _state["s3"]


def _target(browser: Browser, work: Workload, s3: bool) -> tuple[Browser, SimpleNamespace]:
    """The browser and server (for memory) of the local or the S3 app."""
    if not s3:
        browser.connection.timeout = server.WORKER_TIMEOUT_SECONDS
        return browser, SimpleNamespace(server_pid=work.server_pid)
    s3_browser, pid = _s3_server(work)
    return s3_browser, SimpleNamespace(server_pid=pid)


def _upload(browser: Browser, issue_id: int) -> tuple[Response, int]:
    """Attach a fresh 25 MB log to the issue; the response and the new attachment's id."""
    response = browser.post_multipart(
        f"/issues/{issue_id}/attachments", [("csrf_token", browser.csrf_token)], [("file", "bench.log", log_file())]
    ).expect(303)
    return response, _newest_attachment(browser, issue_id)


def _newest_attachment(browser: Browser, issue_id: int) -> int:
    """The issue's newest attachment, read from its page (as a person would find it)."""
    page = browser.get(f"/issues/{issue_id}").expect(200)
    marker = 'id="attachment-'
    ids = [int(part.split('"', 1)[0]) for part in page.text.split(marker)[1:]]
    if not ids:
        raise BenchFailure(f"issue {issue_id} lists no attachment after the upload")
    return max(ids)


def _record(work: Workload, name: str, **facts) -> None:
    with work._lock:
        work.notes.setdefault(name, []).append(facts)


def _attach_step(name: str, s3: bool):
    """Time the upload; delete the file afterwards (untimed)."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        client, target = _target(browser, work, s3)
        issue_id = work.fresh_issue()
        memory = PeakMemory(target)
        response, attachment_id = _upload(client, issue_id)
        _record(work, name, **memory.read())
        client.post(f"/attachments/{attachment_id}/delete", {"csrf_token": client.csrf_token}).expect(303)
        return response

    return step


def _download_step(name: str, s3: bool):
    """Time reading the whole file (for S3: the app's redirect, then the bucket's answer)."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        client, target = _target(browser, work, s3)
        with _lock:
            if name not in _state:
                issue_id = work.fresh_issue()
                _state[name] = _upload(client, issue_id)[1]
        path = f"/files/{_state[name]}/bench.log"
        memory = PeakMemory(target)
        response, size, _lines = client.download(path)
        elapsed = response.elapsed
        if s3:
            response.expect(302)
            size, seconds = _fetch(response.headers["Location"])
            elapsed += seconds
        else:
            response.expect(200)
        _record(work, name, **memory.read())
        if size != SIZE:
            raise BenchFailure(f"{path}: {size:,} bytes read, expected {SIZE:,}")
        return Response("GET", path, 200, {}, "", elapsed)

    return step


def _fetch(url: str) -> tuple[int, float]:
    """GET a presigned link, reading the body a piece at a time: (bytes, seconds)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=server.WORKER_TIMEOUT_SECONDS)
    started = time.perf_counter()
    connection.request("GET", parts.path + "?" + parts.query)
    answer = connection.getresponse()
    if answer.status != 200:
        raise BenchFailure(f"the presigned link answered {answer.status}")
    size = 0
    while chunk := answer.read(1 << 16):
        size += len(chunk)
    connection.close()
    return size, time.perf_counter() - started


def _summary(name: str):
    """The largest worker growth and peak over the timed runs, against the 10 MB target."""

    def probe(work: Workload) -> dict:
        first, *runs = [r for r in work.notes.get(name, []) if r] or [{}]
        if not runs:
            return {}
        growth = max(r["growth_mb"] for r in runs)
        return {
            "file_mb": round(SIZE / (1024 * 1024), 1),
            "peak_worker_rss_mb": round(max(r["peak_mb"] for r in runs), 1),
            "worker_growth_mb": round(growth, 1),
            "worker_growth_mb_median": round(statistics.median(r["growth_mb"] for r in runs), 1),
            # The warm-up: the worker's first file also loads what storing needs (boto3 for S3, once per worker).
            "first_request_growth_mb": round(first.get("growth_mb", 0), 1),
            "peak_target_met": "yes" if growth < GROWTH_TARGET_MB else "no",  # read by Result.target_met
        }

    return probe


HEAVY = Limits(warmup=1, requests=5, concurrency=0, concurrent_requests=0)
_HOW = "; memory: the serving worker's peak RSS less its size before (target: under 10 MB of growth)"

for _name, _s3 in (("attach_25mb_local", False), ("attach_25mb_s3", True)):
    scenario(
        _name,
        "POST /issues/<id>/attachments (multipart, one 25 MB log)" + (" into S3 (moto)" if _s3 else " to local disk"),
        expect=(303,),
        target_median_ms=None,
        target_p95_ms=None,
        note="the file is checked, hashed and stored a chunk at a time, then deleted (untimed)" + _HOW,
        limits=HEAVY,
        probe=_summary(_name),
    )(_attach_step(_name, _s3))

for _name, _s3 in (("download_25mb_local", False), ("download_25mb_s3", True)):
    scenario(
        _name,
        "GET /files/<id>/bench.log, 25 MB" + (" (302 to a presigned link, then the bucket)" if _s3 else " from disk"),
        expect=(200,),
        target_median_ms=None,
        target_p95_ms=None,
        note="read whole by the client" + _HOW,
        limits=HEAVY,
        probe=_summary(_name),
    )(_download_step(_name, _s3))

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # boto3 in this process never asks for an instance role
