"""The purge that ``hub serve`` runs every ``HUB_PURGE_INTERVAL_S``: on one instance at a time
(an advisory lock on PostgreSQL; on SQLite one process, which keeps the turn), and again after
a run that failed."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from sqlalchemy import Engine, text

from identity.purge_schedule import LOCK_KEY, PurgeSchedule
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import SpentTicket, utcnow
from tests.identity.test_purge import count

pytestmark = pytest.mark.db


def spent_long_ago(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(SpentTicket(ticket=f"t{utcnow().timestamp()}", at=utcnow() - timedelta(days=3)))


def test_one_process_at_a_time(engine: Engine, database_url: str) -> None:
    settings = Settings(database_url=database_url)
    one, other = (PurgeSchedule(engine=engine, settings=settings) for _ in range(2))
    try:
        spent_long_ago(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect() as holder:  # another instance purging just now
                holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
                assert one.once() is None and other.once() is None
                assert count(engine, SpentTicket) == 1
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            assert (one.once() or {})["consent tickets"] == 1
            assert other.once() is not None  # no one purging: its turn
        else:
            assert (one.once() or {})["consent tickets"] == 1
            spent_long_ago(engine)
            assert other.once() is None  # the first keeps the turn
            assert count(engine, SpentTicket) == 1
            one.close()  # that process ended: the next to ask takes the turn
            assert (other.once() or {})["consent tickets"] == 1
        assert count(engine, SpentTicket) == 0
    finally:
        one.close()
        other.close()


def test_runs_every_interval_and_after_a_failure(engine: Engine, database_url: str) -> None:
    settings = Settings(database_url=database_url)
    schedule = PurgeSchedule(engine=engine, settings=settings)
    runs: list[str] = []
    once = schedule.once

    def flaky() -> dict[str, int] | None:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("a bug in one run")
        return once()

    schedule.once = flaky  # type: ignore[method-assign]
    spent_long_ago(engine)

    async def main() -> None:
        with anyio.move_on_after(2):
            while count(engine, SpentTicket):
                async with anyio.create_task_group() as group:
                    group.start_soon(schedule.run, 0.05)
                    await anyio.sleep(0.5)
                    group.cancel_scope.cancel()

    try:
        anyio.run(main)
    finally:
        schedule.close()
    assert count(engine, SpentTicket) == 0 and len(runs) >= 2


def test_interval_setting() -> None:
    assert Settings().purge_interval_s == 3600
    assert Settings(purge_interval_s=0).purge_interval_s == 0
    with pytest.raises(ValueError, match="HUB_PURGE_INTERVAL_S must be 0, or between 60 s"):
        Settings(purge_interval_s=5)
