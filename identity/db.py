"""The database: one engine per process, built from the settings; sessions per unit of work.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, so that the CLI and a
running server can share one file. ``postgresql://`` URLs are read with psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, text
from sqlmodel import Session, create_engine

from identity.settings import Settings


def database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3, the driver the hub installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(settings: Settings) -> Engine:
    url = database_url(settings.database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session for a unit of writing, committed at the end of the block or rolled back on error.

    On SQLite it takes the write lock first (``BEGIN IMMEDIATE``): the driver would otherwise
    run the transaction's reads outside it, and two writers could both act on what they read
    (two audit events naming the same predecessor)."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session
