"""What the test of the limit across processes (``tests/identity/test_eligibility_records.py``)
runs in each of its processes: kept apart from the test's module, whose imports (the suite's
fixtures, the whole app) each spawned process would otherwise pay for."""

from __future__ import annotations

import threading
from typing import Any

from identity.eligibility.records import Lookup, Ticket, write
from identity.settings import Settings
from identity.store.database import make_engine
from identity.store.models import utcnow

CLIENT = "demo-monash-partner"
FOREVER = 10**9  # one window for the whole test


def ticket(*cards: str, allowed: int, client: str = CLIENT) -> Ticket:
    lookups = [
        Lookup(at=utcnow(), client_id=client, lender="monash", home_library="rmit", card=card,
               by="card", answer="eligible")
        for card in cards
    ]  # fmt: skip
    return Ticket(client, lookups, allowed=allowed, per_s=FOREVER)


def ask_until_full(url: str, threads: int, allowed: int, start: Any) -> int:
    """In a process of its own: ``threads`` threads count requests of 3, 2 and 1 questions
    (some two requests at a time) until one of a single question is refused; the questions
    this process got counted. Both processes start when both are ready (``start``)."""
    engine = make_engine(Settings(database_url=url))
    with engine.connect():
        pass
    got = [0] * threads
    start.wait()

    def ask(n: int) -> None:
        for turn in range(10_000):
            size = 3 - turn % 3
            tickets = [ticket(*[f"{n}-{turn}-{q}" for q in range(size)], allowed=allowed)]
            if turn % 2:
                tickets.append(ticket(f"{n}-{turn}-x", allowed=allowed))
            outcomes = write(engine, tickets)
            got[n] += sum(
                len(t.lookups) for t, o in zip(tickets, outcomes, strict=True) if o is None
            )
            if any(
                o is not None and len(t.lookups) == 1
                for t, o in zip(tickets, outcomes, strict=True)
            ):
                return  # not even one more question fits: the window is full

    workers = [threading.Thread(target=ask, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    return sum(got)
