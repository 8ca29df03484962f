"""A small thread-safe pool of open connections to one home library's system (its ILS over
SIP2, its directory over LDAP): the mechanism ``sip2.pool`` and ``ldap.pool`` share.

At most ``size`` connections are open at once. A caller waits up to ``wait_s`` for a free slot
and then gets the protocol's ``Busy`` (the hub is busy, not the library: it does not count
against the breaker). ``connect(deadline)`` opens a new connection and ``work(connection,
deadline)`` uses one, both to the same deadline.

A connection goes back to the pool only after work that left it ``reusable``: after any error
it is closed, and the next caller opens a new one. Taking an idle connection checks it without
waiting (``idle_ok()``): one idle longer than ``max_idle_s``, or no longer fit, is closed and the
next one is tried. If a reused connection still turns out to be closed while a request is being
sent (the protocol's ``NotSent``: the library cannot have read it), the work is done once more
on a new connection; after any later failure it is not, so a PIN or password is never sent
twice.

``close()`` closes the idle connections and marks the pool closed: connections in use are closed
when their caller is done. ``sweep()`` closes connections idle too long, without taking one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Pooled(Protocol):
    """What the pool needs of a connection."""

    @property
    def reusable(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    def idle_ok(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Pooled)


class Pool(Generic[C]):
    def __init__(
        self,
        *,
        size: int,
        max_idle_s: float,
        peer: str,
        busy: Callable[[str], Exception],
        not_sent: type[Exception],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self._max_idle_s = max_idle_s
        self._peer = peer  # "the ILS", "the directory": for the Busy message
        self._busy = busy
        self._not_sent = not_sent
        self._clock = clock
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[C, float]] = []
        self.closed = False

    def run(
        self,
        connect: Callable[[float], C],
        work: Callable[[C, float], T],
        *,
        wait_s: float,
        deadline: Callable[[], float],
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``, to the
        ``deadline()`` read once a slot is had."""
        if not self._slots.acquire(timeout=max(0.0, wait_s)):
            raise self._busy(f"all {self.size} connections to {self._peer} are busy")
        try:
            until = deadline()
            reused = self._take()
            if reused is not None:
                try:
                    return self._use(reused, work, until)
                except self._not_sent:
                    pass  # closed by the library while idle, before it read anything
            return self._use(connect(until), work, until)
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

    def _use(self, connection: C, work: Callable[[C, float], T], deadline: float) -> T:
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

    def _take(self) -> C | None:
        """The most recently used idle connection still fit for use; the others on the way
        are closed."""
        self.sweep()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()[0]
            if connection.idle_ok():
                return connection
            connection.close()
