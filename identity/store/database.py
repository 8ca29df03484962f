"""The database: one engine per process, built from the settings; sessions per unit of work.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, so that the CLI and a
running server can share one file. ``postgresql://`` URLs are read with psycopg 3, with a
connect timeout.

Each process keeps ``database_pool_size`` connections (and opens as many again for a burst). A
pooled connection that has been idle for ``PING_AFTER_IDLE_S`` is tested before it is handed
out (``_ping_when_idle``), so that none left dead by a restart of the database is handed out
once it is back; one in steady use is not (a round trip per unit of work saved). A connection
found dead while in use fails its request (a 503, below) and makes the pool replace every
connection opened before it.

``UNAVAILABLE`` names the errors that mean the database cannot be reached or used just now; the
web app answers them 503 with Retry-After (``identity.web.problems``).
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, exc, text
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


#: a pooled connection idle for longer than this is tested before it is handed out
PING_AFTER_IDLE_S = 1.0


def make_engine(settings: Settings) -> Engine:
    url = database_url(settings.database_url)
    pool = {"pool_size": settings.database_pool_size, "max_overflow": settings.database_pool_size}
    if url.startswith("sqlite"):
        # timeout: how long to wait for another writer (the driver sets SQLite's busy timeout)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_S},
            hide_parameters=True,
            **pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    timeout = settings.database_connect_timeout_s
    # hide_parameters: an error message must never carry PIN hashes or card numbers;
    # tcp_user_timeout: a connection whose packets go unanswered is given up as soon
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"connect_timeout": timeout, "tcp_user_timeout": timeout * 1000},
        **pool,
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before it is handed out if it has been idle for more than
    ``PING_AFTER_IDLE_S``; one found dead makes the pool replace it and every connection opened
    before it (SQLAlchemy's pre-ping, for idle connections only)."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(_connection: Any, record: Any) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop("returned", None)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return  # just opened, or in steady use
        try:
            dialect.do_ping(connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, connection, None):
                raise
            raise exc.InvalidatePoolError() from error


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # the DELETE hidden in INSERT OR REPLACE fires delete triggers only with this on
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.close()


def reading(engine: Engine) -> Connection:
    """A connection for reads that need no transaction of their own (each statement sees what
    was committed when it started). On PostgreSQL it is in autocommit, so that no transaction
    is begun and rolled back around them (one round trip, not three); SQLite's driver begins
    none for reads (and forgets its prepared statements whenever its mode changes). Use it as
    a context manager."""
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session for a unit of writing, committed at the end of the block or rolled back on error.

    On SQLite it takes the write lock first (``BEGIN IMMEDIATE``): the driver would otherwise
    run the transaction's reads outside it, and two writers could both act on what they read
    (two audit events naming the same predecessor)."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "sqlite":
            begin_immediate(session.connection())
        yield session


#: how long a writer waits for SQLite's write lock (the driver's busy timeout), and how often
#: it asks for it meanwhile
SQLITE_BUSY_S = 30
SQLITE_RETRY_S = 0.0005


def begin_immediate(connection: Connection) -> None:
    """Take SQLite's write lock (``BEGIN IMMEDIATE``), asking for it every ``SQLITE_RETRY_S``
    for up to ``SQLITE_BUSY_S``. SQLite's own busy handler sleeps longer and longer between
    tries (1, 2, 5, 10 ms ... up to 100 ms), so that a process committing continuously (the
    eligibility records of a busy hub) shuts the writers of the others out for seconds; asked
    this often, writers take turns."""
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + SQLITE_BUSY_S
    try:
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise exc.OperationalError("BEGIN IMMEDIATE", None, error) from error
            time.sleep(SQLITE_RETRY_S)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_S * 1000}")


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
