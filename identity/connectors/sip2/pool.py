"""A small thread-safe pool of logged-in connections to one home ILS.

At most ``size`` connections are open at once; a caller waits up to ``wait_s`` for one. A
connection goes back to the pool only after a clean exchange: after any error it is closed and
the next caller opens a new one (and logs in again). An idle connection the ILS has closed in the
meantime (it is found ``Dropped`` before any reply arrives) is replaced once, at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from identity.connectors.sip2.client import Connection
from identity.connectors.sip2.errors import Dropped, Unreachable

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

    def run(
        self,
        connect: Callable[[], Connection],
        work: Callable[[Connection], T],
        *,
        wait_s: float,
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``."""
        if not self._slots.acquire(timeout=wait_s):
            raise Unreachable(f"all {self.size} connections to the ILS are busy")
        try:
            reused = self._take()
            if reused is not None:
                try:
                    return self._use(reused, work)
                except Dropped:
                    pass  # closed by the ILS while idle: once more, on a new connection
            return self._use(connect(), work)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Close the idle connections (those in use close when their caller is done)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def _use(self, connection: Connection, work: Callable[[Connection], T]) -> T:
        try:
            result = work(connection)
        except BaseException:
            connection.close()
            raise
        with self._lock:
            self._idle.append((connection, self._clock()))
        return result

    def _take(self) -> Connection | None:
        """The most recently used idle connection; those idle too long are closed."""
        with self._lock:
            now = self._clock()
            stale = [c for c, since in self._idle if now - since > self._max_idle_s]
            self._idle = [(c, since) for c, since in self._idle if now - since <= self._max_idle_s]
            found = self._idle.pop()[0] if self._idle else None
        for connection in stale:
            connection.close()
        return found
