"""Turns at a home library, so that a slow or unreachable one stalls no other request.

A connector's calls block (sockets, the database), so they run in threads. Every request that
asks a home library first takes one of that library's turns, waiting without a thread, and only
then runs its blocking call, in a thread of the library's own limiter (never the shared pool that
every other endpoint uses). Per library and per process:

- at most ``concurrency`` calls at once: a SIP2 or LDAP library's ``connections`` (its pool),
  8 for a ``registry`` library;
- at most ``queue`` more waiting for a turn (``HUB_HOME_LIBRARY_QUEUE``); a request beyond
  them is refused at once;
- each waits at most ``wait_s`` (``HUB_HOME_LIBRARY_WAIT_S``, and never longer than the
  connector's ``timeout_s``); then it is refused.

A refusal is ``HomeLibraryBusy``, a ``HomeLibraryUnavailable`` with ``Retry-After: 1`` (the hub
is busy, not the home library: it does not count against the breaker). A library's gate follows
its settings: when its ``connections`` or ``timeout_s`` change, later requests queue at a new
gate, and those already admitted finish at the old one.

Connection tests from the admin pages and API go through a gate of their own per library (one
at a time, at most two waiting, fixed whatever settings are being tried), so that trying unsaved
settings never takes the patrons' turns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread

import policies
from identity import metrics
from identity.patrons.connectors import HomeLibraryUnavailable
from policies.model import LdapConnector as LdapSettings
from policies.model import Sip2Connector as Sip2Settings

T = TypeVar("T")

REGISTRY_CONCURRENCY = 8  # the registry's lookups and PIN checks; about the database's pool
TEST_CONCURRENCY, TEST_QUEUE = 1, 2  # connection tests by administrators, per library
BUSY_RETRY_S = 1


class HomeLibraryBusy(HomeLibraryUnavailable):
    """Too many questions for the library are being asked or waiting in this process; its
    message says which, and may be shown to the partner system that asked."""


@dataclass(frozen=True, slots=True)
class Limits:
    concurrency: int
    queue: int
    wait_s: float


class Gate:
    """The turns at one home library; created and used on one event loop. Turns are an anyio
    ``CapacityLimiter``, which hands a turn that ends to the first in line (first come, first
    served)."""

    def __init__(self, library: str, limits: Limits) -> None:
        self.library = library
        self.limits = limits
        self._turns = anyio.CapacityLimiter(limits.concurrency)
        self._threads = anyio.CapacityLimiter(limits.concurrency)  # never waited for: see run

    @property
    def busy(self) -> int:
        """Calls under way."""
        return self._turns.borrowed_tokens

    @property
    def waiting(self) -> int:
        return self._turns.statistics().tasks_waiting

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` in a thread of this library's own, once it is this request's turn; or
        ``HomeLibraryBusy`` when too many are waiting or the wait is too long. Counted in
        ``hub_connector_call_duration_seconds`` by how it ended."""
        started, outcome = time.perf_counter(), "error"
        try:
            result = await self._run(call)
            outcome = "ok"
            return result
        except HomeLibraryBusy:
            outcome = "busy"
            raise
        except HomeLibraryUnavailable:
            outcome = "unavailable"
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.CONNECTOR_CALLS.labels(self.library, outcome).observe(elapsed)

    async def _run(self, call: Callable[[], T]) -> T:
        limits = self.limits
        if not self._turns.available_tokens and self.waiting >= limits.queue:
            raise HomeLibraryBusy(
                self.library,
                f"{limits.concurrency} questions are being asked and {self.waiting} are waiting",
                retry_after=BUSY_RETRY_S,
            )
        try:
            with anyio.fail_after(limits.wait_s):
                await self._turns.acquire()
        except TimeoutError:
            raise HomeLibraryBusy(
                self.library,
                f"no turn within {limits.wait_s:g} s ({limits.concurrency} questions at once)",
                retry_after=BUSY_RETRY_S,
            ) from None
        try:
            # not cancellable once started: the turn ends when the thread is done
            return await anyio.to_thread.run_sync(call, limiter=self._threads)
        finally:
            self._turns.release()


class Gates:
    """Every home library's gate, for one running hub (one event loop)."""

    def __init__(self, *, queue: int, wait_s: float) -> None:
        self.queue = queue
        self.wait_s = wait_s
        self._gates: dict[str, Gate] = {}
        self._tests: dict[str, Gate] = {}

    def limits(self, library: policies.Library) -> Limits:
        connector = library.connector
        if isinstance(connector, Sip2Settings | LdapSettings):
            return Limits(connector.connections, self.queue, min(self.wait_s, connector.timeout_s))
        return Limits(REGISTRY_CONCURRENCY, self.queue, self.wait_s)

    def gate(self, library: policies.Library) -> Gate:
        limits = self.limits(library)
        gate = self._gates.get(library.id)
        if gate is None or gate.limits != limits:
            gate = self._gates[library.id] = Gate(library.id, limits)
        return gate

    async def run(self, library: policies.Library, call: Callable[[], T]) -> T:
        """``call()`` (which asks ``library``'s connector) when it is this request's turn."""
        return await self.gate(library).run(call)

    async def test(self, library: policies.Library, call: Callable[[], T]) -> T:
        """``call()`` for an administrator's connection test of ``library`` (perhaps with
        settings not yet saved): one at a time per library, beside the patrons' turns."""
        gate = self._tests.get(library.id)
        if gate is None:
            limits = Limits(TEST_CONCURRENCY, TEST_QUEUE, self.wait_s)
            gate = self._tests[library.id] = Gate(library.id, limits)
        return await gate.run(call)
