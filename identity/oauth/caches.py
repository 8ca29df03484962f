"""What the OAuth server keeps in memory between requests: clients, signing keys and the
revoked client-credentials tokens, each emptied as soon as its table changes
(``identity.store.changes``).

A request may use them only once it has synced (``Changes.sync``/``synced``: every change
committed before the request began has been seen) and says so in ``FRESH``; any other caller,
and a request whose sync failed, reads the database as if there were no cache. A value read
from the database while its cache was being emptied is not kept, so a cache never holds what
was read before the change that emptied it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: whether the current request has synced with the database's changes (see the module)
FRESH: ContextVar[bool] = ContextVar("FRESH", default=False)


class Cache(Generic[K, V]):
    """Values by key, each read from the database at most once between two changes."""

    def __init__(self) -> None:
        self._items: dict[K, V] = {}
        self._generation = 0
        self._guard = threading.Lock()

    def forget(self) -> None:
        with self._guard:
            self._generation += 1
            self._items.clear()

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        """The value for ``key``: held, or ``load()`` (kept unless it is None, so that asking
        for what does not exist fills no memory)."""
        if not FRESH.get():
            return load()
        try:
            return self._items[key]
        except KeyError:
            pass
        generation = self._generation
        value = load()
        if value is not None:
            with self._guard:
                if generation == self._generation:
                    self._items[key] = value
        return value

    def held(self, key: K) -> V | None:
        """The value held for ``key``, without reading the database (None: not held)."""
        return self._items.get(key) if FRESH.get() else None
