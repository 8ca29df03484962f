"""A circuit breaker per home library, so that callers of an ILS that is down get their 503 at
once instead of each waiting for a timeout.

Closed: calls go through; ``failures`` failures in a row open it. Open: for ``cooldown_s``
seconds no call goes through, and ``admit()`` says how long is left (the ``Retry-After``).
Half-open (the cool-down is over): exactly one caller, the trial, goes through; every other
caller is turned away at once (``TRIAL_WAIT_S``) until the trial reports. A failed trial opens
the breaker again for a full cool-down; a successful one closes it; a trial that ended with no
verdict (``released()``: the hub was busy, or the call ended without reaching the ILS) lets the
next caller be the trial.

A caller that ``admit()`` let through must report exactly one of ``succeeded()``,
``failed()`` or ``released()``. Only failures of the ILS itself (unreachable, dropped, no answer
in time, a garbled or out-of-step reply, a refused login) are ``failed()``. ``guard()`` does all
of that for one question, for the SIP2 and LDAP connectors alike.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from identity import logs, metrics
from identity.patrons.connectors import HomeLibraryUnavailable

T = TypeVar("T")

FAILURES = 3
COOLDOWN_S = 30.0
log = logs.get("hub.breaker")
TRIAL_WAIT_S = 1.0  # the Retry-After of callers turned away while a trial call is under way
BUSY_RETRY_S = 1  # every connection to the library's system was in use
BAD_RECORD_RETRY_S = 60  # one patron's record the hub cannot read is not fixed in seconds


@dataclass(frozen=True, slots=True)
class Admission:
    wait: float | None  # None: go ahead; otherwise the seconds to wait before trying again
    trial: bool = False  # whether this caller is the half-open state's one trial


class Breaker:
    def __init__(
        self,
        *,
        failures: int = FAILURES,
        cooldown_s: float = COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
        library: str = "",
    ) -> None:
        self.library = library  # named in the log and hub_connector_breaker_open
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._open_until: float | None = None
        self._trial = False  # whether the one trial call of the half-open state is under way

    def remaining(self) -> float | None:
        """Seconds of cool-down left while open; None once the cool-down is over."""
        with self._lock:
            if self._open_until is None:
                return None
            left = self._open_until - self._clock()
            return left if left > 0 else None

    def admit(self) -> Admission:
        """Whether the caller may ask the ILS now (it must then report how it went), or how
        long it should wait before trying again."""
        with self._lock:
            if self._open_until is None:
                return Admission(None)
            left = self._open_until - self._clock()
            if left > 0:
                return Admission(left)
            if self._trial:
                return Admission(TRIAL_WAIT_S)
            self._trial = True
            return Admission(None, trial=True)

    @property
    def trying(self) -> bool:
        """Whether the half-open state's trial call is under way."""
        with self._lock:
            return self._trial

    def failed(self) -> None:
        with self._lock:
            self._count += 1
            self._trial = False
            now = self._clock()
            failing = self._count >= self.failures
            # said once, not again for a late failure of a call admitted before it opened
            opened = failing and (self._open_until is None or self._open_until <= now)
            if failing:
                self._open_until = now + self.cooldown_s
                self._count = self.failures - 1  # after the cool-down, one failure reopens it
        if opened:
            self._changed("opened")

    def succeeded(self) -> None:
        with self._lock:
            closed = self._open_until is not None
            self._count = 0
            self._open_until = None
            self._trial = False
        if closed:
            self._changed("closed")

    def _changed(self, state: str) -> None:
        if self.library:
            metrics.BREAKER_OPEN.labels(self.library).set(1 if state == "opened" else 0)
            logs.event(log, f"breaker {state}", library=self.library, cooldown_s=self.cooldown_s)

    def released(self, admission: Admission) -> None:
        """The caller ends without a verdict on the ILS: if it was the trial, the next caller
        may be the trial."""
        if admission.trial:
            with self._lock:
                self._trial = False

    def guard(
        self,
        ask: Callable[[], T],
        *,
        library: str,
        peer: str,
        where: str,
        busy: type[Exception],
        bad_record: type[Exception],
        failure: type[Exception],
    ) -> T:
        """``ask()`` behind the breaker, its failures turned into ``HomeLibraryUnavailable``
        for ``library`` (``peer``: "the ILS", "the directory"; ``where``: its address, for
        the log). The hub's own pool being full (``busy``) is no verdict; one patron's record
        the hub cannot read (``bad_record``) means the library answered; any other
        ``failure`` of the library's system counts against it."""
        admission = self.admit()
        if admission.wait is not None:
            raise HomeLibraryUnavailable(
                library,
                f"{peer} did not answer lately; not asking it again yet"
                if not self.trying
                else f"{peer} did not answer lately; another request is checking it is back",
                retry_after=max(1, math.ceil(admission.wait)),
            )
        verdict = "released"
        try:
            answer = ask()
            verdict = "succeeded"
            return answer
        except busy as exc:
            raise HomeLibraryUnavailable(
                library, f"{where}: {exc}", retry_after=BUSY_RETRY_S
            ) from None
        except bad_record as exc:
            verdict = "succeeded"
            raise HomeLibraryUnavailable(
                library, f"{where}: {exc}", retry_after=BAD_RECORD_RETRY_S
            ) from None
        except failure as exc:
            verdict = "failed"
            self.failed()
            left = self.remaining() or self.cooldown_s
            raise HomeLibraryUnavailable(
                library, f"{where}: {exc}", retry_after=max(1, math.ceil(left))
            ) from None
        finally:
            if verdict == "succeeded":
                self.succeeded()
            elif verdict == "released":
                self.released(admission)
