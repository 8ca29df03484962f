"""A small thread-safe pool of logged-in connections to one home ILS
(``identity.patrons.connectors.connection_pool``, whose rules it follows).

A caller waits up to ``wait_s`` for a free slot; once it has one, the connect, login, status and
its own work share one deadline, ``budget_s`` from then. A connection is reusable after a clean
exchange (no resend was needed, the ILS did not close it); an idle one on which anything arrived
(stale bytes) is not fit for use. After a failure on a new connection a PIN is never sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from identity.patrons.connectors import connection_pool
from identity.patrons.connectors.sip2.client import Connection
from identity.patrons.connectors.sip2.errors import Busy, NotSent

T = TypeVar("T")

SIZE = 8
MAX_IDLE_S = 60.0  # ILSes close idle SIP2 sessions; do not keep older ones


class Pool(connection_pool.Pool[Connection]):
    def __init__(
        self,
        *,
        size: int = SIZE,
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            size=size, max_idle_s=max_idle_s, peer="the ILS", busy=Busy, not_sent=NotSent,
            clock=clock,
        )  # fmt: skip

    def run(  # type: ignore[override]
        self,
        connect: Callable[[float], Connection],
        work: Callable[[Connection, float], T],
        *,
        wait_s: float,
        budget_s: float,
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``."""
        return super().run(
            connect, work, wait_s=wait_s, deadline=lambda: time.monotonic() + budget_s
        )
