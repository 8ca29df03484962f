"""Every question recorded, and counted against its client's rate, in a commit made before its
answer leaves; the questions of several requests in one commit (group commit).

A request hands its questions' records to the process's ``Recorder`` and waits. The recorder
writes whatever is waiting (``write``):

- for each client, its count in the current window goes up by its questions only if that keeps
  it within its limit, with one conditional upsert (``INSERT .. ON CONFLICT DO UPDATE .. WHERE
  count + n <= allowed RETURNING``), so the limit is exact however many processes and
  instances share the database; when a client's questions do not all fit, its requests are
  counted one at a time, in the order they came, and those that do not fit are refused
  (``RateLimited``) and not recorded;
- the records of the requests counted, committed with their count: on PostgreSQL in the same
  statement (its own transaction: one round trip, and the client's row of the rate window
  locked only that long); on SQLite in one transaction under the write lock.

Only then is each request let go, with its answer or its refusal. Requests that arrive while a
group is being written wait for the next one, so a busy process commits far fewer times than it
answers, and takes SQLite's one write lock once per group rather than once per question. A
database that cannot be reached fails every request of the group (503); any other failure is
tried again request by request, so that it fails only the request it belongs to.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, Insert, bindparam, insert, text
from sqlalchemy.dialects import postgresql, sqlite

from identity import errors
from identity.store import database
from identity.store.models import EligibilityLookup, RateWindow

#: the most questions written in one transaction (a group waiting beyond it waits for the next)
GROUP = 1000

_RATE = RateWindow.__table__  # type: ignore[attr-defined]
_LOOKUP = EligibilityLookup.__table__  # type: ignore[attr-defined]
_RECORD = insert(_LOOKUP)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One question and its answer, as ``hub lookups`` lists it."""

    at: datetime
    client_id: str
    lender: str
    home_library: str
    card: str | None
    by: str  # card | patron
    answer: str  # eligible | not-eligible | a problem's slug
    reasons: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at, "client_id": self.client_id, "lender": self.lender,
            "home_library": self.home_library[:64],
            "card": None if self.card is None else self.card[:64],
            "by": self.by, "answer": self.answer, "reasons": self.reasons,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ticket:
    """One request's questions: recorded and counted together, or refused together."""

    client_id: str
    lookups: Sequence[Lookup]
    allowed: int  # questions per window
    per_s: int  # the window's length


Outcome = errors.RateLimited | None


def write(
    engine: Engine, tickets: Sequence[Ticket], now: float | None = None
) -> list[Outcome | Exception]:
    """Count and record ``tickets`` (see the module). For each: None once its questions are
    recorded and committed; ``RateLimited``; or the error that kept it from being recorded.
    Raises only when nothing was committed. Blocking."""
    now = int(time.time() if now is None else now)
    if engine.dialect.name == "postgresql":
        return _statements(engine, tickets, now)
    try:
        return list(_transaction(engine, tickets, now))
    except Exception as error:
        if len(tickets) == 1 or database.unavailable(error):
            raise
    outcomes: list[Outcome | Exception] = []
    for ticket in tickets:  # something in one request failed them all: each on its own
        try:
            outcomes.extend(_transaction(engine, [ticket], now))
        except Exception as error:
            outcomes.append(error)
    return outcomes


def _clients(tickets: Sequence[Ticket], now: int) -> dict[tuple[str, int, int, int], list[int]]:
    """The tickets by client (and its limit, its window's length and its current window)."""
    clients: dict[tuple[str, int, int, int], list[int]] = {}
    for n, ticket in enumerate(tickets):
        key = (ticket.client_id, ticket.allowed, ticket.per_s, now - now % ticket.per_s)
        clients.setdefault(key, []).append(n)
    return clients


def _refused(allowed: int, per_s: int, window: int, now: int) -> errors.RateLimited:
    return errors.RateLimited(
        f"This client may ask {allowed} questions every {per_s} s.",
        retry_after=max(1, window + per_s - now),
    )


def _transaction(engine: Engine, tickets: Sequence[Ticket], now: int) -> list[Outcome]:
    """SQLite: every client's count, then the records of the tickets counted, in one
    transaction under the write lock."""
    outcomes: list[Outcome] = [None] * len(tickets)
    with engine.connect() as connection:
        database.begin_immediate(connection)  # the write lock before any read
        for (_, allowed, per_s, window), members in _clients(tickets, now).items():
            if _spend(connection, [tickets[n] for n in members], window, allowed):
                continue  # all of them fit (the usual case): one statement
            for n in members:  # the first to come are counted first
                if not _spend(connection, [tickets[n]], window, allowed):
                    outcomes[n] = _refused(allowed, per_s, window, now)
        rows = [
            lookup.row()
            for ticket, outcome in zip(tickets, outcomes, strict=True)
            if outcome is None
            for lookup in ticket.lookups
        ]
        if rows:
            connection.execute(_RECORD, rows)
        connection.commit()
    return outcomes


def _spend(connection: Connection, tickets: Sequence[Ticket], window: int, allowed: int) -> bool:
    """Whether the questions of ``tickets`` (one client's) fit in its window; if so, they are
    counted (the caller records them in the same transaction)."""
    n = sum(len(ticket.lookups) for ticket in tickets)
    if n > allowed:
        return False
    params = {"client_id": tickets[0].client_id, "window": window, "n": n, "allowed": allowed}
    return connection.execute(_upsert(connection.dialect.name), params).first() is not None


def _statements(engine: Engine, tickets: Sequence[Ticket], now: int) -> list[Outcome | Exception]:
    """PostgreSQL: each client's tickets counted and recorded in one statement of their own,
    each its own transaction; those of a client that do not all fit, one at a time. Once the
    database cannot be reached, the tickets not yet written get its error."""
    outcomes: list[Outcome | Exception] = [None] * len(tickets)
    lost: Exception | None = None
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        for (_, allowed, per_s, window), members in _clients(tickets, now).items():
            group = [tickets[n] for n in members]
            if lost is None and len(group) > 1:
                try:
                    if _count_and_record(connection, group, window, allowed):
                        continue  # all of them fit (the usual case): one statement
                except Exception as error:
                    if database.unavailable(error):
                        lost = error
            for n in members:  # the first to come are counted first
                if lost is not None:
                    outcomes[n] = lost
                    continue
                try:
                    if not _count_and_record(connection, [tickets[n]], window, allowed):
                        outcomes[n] = _refused(allowed, per_s, window, now)
                except Exception as error:
                    outcomes[n] = error
                    lost = error if database.unavailable(error) else None
    return outcomes


def _count_and_record(
    connection: Connection, tickets: Sequence[Ticket], window: int, allowed: int
) -> bool:
    """``_spend`` and the records, in one statement (``_COUNT_AND_RECORD``)."""
    lookups = [lookup for ticket in tickets for lookup in ticket.lookups]
    if len(lookups) > allowed:
        return False
    rows = [lookup.row() for lookup in lookups]
    for row in rows:
        row["at"] = row["at"].isoformat()
    params = {"client_id": tickets[0].client_id, "window": window, "n": len(lookups),
              "allowed": allowed, "rows": json.dumps(rows)}  # fmt: skip
    return bool(connection.execute(_COUNT_AND_RECORD, params).rowcount)


#: the count, and the records (a JSON array, read by the server) only if it was made
#: (PostgreSQL: a WITH clause may write)
_COUNT_AND_RECORD = text(
    """
    WITH counted AS (
        INSERT INTO rate_window (client_id, "window", count)
        VALUES (:client_id, :window, :n)
        ON CONFLICT (client_id, "window") DO UPDATE
            SET count = rate_window.count + excluded.count
            WHERE rate_window.count + excluded.count <= :allowed
        RETURNING 1
    )
    INSERT INTO eligibility_lookup
        (at, client_id, lender, home_library, card, "by", answer, reasons)
    SELECT q.at, :client_id, q.lender, q.home_library, q.card, q."by", q.answer, q.reasons
    FROM json_to_recordset(CAST(:rows AS json)) AS q(
        at timestamptz, lender text, home_library text, card text, "by" text, answer text,
        reasons json
    )
    WHERE EXISTS (SELECT FROM counted)
    """
)


_UPSERTS: dict[str, Insert] = {}


def _upsert(dialect: str) -> Insert:
    """Add ``n`` to the client's window if that keeps it within ``allowed``; RETURNING a row
    only then (the row is created at ``n``, which the caller has checked is within it)."""
    upsert = _UPSERTS.get(dialect)
    if upsert is None:
        kind = postgresql.insert if dialect == "postgresql" else sqlite.insert
        new = kind(_RATE).values(
            client_id=bindparam("client_id"), window=bindparam("window"), count=bindparam("n")
        )
        then = _RATE.c.count + new.excluded.count
        upsert = _UPSERTS[dialect] = new.on_conflict_do_update(
            index_elements=[_RATE.c.client_id, _RATE.c.window],
            set_={"count": then},
            where=then <= bindparam("allowed"),
        ).returning(_RATE.c.count)
    return upsert


class Recorder:
    """The process's group commit (see the module), on the event loop of the app that made it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._waiting: list[tuple[Ticket, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._thread = anyio.CapacityLimiter(1)  # its own, beside the shared thread pool

    async def record(self, ticket: Ticket) -> None:
        """Once ``ticket``'s questions are counted and recorded (committed); or
        ``RateLimited`` (nothing recorded), or the database's error."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((ticket, done))
        if self._writer is None:
            self._writer = loop.create_task(self._write_all())
        refused = await done
        if refused is not None:
            raise refused

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                group = self._take()
                tickets = [ticket for ticket, _ in group]
                try:
                    outcomes = await anyio.to_thread.run_sync(
                        write, self.engine, tickets, limiter=self._thread
                    )
                except BaseException as error:
                    for _, done in group:
                        _settle(done, error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, done), outcome in zip(group, outcomes, strict=True):
                    _settle(done, outcome)
        finally:
            self._writer = None

    def _take(self) -> list[tuple[Ticket, asyncio.Future[Outcome]]]:
        """The requests waiting, in the order they came, up to ``GROUP`` questions (at least
        one request)."""
        questions, end = 0, 0
        for end, (ticket, _) in enumerate(self._waiting, start=1):  # noqa: B007
            questions += len(ticket.lookups)
            if questions >= GROUP:
                break
        group, self._waiting = self._waiting[:end], self._waiting[end:]
        return group


def _settle(done: asyncio.Future[Outcome], outcome: Outcome | BaseException) -> None:
    if done.done():  # its request was cancelled (the client went away): nothing to tell
        return
    if isinstance(outcome, BaseException) and not isinstance(outcome, errors.RateLimited):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
