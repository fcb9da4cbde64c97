"""Two app nodes on one PostgreSQL (issue 23, "Two app nodes, proven"): two gunicorn instances on two ports against
the benchmark's database, as two machines behind a load balancer without sticky sessions.

two_nodes_patch_read: each step reads an issue on one node, changes it on the other with the version it read (the
version check across nodes), and reads it again on the first node, which must show the new version at once (nothing
is cached in a node). The nodes swap roles at random, and the throughput phase's 8 clients spread over both. A step is
three requests; its time is the three together. The nodes run the README's production command with 2 workers each
(`gunicorn -k gthread -w 2 --threads 8`), so on a 2-core machine the pair has twice the processes of one node and no
more CPU: the row proves correctness under load and shows what a node costs, not a speed-up.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import random
import threading
from dataclasses import dataclass, field

from tracker.models import PRIORITIES

from . import server
from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, scenario
from .scenarios_api import _json, make_token

NODES = 2
WORKERS_PER_NODE = 2
_lock = threading.Lock()
_nodes: list[_Nodes] = []


@dataclass
class _Nodes:
    """The served nodes: their ports and the run's token (every node accepts it: tokens are rows)."""

    ports: list[int]
    token: str
    local: threading.local = field(default_factory=threading.local)

    def browser(self, node: int) -> Browser:
        """This thread's own connection to one node."""
        browsers = getattr(self.local, "browsers", None)
        if browsers is None:
            browsers = self.local.browsers = [Browser(server.HOST, port) for port in self.ports]
        return browsers[node]


def _served(work: Workload) -> _Nodes:
    """The two nodes on the benchmark's database (started once per run, stopped at exit)."""
    with _lock:
        if not _nodes:
            stack = contextlib.ExitStack()
            atexit.register(stack.close)
            ports = [stack.enter_context(server.serve(work.database_url, WORKERS_PER_NODE)).port for _ in range(NODES)]
            _nodes.append(_Nodes(ports, make_token(work.database_url, "bench-nodes")))
        return _nodes[0]


def _version(response: Response, issue_id: int) -> int:
    """The version in a GET of the issue (BenchFailure when the answer is not the issue)."""
    version = _json(response).get("version") if response.status == 200 else None
    if not isinstance(version, int):
        raise BenchFailure(f"GET /api/issues/{issue_id}: {response.status} without a version")
    return version


@scenario(
    "two_nodes_patch_read",
    "GET /api/issues/<id> on one node, PATCH it on the other, GET it again on the first",
    target_median_ms=None,
    target_p95_ms=None,
    note="two nodes of 2 gthread workers on one database; a step (timed as one) is three requests; steps/s from 8 "
    "clients",
    limits=Limits(concurrency=8),
)
def two_nodes_patch_read(_browser: Browser, work: Workload, rng: random.Random) -> Response:
    nodes = _served(work)
    issue_id = work.fresh_issue()
    reader = rng.randrange(NODES)
    writer = (reader + 1) % NODES
    path = f"/api/issues/{issue_id}"
    read = nodes.browser(reader).json("GET", path, token=nodes.token)
    version = _version(read, issue_id)
    priority = PRIORITIES[(PRIORITIES.index(_json(read)["priority"]) + 1) % len(PRIORITIES)]
    changed = nodes.browser(writer).json("PATCH", path, {"priority": priority, "version": version}, nodes.token)
    if changed.status != 200:
        return changed
    again = nodes.browser(reader).json("GET", path, token=nodes.token)
    if _version(again, issue_id) != version + 1:
        raise BenchFailure(f"node {reader} still showed version {version} of #{issue_id} after node {writer} saved")
    return dataclasses.replace(again, elapsed=read.elapsed + changed.elapsed + again.elapsed)  # the step's time
