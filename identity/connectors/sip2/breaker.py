"""A circuit breaker per home library, so that callers of an ILS that is down get their 503 at
once instead of each waiting for a timeout.

Closed: calls go through; ``failures`` failures in a row open it. Open: for ``cooldown_s``
seconds no call goes through, and ``remaining()`` says how long is left (the ``Retry-After``).
After the cool-down calls go through again, but the first failure opens it again at once; a
success closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FAILURES = 3
COOLDOWN_S = 30.0


class Breaker:
    def __init__(
        self,
        *,
        failures: int = FAILURES,
        cooldown_s: float = COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._open_until: float | None = None

    def remaining(self) -> float | None:
        """Seconds of cool-down left while open; None when calls may go through."""
        with self._lock:
            if self._open_until is None:
                return None
            left = self._open_until - self._clock()
            return left if left > 0 else None

    def failed(self) -> None:
        with self._lock:
            self._count += 1
            if self._count >= self.failures:
                self._open_until = self._clock() + self.cooldown_s
                self._count = self.failures - 1  # after the cool-down, one failure reopens it

    def succeeded(self) -> None:
        with self._lock:
            self._count = 0
            self._open_until = None
