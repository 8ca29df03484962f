"""Transactions: a write that need not wait for the disk waits alone."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from identity.store.database import transaction, without_waiting_for_disk

pytestmark = pytest.mark.db


def test_a_commit_that_does_not_wait_for_the_disk_leaves_the_next_one_waiting(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no such setting per transaction")
    for _ in range(3):  # the pool hands the same connection back
        with transaction(engine) as session:
            without_waiting_for_disk(session)
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"
        with transaction(engine) as session:
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
