"""What other processes (and this one) have changed, for what a process holds in memory.

Triggers count every insert, update and delete of the tables that processes cache
(``change_counter``: ``clients``, ``keys``, ``revocations``), whoever makes the change: a hub
instance, the ``hub`` command, an operator's SQL. ``Changes.sync`` answers once every change
committed *before it was called* has been seen: it waits for one read of the counters that
starts after the call, and a counter that moved empties the caches that follow it
(``on_change``). One thread per process makes that read, for every request waiting at the
time, so that a busy process makes one read for many requests and an idle one none.

A read that fails (the database cannot be reached) answers False: a caller then reads the
database itself, and fails as it would have without a cache. After a failure, every cache is
emptied at the next read that succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

TOPICS = ("clients", "keys", "revocations")


class _Round:
    """One read of the counters, and who waits for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[bool]]] = {}


class Changes:
    def __init__(self, engine: Engine, *, wait_s: float) -> None:
        self._engine = engine
        self._wait_s = wait_s  # the longest a caller waits for a read
        self._guard = threading.Lock()
        self._wake = threading.Condition(self._guard)
        self._next = _Round()
        self._wanted = False
        self._idle = False  # the thread waits for a caller
        self._closed = False
        self._thread: threading.Thread | None = None
        self._connection: Any = None  # a DB-API connection of its own, outside the pool
        self._seen: dict[str, int] | None = None  # None: nothing read yet, or the last read failed
        self._failing = False
        self._followers: dict[str, list[Callable[[], None]]] = {topic: [] for topic in TOPICS}

    def on_change(self, topic: str, forget: Callable[[], None]) -> None:
        """Call ``forget`` whenever ``topic`` may have changed."""
        self._followers[topic].append(forget)

    def sync(self) -> bool:
        """(Blocking, for worker threads.) Whether every change committed before this call has
        been seen; False if the counters could not be read."""
        round_ = self._ask()
        return round_.done.wait(self._wait_s) and round_.ok

    async def synced(self) -> bool:
        """``sync`` for the event loop: the read is made in this object's thread (which always
        answers: a read cannot take longer than the database's connect timeout)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._guard:
            if self._closed:
                return False
            self._next.waiting.setdefault(loop, []).append(future)
            self._want()
        return await future

    def close(self) -> None:
        with self._guard:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=self._wait_s + 5)

    # --- the reading thread --------------------------------------------------------------

    def _ask(self) -> _Round:
        with self._guard:
            round_ = self._next
            if self._closed:
                round_ = _Round()
                round_.done.set()
                return round_
            self._want()
            return round_

    def _want(self) -> None:
        """(Under the guard.) Have the next round read, starting or waking the thread."""
        self._wanted = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-changes", daemon=True)
            self._thread.start()
        elif self._idle:
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._guard:
                while not self._wanted and not self._closed:
                    self._idle = True
                    self._wake.wait()
                    self._idle = False
                if self._closed:
                    self._finish(self._next, ok=False)
                    break
                round_, self._next, self._wanted = self._next, _Round(), False
            self._finish(round_, ok=self._read())
        if self._connection is not None:
            self._connection.close()

    def _read(self) -> bool:
        """Read the counters (every change committed before now is counted), and empty the
        caches that follow a counter that moved."""
        try:
            if self._connection is None:
                self._connection = _autocommit(self._engine)
            cursor = self._connection.cursor()
            try:
                cursor.execute("SELECT topic, version FROM change_counter")
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except Exception as exc:
            if not self._failing:  # once per outage, not once per read
                log.warning("cannot read what changed (%s): no cache is used until it can", exc)
            self._failing = True
            self._seen = None
            self._forget(TOPICS)
            if self._connection is not None:
                try:
                    self._connection.close()
                except Exception:  # a connection that broke may not close cleanly
                    pass
                self._connection = None
            return False
        versions = {str(topic): int(version) for topic, version in rows}
        seen = self._seen
        if self._failing:
            log.warning("what changed can be read again: caches are used again")
            self._failing = False
        self._forget([t for t in TOPICS if seen is None or seen.get(t) != versions.get(t)])
        self._seen = versions
        return True

    def _forget(self, topics: Any) -> None:
        for topic in topics:
            for forget in self._followers[topic]:
                forget()

    @staticmethod
    def _finish(round_: _Round, *, ok: bool) -> None:
        round_.ok = ok
        round_.done.set()
        for loop, futures in round_.waiting.items():
            try:
                loop.call_soon_threadsafe(_resolve, futures, ok)
            except RuntimeError:  # that loop has closed
                pass


def _autocommit(engine: Engine) -> Any:
    """A DB-API connection of the engine's, taken out of its pool, each statement its own
    transaction (so that every read sees the latest commits)."""
    pooled = engine.raw_connection()
    connection = pooled.driver_connection
    pooled.detach()
    if engine.dialect.name == "sqlite":
        connection.isolation_level = None  # type: ignore[union-attr]
    else:
        connection.autocommit = True  # type: ignore[union-attr]
    return connection


def _resolve(futures: list[asyncio.Future[bool]], ok: bool) -> None:
    for future in futures:
        if not future.done():
            future.set_result(ok)
