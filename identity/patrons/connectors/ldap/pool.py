"""A small thread-safe pool of open connections to one directory
(``identity.patrons.connectors.connection_pool``, whose rules it follows).

A caller waits for a free slot until its ``deadline``, and ``connect(deadline)`` (which binds the
service account, for the service pool) and ``work(connection, deadline)`` run to that same
deadline. An idle connection on which anything arrived (a notice of disconnection) is not fit for
use. After a failure on a new connection a password is never sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from identity.patrons.connectors import connection_pool
from identity.patrons.connectors.ldap.client import Connection
from identity.patrons.connectors.ldap.errors import Busy, NotSent

T = TypeVar("T")

MAX_IDLE_S = 60.0  # Active Directory drops idle connections after 900 s; keep none that old


class Pool(connection_pool.Pool[Connection]):
    def __init__(
        self,
        *,
        size: int,
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            size=size, max_idle_s=max_idle_s, peer="the directory", busy=Busy, not_sent=NotSent,
            clock=clock,
        )  # fmt: skip

    def run(  # type: ignore[override]
        self,
        connect: Callable[[float], Connection],
        work: Callable[[Connection, float], T],
        *,
        deadline: float,
    ) -> T:
        """``work`` done on a pooled connection, or on a new one made by ``connect``."""
        return super().run(
            connect, work, wait_s=deadline - time.monotonic(), deadline=lambda: deadline
        )
