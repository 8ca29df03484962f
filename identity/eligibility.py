"""The eligibility API's work (docs/eligibility.md): may this lender lend to that card, today?

The lender is always the asking client's library. The card is read as on the sign-in page
(``cards.read_card``): one that is not a card of the home library (its ``card_pattern``) is no
such card, and no home library is asked. The home library's connector is asked about the card
without a PIN (``lookup``); a home library that cannot be asked is a 503, never a
guess. Every question is recorded with its answer, for the home library's administrators
(``hub lookups``), and counted against the client's rate limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine
from sqlmodel import Session

import policies
from identity import errors
from identity.patrons import cards
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.factory import connector_for
from identity.patrons.connectors.gates import Gates, HomeLibraryBusy
from identity.store.database import lock, transaction
from identity.store.models import EligibilityLookup, PairwiseSubject, RateWindow, utcnow


@dataclass(frozen=True)
class Question:
    """One request: by ``home_library`` and ``card``, or by ``patron`` (a pairwise sub)."""

    home_library: str | None = None
    card: str | None = None
    patron: str | None = None
    material: str | None = None
    on: date | None = None


async def answer(
    *,
    engine: Engine,
    agreements: policies.Agreements,
    gates: Gates,
    client_id: str,
    lender: str,
    question: Question,
) -> dict[str, Any]:
    """``Decision.to_dict()`` for the question, or an ``errors.Problem``; recorded either way.
    The home library is asked when it is this request's turn there (``gates``); the database
    is read and written in worker threads."""
    home, card, by = question.home_library or "", question.card, "card"
    try:
        if question.patron is not None:
            by = "patron"
            known = await to_thread.run_sync(_pairwise, engine, lender, question.patron)
            # only a patron who shared the borrowing decision with this lender at sign-in
            if known is None or "borrowing" not in known.scope.split():
                raise errors.UnknownPatron(
                    "This lender has received no such patron identifier at sign-in, with the "
                    "patron's consent to share the borrowing decision."
                )
            home, card = known.home_library, known.card
        library = agreements.libraries.get(home)
        if library is None:
            raise errors.UnknownLibrary(
                "The patron's home library is no longer in the agreements in force."
                if by == "patron"
                else f"No library {home!r} in the agreements in force."
            )
        assert card is not None
        try:
            card = cards.read_card(card, library)
        except cards.NotACard:
            holder = None  # not one of this library's cards: its home system is not asked
        else:
            holder = await _lookup(gates, library, engine, card)
        if holder is None:  # by patron: no card number in the answer (the lender may not see it)
            raise errors.UnknownCard(
                "The home library no longer knows this patron's card."
                if by == "patron"
                else f"{library.name} has no card {card!r}."
            )
        decision = agreements.decide(
            policies.BorrowRequest(
                lender=lender,
                home_library=home,
                category=library.hub_category(holder.category) or f"ils:{holder.category}",
                on=question.on or date.today(),
                material=question.material,
                fines=holder.fines,
                flags=holder.flags,
                card_expires=holder.expires,
            )
        ).to_dict()
    except errors.Problem as problem:
        await to_thread.run_sync(
            _record, engine, client_id, lender, home, card, by, problem.slug, []
        )
        raise
    verdict = "eligible" if decision["eligible"] else "not-eligible"
    codes = [reason["code"] for reason in decision["reasons"]]
    await to_thread.run_sync(_record, engine, client_id, lender, home, card, by, verdict, codes)
    return decision


async def _lookup(
    gates: Gates, library: policies.Library, engine: Engine, card: str
) -> CardHolder | None:
    """The card's holder, asked in this request's turn at the library (``gates``)."""
    try:
        return await gates.run(library, lambda: connector_for(library, engine).lookup(card))
    except HomeLibraryUnavailable as exc:
        why = f" ({exc.reason})" if isinstance(exc, HomeLibraryBusy) else ""
        raise errors.HomeLibraryUnavailable(
            f"{library.name} cannot be asked about cards just now{why}; try again later.",
            retry_after=exc.retry_after,
        ) from None


def _pairwise(engine: Engine, lender: str, patron: str) -> PairwiseSubject | None:
    with Session(engine) as session:
        return session.get(PairwiseSubject, (lender, patron))


def spend_rate(*, engine: Engine, client_id: str, requests: int, allowed: int, per_s: int) -> None:
    """Count ``requests`` against the client's fixed window, or raise ``RateLimited``."""
    now = int(time.time())
    window = now - now % per_s
    with transaction(engine) as session:
        lock(session, f"rate:{client_id}")
        row = session.get(RateWindow, (client_id, window))
        used = row.count if row else 0
        if used + requests > allowed:
            raise errors.RateLimited(
                f"This client may ask {allowed} questions every {per_s} s.",
                retry_after=max(1, window + per_s - now),
            )
        if row is None:
            session.add(RateWindow(client_id=client_id, window=window, count=requests))
        else:
            row.count = used + requests


def _record(
    engine: Engine,
    client_id: str,
    lender: str,
    home: str,
    card: str | None,
    by: str,
    answer: str,
    reasons: list[str],
) -> None:
    with transaction(engine) as session:
        session.add(
            EligibilityLookup(
                at=utcnow(), client_id=client_id, lender=lender, home_library=home[:64],
                card=None if card is None else card[:64], by=by, answer=answer, reasons=reasons,
            )
        )  # fmt: skip
