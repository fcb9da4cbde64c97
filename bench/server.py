"""Serve the app with gunicorn through wsgi.py, as in production, for the length of a benchmark."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_SECONDS = 30


def default_workers() -> int:
    """Gunicorn's usual advice: two workers per core, plus one."""
    return 2 * (os.cpu_count() or 2) + 1


# Threads per gunicorn worker (gthread, as the README's production command runs it); 0: sync workers.
DEFAULT_THREADS = 8


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# The 1,000,000-row import file is ~100 MB, over the app's default 50 MB upload limit, and importing it in one
# request outlasts gunicorn's default 30 s worker timeout: the bench server raises both (settings, not code).
UPLOAD_LIMIT_MB = 512
WORKER_TIMEOUT_SECONDS = 900


def environment(database_url: str, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a production node on this database (the same for its web server and its worker)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TRACKER_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "SESSION_COOKIE_SECURE": "0",  # plain http on loopback
        "UPLOAD_LIMIT_MB": str(UPLOAD_LIMIT_MB),
        **(settings or {}),
    }


@contextmanager
def worker(database_url: str, settings: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run the background worker (`flask --app wsgi worker`, as the README's production setup runs it beside
    gunicorn) until the block ends (its output goes to a temporary file)."""
    command = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "worker"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment(database_url, settings), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """Ask the process to end (SIGTERM), and kill it if it has not within 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Served:
    """The running server: its port and the gunicorn master's process id (its workers are its children)."""

    port: int
    pid: int


@contextmanager
def serve(
    database_url: str, workers: int, threads: int = DEFAULT_THREADS, settings: dict[str, str] | None = None
) -> Iterator[Served]:
    """Run gunicorn on a free port until the block ends; yield it once the app answers. With `threads`, gthread
    workers of that many threads each (the README's production command); with 0, sync workers. `settings`: more of
    the app's environment (the attachment scenarios serve a second app that stores files in S3)."""
    port = free_port()
    env = environment(database_url, settings)
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "wsgi:app", "-w", str(workers), "-b", f"{HOST}:{port}",
        "--timeout", str(WORKER_TIMEOUT_SECONDS),
    ]
    if threads:
        command += ["-k", "gthread", "--threads", str(threads)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(process, port, log)
            yield Served(port, process.pid)
        finally:
            workers = worker_pids(process.pid)
            stop(process)
            # A worker still inside a long request (an abandoned import) outlives its master: end it, so its
            # transaction rolls back instead of committing into the data set after the run.
            for pid in workers:
                if Path(f"/proc/{pid}").exists():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


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


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's child processes."""
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def memory_kib(pid: int) -> dict[str, int]:
    """A process's resident memory now (VmRSS) and at its peak (VmHWM), in KiB; {} if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmRSS", "VmHWM")}


def reset_peaks(pids: list[int]) -> None:
    """Reset each process's peak resident memory (VmHWM) to its current size (Linux: clear_refs 5)."""
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass
