"""The database: one engine per process, built from the settings; sessions per unit of work.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, so that the CLI and a
running server can share one file. ``postgresql://`` URLs are read with psycopg 3, with a
connect timeout, and each pooled connection is tested before use (``pool_pre_ping``), so that
none left dead by a restart of the database is handed out once it is back.

``UNAVAILABLE`` names the errors that mean the database cannot be reached or used just now; the
web app answers them 503 with Retry-After (``identity.web.problems``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, exc, text
from sqlmodel import Session, create_engine

from identity.settings import Settings


def database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3, the driver the hub installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: the database cannot be reached or used just now: refused, ended, timed out, SQLite's file
#: cannot be opened or stays locked beyond the busy timeout (DB-API's ``OperationalError`` is
#: "not necessarily under the control of the programmer"), or no pooled connection came free
UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or used just now."""
    return isinstance(error, UNAVAILABLE)


def make_engine(settings: Settings) -> Engine:
    url = database_url(settings.database_url)
    if url.startswith("sqlite"):
        # timeout: how long to wait for another writer (the driver sets SQLite's busy timeout)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    timeout = settings.database_connect_timeout_s
    # hide_parameters: an error message must never carry PIN hashes or card numbers;
    # tcp_user_timeout: a connection whose packets go unanswered is given up as soon
    return create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"connect_timeout": timeout, "tcp_user_timeout": timeout * 1000},
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # the DELETE hidden in INSERT OR REPLACE fires delete triggers only with this on
    cursor.execute("PRAGMA recursive_triggers=ON")
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


def without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk
    (``synchronous_commit`` off for this transaction alone), for a write whose loss in a crash
    of the database fails closed. It still reaches the disk within a fraction of a second, and
    before any later commit that waits (the log is flushed in order). Nothing on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def lock(session: Session, name: str) -> None:
    """Hold the lock ``name`` until the transaction ends. On PostgreSQL an advisory lock; on
    SQLite nothing more is needed, as ``transaction`` already holds the one write lock. Take
    locks in a fixed order (``agreements`` before ``audit``) so that no two writers deadlock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())}
        )
