"""A small thread-safe pool of logged-in connections to one home ILS.

At most ``size`` connections are open at once. A caller waits up to ``wait_s`` for a free slot
and then gets ``Busy`` (the hub is busy, not the ILS: it does not count against the breaker).
Once it has a slot, the connect, login, status and its own work share one deadline,
``budget_s`` from then: ``connect(deadline)`` and ``work(connection, deadline)``.

A connection goes back to the pool only after a clean exchange that left it ``reusable`` (no
resend was needed, the ILS did not close it): after any error it is closed and the next caller
opens a new one (and logs in again). Taking an idle connection checks it without waiting: one
idle longer than ``max_idle_s``, or on which anything arrived (stale bytes) or which the ILS has
closed, is closed and the next one is tried. If a reused connection still turns out to be closed
while the request is being sent (``NotSent``: the ILS cannot have read it), the work is done
once more on a new connection; after any later failure it is not, so a PIN is never sent twice.

``close()`` closes the idle connections and marks the pool closed: connections in use go back
to no one, they are closed when their caller is done. ``sweep()`` closes idle connections that
have been idle too long, without taking one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from identity.patrons.connectors.sip2.client import Connection
from identity.patrons.connectors.sip2.errors import Busy, NotSent

T = TypeVar("T")

SIZE = 8
MAX_IDLE_S = 60.0  # ILSes close idle SIP2 sessions; do not keep older ones


class Pool:
    def __init__(
        self,
        *,
        size: int = SIZE,
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self._max_idle_s = max_idle_s
        self._clock = clock
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[Connection, float]] = []
        self.closed = False

    def run(
        self,
        connect: Callable[[float], Connection],
        work: Callable[[Connection, float], T],
        *,
        wait_s: float,
        budget_s: float,
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``."""
        if not self._slots.acquire(timeout=wait_s):
            raise Busy(f"all {self.size} connections to the ILS are busy")
        try:
            deadline = time.monotonic() + budget_s
            reused = self._take()
            if reused is not None:
                try:
                    return self._use(reused, work, deadline)
                except NotSent:
                    pass  # closed by the ILS while idle, before it read anything: a new one
            return self._use(connect(deadline), work, deadline)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Close the idle connections; those in use close when their caller is done."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()

    def sweep(self) -> None:
        """Close the connections idle longer than ``max_idle_s``."""
        with self._lock:
            now = self._clock()
            stale = [c for c, since in self._idle if now - since > self._max_idle_s]
            self._idle = [(c, since) for c, since in self._idle if now - since <= self._max_idle_s]
        for connection in stale:
            connection.close()

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def _use(
        self, connection: Connection, work: Callable[[Connection, float], T], deadline: float
    ) -> T:
        try:
            result = work(connection, deadline)
        except BaseException:
            connection.close()
            raise
        with self._lock:
            keep = connection.reusable and not connection.closed and not self.closed
            if keep:
                self._idle.append((connection, self._clock()))
        if not keep:
            connection.close()
        return result

    def _take(self) -> Connection | None:
        """The most recently used idle connection still fit for use; the others on the way
        (idle too long, stale bytes, closed by the ILS) are closed."""
        self.sweep()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()[0]
            if connection.idle_ok():
                return connection
            connection.close()
