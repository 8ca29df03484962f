"""Deleting what has expired (``identity.retention.purge``) every ``HUB_PURGE_INTERVAL_S``
while ``hub serve`` runs, on one instance at a time.

On PostgreSQL each run first tries a transaction-level advisory lock, and skips its turn when
another process (a worker, another instance, ``hub db purge``'s twin here) holds it. On SQLite,
which one host serves, one process does it: the first to take an exclusive ``flock`` on a file
beside the database keeps it, and the others skip every turn (until it exits).
"""

from __future__ import annotations

import fcntl
import os
import random
import zlib
from typing import IO

import anyio
import anyio.to_thread
from sqlalchemy import Engine, text

from identity import logs, retention
from identity.settings import Settings
from identity.store import database
from identity.store.database import transaction

#: the advisory lock's key (``identity.store.database.lock`` keys its own the same way)
LOCK_KEY = zlib.crc32(b"periodic purge")

log = logs.get("hub.purge")


class PurgeSchedule:
    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._held: IO[bytes] | None = None  # SQLite: the lock file, once this process has it

    def once(self) -> dict[str, int] | None:
        """Purge now, unless another process is the one purging: then None."""
        postgres = self.engine.dialect.name == "postgresql"
        if not postgres and not self._sqlite_turn():
            return None
        with transaction(self.engine) as session:
            if postgres:
                taken = session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                ).scalar()
                if not taken:
                    return None
            return retention.purge(session=session, settings=self.settings)

    def _sqlite_turn(self) -> bool:
        if self._held is not None:
            return True
        path = self.engine.url.database
        if not path or path == ":memory:":
            return True  # a database of this process alone
        held = open(f"{path}.purge-lock", "ab")  # noqa: SIM115 - held until the process ends
        try:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.close()
            return False
        self._held = held
        return True

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    async def run(self, interval_s: float) -> None:
        """``once`` every ``interval_s`` (a tenth more or less, so that instances started
        together drift apart), until cancelled. A run that fails is logged; the next is tried."""
        while True:
            await anyio.sleep(interval_s * random.uniform(0.9, 1.1))
            try:
                counts = await anyio.to_thread.run_sync(self.once)
            except Exception as exc:
                if not database.unavailable(exc):
                    log.exception("purge failed")
                else:
                    log.warning("purge skipped: the database cannot be reached")
                continue
            if counts is not None:
                logs.event(log, "purged", pid=os.getpid(), **_named(counts))


def _named(counts: dict[str, int]) -> dict[str, int]:
    return {name.replace(" ", "_").replace("-", "_"): n for name, n in counts.items()}
