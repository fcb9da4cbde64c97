"""Run a scenario: warm-up, timed requests one at a time (latency), then concurrent clients (throughput).

Each phase also stops at a time budget, so a slow scenario cannot stretch the run beyond a few minutes.
"""

from __future__ import annotations

import http.client
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .browser import BenchFailure, Browser
from .scenarios import Limits, Scenario, Workload


@dataclass
class Settings:
    """How much to measure."""

    warmup: int = 30
    requests: int = 300
    concurrency: int = 4
    concurrent_requests: int = 400
    phase_seconds: float = 60.0
    seed: int = 1

    def limited(self, limits: Limits) -> Settings:
        """These settings with a scenario's caps applied."""
        capped = {
            name: min(getattr(self, name), cap)
            for name in ("warmup", "requests", "concurrency", "concurrent_requests")
            if (cap := getattr(limits, name)) is not None
        }
        return replace(self, **capped)


@dataclass
class Tally:
    """What went wrong in a scenario, across its threads: failed requests (first few kept), time running out."""

    failures: int = 0
    messages: list[str] = field(default_factory=list)
    cut_short: bool = False  # a phase hit the time budget before its request count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, message: str) -> None:
        """Count one failed request."""
        with self.lock:
            self.failures += 1
            if len(self.messages) < 5 and message not in self.messages:  # the first few distinct ones
                self.messages.append(message)


@dataclass
class Result:
    """A scenario's measurements; latencies in seconds."""

    scenario: Scenario
    latencies: list[float]
    loaded_latencies: list[float]
    throughput: float
    tally: Tally
    settings: Settings
    details: dict = field(default_factory=dict)  # the scenario's probe facts

    @property
    def median_ms(self) -> float | None:
        """Median latency, one request at a time."""
        return percentile_ms(self.latencies, 50)

    @property
    def p95_ms(self) -> float | None:
        """95th percentile latency, one request at a time."""
        return percentile_ms(self.latencies, 95)

    @property
    def loaded_median_ms(self) -> float | None:
        """Median latency under concurrent clients."""
        return percentile_ms(self.loaded_latencies, 50)

    @property
    def loaded_p95_ms(self) -> float | None:
        """95th percentile latency under concurrent clients."""
        return percentile_ms(self.loaded_latencies, 95)

    @property
    def target_met(self) -> bool | None:
        """Both latency targets (and a probe's peak memory target) met and no request failed; None: no target."""
        median, p95 = self.scenario.target_median_ms, self.scenario.target_p95_ms
        peak = self.details.get("peak_target_met")
        if median is None and p95 is None and peak is None:
            return None if not self.tally.failures else False
        return (
            not self.tally.failures
            and self.median_ms is not None
            and (median is None or self.median_ms < median)
            and (p95 is None or self.p95_ms < p95)
            and peak in (None, "yes")
        )

    def as_dict(self) -> dict:
        """The figures for the JSON report."""
        return {
            "scenario": self.scenario.name,
            "request": self.scenario.request,
            "median_ms": _rounded(self.median_ms),
            "p95_ms": _rounded(self.p95_ms),
            "throughput_rps": round(self.throughput, 1),
            "loaded_median_ms": _rounded(self.loaded_median_ms),
            "loaded_p95_ms": _rounded(self.loaded_p95_ms),
            "timed_requests": len(self.latencies) + len(self.loaded_latencies),
            "failures": self.tally.failures,
            "failure_messages": self.tally.messages,
            "cut_short": self.tally.cut_short,
            "target_median_ms": self.scenario.target_median_ms,
            "target_p95_ms": self.scenario.target_p95_ms,
            "target_met": self.target_met,
            "note": self.scenario.note,
            "requests_per_phase": {
                "warmup": self.settings.warmup,
                "serial": self.settings.requests,
                "concurrency": self.settings.concurrency,
                "concurrent": self.settings.concurrent_requests,
            },
            "details": self.details,
        }


def _rounded(value: float | None) -> float | None:
    """Two decimals, for the report."""
    return None if value is None else round(value, 2)


def percentile_ms(seconds: list[float], percent: int) -> float | None:
    """The `percent`th percentile in milliseconds, interpolated between closest ranks; None without values."""
    if not seconds:
        return None
    if len(seconds) == 1:
        return seconds[0] * 1000
    return statistics.quantiles(seconds, n=100, method="inclusive")[percent - 1] * 1000


def repeat(
    scenario: Scenario,
    browser: Browser,
    work: Workload,
    rng: random.Random,
    count: int,
    deadline: float,
    tally: Tally,
) -> list[float]:
    """Run the step `count` times or until `deadline`; return the latencies of answers with an expected status."""
    latencies = []
    for _ in range(count):
        if time.perf_counter() > deadline:
            tally.cut_short = True
            break
        try:
            response = scenario.step(browser, work, rng).expect(*scenario.expect)
        except (BenchFailure, http.client.HTTPException, OSError) as exc:
            tally.fail(str(exc) or type(exc).__name__)
            continue
        latencies.append(response.elapsed)
    return latencies


def run(scenario: Scenario, work: Workload, sign_in: Callable[[], Browser], settings: Settings) -> Result:
    """Measure one scenario: latency from one client, throughput from `concurrency` clients at once."""
    settings = settings.limited(scenario.limits)
    tally = Tally()
    browser = sign_in()
    rng = random.Random(settings.seed)
    repeat(scenario, browser, work, rng, settings.warmup, _deadline(settings), tally)
    serial_started = time.perf_counter()
    latencies = repeat(scenario, browser, work, rng, settings.requests, _deadline(settings), tally)
    serial_wall = time.perf_counter() - serial_started
    browser.close()
    if settings.concurrency < 1 or settings.concurrent_requests < 1:
        # One at a time only (in-process timings, imports): throughput is that of the serial phase.
        details = _probe(scenario, work, tally)
        throughput = len(latencies) / serial_wall if latencies and serial_wall > 0 else 0.0
        return Result(scenario, latencies, [], throughput, tally, settings, details)

    browsers = [sign_in() for _ in range(settings.concurrency)]
    shares = [settings.concurrent_requests // settings.concurrency] * settings.concurrency
    shares[0] += settings.concurrent_requests % settings.concurrency
    loaded: list[list[float]] = [[] for _ in browsers]
    start = threading.Barrier(len(browsers) + 1)

    def client(index: int) -> None:
        """One concurrent client: wait for the others, then run its share."""
        client_rng = random.Random(settings.seed * 1000 + index)
        start.wait()
        loaded[index] = repeat(scenario, browsers[index], work, client_rng, shares[index], deadline, tally)

    deadline = _deadline(settings)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for each in browsers:
        each.close()
    loaded_latencies = [value for share in loaded for value in share]
    details = _probe(scenario, work, tally)
    return Result(scenario, latencies, loaded_latencies, len(loaded_latencies) / wall, tally, settings, details)


def _probe(scenario: Scenario, work: Workload, tally: Tally) -> dict:
    """The scenario's probe facts (none without a probe); a failing probe counts as a failure, not fatal."""
    if scenario.probe is None:
        return {}
    try:
        return scenario.probe(work)
    except Exception as exc:  # a probe's failure is reported, not fatal to the run
        cause = f" (caused by {str(exc.__cause__).splitlines()[0][:300]})" if exc.__cause__ else ""
        tally.fail(f"probe: {type(exc).__name__}: {exc}{cause}")
        return {}


def _deadline(settings: Settings) -> float:
    """When a phase starting now must stop."""
    return time.perf_counter() + settings.phase_seconds
