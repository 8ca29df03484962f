"""What other processes changed: a change committed before ``sync`` is always seen, by whoever
made it, and a database that cannot be read leaves the caches unused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from identity.oauth import registration
from identity.settings import Settings
from identity.store.changes import Changes
from identity.store.database import make_engine, transaction

pytestmark = pytest.mark.db


def test_a_change_committed_before_a_sync_empties_the_caches_that_follow_it(
    engine: Engine,
) -> None:
    changes = Changes(engine, wait_s=10)
    emptied: list[str] = []
    for topic in ("clients", "keys", "revocations"):
        changes.on_change(topic, lambda topic=topic: emptied.append(topic))  # type: ignore[misc]
    try:
        assert changes.sync() is True and sorted(emptied) == ["clients", "keys", "revocations"]
        emptied.clear()
        assert changes.sync() is True and emptied == []  # nothing changed
        with transaction(engine) as session:
            registration.add_client(
                session=session, library="rmit", kind="partner", redirect_uris=[], actor="t"
            )
        assert changes.sync() is True and emptied == ["clients"]
        with engine.begin() as connection:  # an operator's SQL counts as much
            connection.execute(text("UPDATE oauth_client SET scopes = '[]'"))
        assert changes.sync() is True and emptied == ["clients", "clients"]
    finally:
        changes.close()


def test_requests_waiting_together_all_see_the_change(engine: Engine) -> None:
    changes = Changes(engine, wait_s=10)
    emptied: list[str] = []
    changes.on_change("clients", lambda: emptied.append("clients"))

    async def many() -> list[bool]:
        await changes.synced()
        emptied.clear()
        with transaction(engine) as session:
            registration.add_client(
                session=session, library="rmit", kind="partner", redirect_uris=[], actor="t"
            )
        return await asyncio.gather(*(changes.synced() for _ in range(50)))

    try:
        assert asyncio.run(many()) == [True] * 50
        assert emptied == ["clients"]
    finally:
        changes.close()


def test_a_database_that_cannot_be_read_leaves_the_caches_unused(tmp_path: Path) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'no' / 'hub.db'}"))
    changes = Changes(engine, wait_s=10)
    try:
        assert changes.sync() is False
        assert asyncio.run(changes.synced()) is False
    finally:
        changes.close()
        engine.dispose()
