"""What the hub counts, for Prometheus (``GET /metrics``, docs/operations.md, Monitoring).

Under ``hub serve`` every worker process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (made, and emptied, by ``hub serve``), and ``/metrics`` answers
with the sum over every worker, whichever of them is asked. Without that directory (a test's
app, one process) the values are this process's own.

Labels are bounded: a route is its template (``/api/v1/libraries/{library}``), never the path
asked; a library is one named in the agreements; an outcome is one of a few words.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
POOL_SAMPLE_S = 5.0
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: request latency buckets (seconds): the eligibility API answers in milliseconds, a sign-in
#: waits for its home library
LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Histogram(
    "hub_http_request_duration_seconds",
    "Requests answered, by route template, method and status, and how long they took.",
    ("route", "method", "status"),
    buckets=LATENCY,
)
SIGN_INS = Counter(
    "hub_sign_ins",
    "Sign-ins, with a card and PIN or at the library's identity provider, by outcome "
    "(signed_in, wrong, locked_out, unavailable, refused) and home library.",
    ("outcome", "home_library"),
)
ELIGIBILITY = Counter(
    "hub_eligibility_answers",
    "Eligibility questions answered, by outcome (eligible, not_eligible, or the problem).",
    ("outcome",),
)
CONNECTOR_CALLS = Histogram(
    "hub_connector_call_duration_seconds",
    "Calls to a home library's connector, by library and outcome (ok, unavailable, busy, "
    "error), and how long they took (waiting for a turn included).",
    ("library", "outcome"),
    buckets=LATENCY,
)
BREAKER_OPEN = Gauge(
    "hub_connector_breaker_open",
    "1 while a home library's circuit breaker is open in a process (calls refused at once).",
    ("library",),
    multiprocess_mode="max",
)
RATE_LIMITED = Counter(
    "hub_rate_limit_refusals",
    "Requests refused for a rate or guessing limit: eligibility, sign_in, admin_sign_in.",
    ("limit",),
)
DATABASE_CONNECTIONS = Gauge(
    "hub_database_connections",
    "Database connections held by the hub's processes, by state (in_use, idle).",
    ("state",),
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR) or None


def exposition() -> bytes:
    """Every metric in Prometheus' text format: the sum over every worker when they share a
    directory, else this process's own."""
    directory = multiprocess_dir()
    if directory is None:
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_ended() -> None:
    """Forget this process's live gauges (the database connections it held)."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


async def sample_pool(engine: Any, every_s: float = POOL_SAMPLE_S) -> None:
    """Set ``hub_database_connections`` from ``engine``'s pool every ``every_s``, until
    cancelled (read from the pool, so requests pay nothing for it)."""
    in_use, idle = DATABASE_CONNECTIONS.labels("in_use"), DATABASE_CONNECTIONS.labels("idle")
    while True:
        pool = engine.pool
        if hasattr(pool, "checkedout"):
            in_use.set(pool.checkedout())
            idle.set(pool.checkedin())
        await anyio.sleep(every_s)
