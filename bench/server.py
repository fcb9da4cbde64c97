"""Serve the app with gunicorn through wsgi.py, as in production, for the length of a benchmark."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_SECONDS = 30


def default_workers() -> int:
    """Gunicorn's usual advice: two workers per core, plus one."""
    return 2 * (os.cpu_count() or 2) + 1


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def serve(database_url: str, workers: int) -> Iterator[int]:
    """Run gunicorn on a free port until the block ends; yield the port once the app answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TRACKER_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "SESSION_COOKIE_SECURE": "0",  # plain http on loopback
    }
    command = [str(Path(sys.executable).parent / "gunicorn"), "wsgi:app", "-w", str(workers), "-b", f"{HOST}:{port}"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(process, port, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen, port: int, log) -> None:
    """Poll the sign-in page until it answers; raise with gunicorn's output if it exits or never answers."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.2)
    log.seek(0)
    output = log.read().decode("utf-8", "replace")[-3000:]
    raise RuntimeError(f"gunicorn did not answer on port {port} within {STARTUP_SECONDS} s:\n{output}")
