"""A small thread-safe pool of open connections to one directory.

At most ``size`` connections are open at once. A caller waits for a free slot until its
``deadline`` and then gets ``Busy`` (the hub is busy, not the directory: it does not count
against the breaker). ``connect(deadline)`` opens a new connection (and binds the service
account, for the service pool); ``work(connection, deadline)`` uses it; both run to the
caller's one deadline.

A connection goes back to the pool only after work that left it ``reusable``: after any error it
is closed, and the next caller opens a new one. Taking an idle connection checks it without
waiting: one idle longer than ``max_idle_s``, or on which anything arrived (a notice of
disconnection) or which the directory has closed, is closed and the next one is tried. If a
reused connection still turns out to be closed while a request is being sent (``NotSent``: the
directory cannot have read it), the work is done once more on a new connection; after any later
failure it is not, so a password is never sent twice.

``close()`` closes the idle connections and marks the pool closed: connections in use are closed
when their caller is done. ``sweep()`` closes connections idle too long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from identity.patrons.connectors.ldap.client import Connection
from identity.patrons.connectors.ldap.errors import Busy, NotSent

T = TypeVar("T")

MAX_IDLE_S = 60.0  # Active Directory drops idle connections after 900 s; keep none that old


class Pool:
    def __init__(
        self,
        *,
        size: int,
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
        deadline: float,
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``."""
        if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise Busy(f"all {self.size} connections to the directory are busy")
        try:
            reused = self._take()
            if reused is not None:
                try:
                    return self._use(reused, work, deadline)
                except NotSent:
                    pass  # closed by the directory while idle, before it read anything
            return self._use(connect(deadline), work, deadline)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()

    def sweep(self) -> None:
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
        self.sweep()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()[0]
            if connection.idle_ok():
                return connection
            connection.close()
