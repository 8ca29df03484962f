"""The audit log is append-only and hash-chained, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from identity.admin import audit
from identity.store.database import transaction
from identity.store.models import AuditEvent

pytestmark = pytest.mark.db


def append(engine: Engine, n: int, actor: str = "tester") -> None:
    for i in range(n):
        with transaction(engine) as session:
            audit.record(
                session=session,
                actor=actor,
                action="test.event",
                subject=f"thing:{i}",
                before={"n": i},
                after={"n": i + 1, "note": "café"},
                address="192.0.2.1",
            )


def test_a_chain_of_events_verifies(engine: Engine) -> None:
    append(engine, 5)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        assert [e.previous_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        assert events[0].previous_hash == audit.GENESIS
        assert audit.verify(session=session) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'someone else'",
        "DELETE FROM audit_event",
        "INSERT OR REPLACE INTO audit_event (id, at, actor, action, subject, previous_hash, hash) "
        "SELECT id, at, 'mallory', action, subject, previous_hash, hash FROM audit_event",
    ],
)
def test_the_database_refuses_to_change_or_delete_events(engine: Engine, statement: str) -> None:
    if statement.startswith("INSERT OR REPLACE") and engine.dialect.name != "sqlite":
        statement = (
            statement.replace("INSERT OR REPLACE", "INSERT")
            + " ON CONFLICT (id) DO UPDATE SET actor = 'mallory'"
        )
    append(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with Session(engine) as session:
        assert len(session.exec(select(AuditEvent)).all()) == 2


def test_verify_finds_an_event_edited_behind_the_triggers(engine: Engine) -> None:
    append(engine, 3)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
        connection.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = 2"))
    with Session(engine) as session:
        assert audit.verify(session=session) == ["event 2: content does not match its hash"]


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    threads = [threading.Thread(target=append, args=(engine, 10, f"w{i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        assert len(session.exec(select(AuditEvent)).all()) == 40
        assert audit.verify(session=session) == []
