"""The answers: may this lender lend to that card, today?

The lender is always the asking client's library. The card is read as on the sign-in page
(``cards.read_card``): one that is not a card of the home library (its ``card_pattern``) is no
such card, and no home library is asked. The home library's connector is asked about the card
without a PIN (``lookup``), when it is the request's turn there (``gates``); a connector that
looks many cards up at once (the registry) is asked once for all the cards of a batch, any
other once per card. A home library that cannot be asked is a 503, never a guess, and is not
asked again in the same batch. Each answer comes with the record of the question
(``records.Lookup``), which the caller has written before the answer leaves.

A directory (``ldap``) says who is a member, and nothing of fines and flags: the decision is
made with the standing not known, unless the library's standing source has the card in the
entry's ``match`` attribute. A library whose patrons sign in at its own identity provider
(``saml``, ``oidc``) has no card to ask about: its standing source is asked instead
(``identity.patrons.standing``), by card (the card there) or by ``patron`` (the card there the
patron's latest sign-in gave). Without one, or for a patron whose card there the hub never
learnt, the answer is
``PatronSignInOnly``: only the patron can prove membership, by signing in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from sqlalchemy import Connection, Engine, bindparam, select
from sqlmodel import Session

import policies
from identity import errors
from identity.agreements.publishing import InForce
from identity.eligibility import asking
from identity.eligibility.asking import Asker
from identity.eligibility.records import Lookup
from identity.patrons import advice, cards, standing
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable, ManyCards
from identity.patrons.connectors.factory import connector_for
from identity.patrons.connectors.gates import Gates, HomeLibraryBusy
from identity.store import database
from identity.store.models import PairwiseSubject, utcnow

if TYPE_CHECKING:
    from identity.oauth.server import HubServer

_PAIRWISE = PairwiseSubject.__table__.c  # type: ignore[attr-defined]
_PAIRWISE_OF = select(
    _PAIRWISE.sub, _PAIRWISE.home_library, _PAIRWISE.card, _PAIRWISE.scope, _PAIRWISE.standing_card
).where(
    _PAIRWISE.lender == bindparam("lender"), _PAIRWISE.sub.in_(bindparam("subs", expanding=True))
)
#: the kinds whose patrons sign in at the library's identity provider: no card to look up
SIGN_IN_ONLY = ("saml", "oidc")


@dataclass(frozen=True)
class Question:
    """One request: by ``home_library`` and ``card``, or by ``patron`` (a pairwise sub);
    ``lender``, when given, must be the asking client's library."""

    home_library: str | None = None
    card: str | None = None
    patron: str | None = None
    material: str | None = None
    on: date | None = None
    lender: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A question's ``Decision.to_dict()``, or its problem; and its record."""

    decision: dict[str, Any] | None
    problem: errors.Problem | None
    lookup: Lookup


@dataclass(slots=True)
class _Asked:
    """A question on its way to its answer."""

    by: str
    home: str
    card: str | None
    library: policies.Library | None = None
    problem: errors.Problem | None = None


Holders = dict[tuple[str, str], CardHolder | errors.Problem | None]  # by (library, card)


@dataclass(frozen=True, slots=True)
class _Read:
    """What the request's one visit to a worker thread read."""

    asker: Asker
    agreements: policies.Agreements
    asked: list[_Asked]
    holders: Holders  # the registry's answers
    #: cards for the other connectors, by library id: the library and where they are asked
    #: (the library, or its standing source)
    waiting: dict[str, tuple[policies.Library, list[str]]]


async def answer(
    *,
    server: HubServer,
    in_force: InForce,
    token: str,
    allowed: int,
    per_s: int,
    questions: Sequence[Question],
) -> tuple[Asker, list[Answer]]:
    """Who asks (``asking``; or ``Unauthorized``, ``Forbidden``), and the answer to each of
    ``questions``, in order, each with its record; ``RateLimited`` at once when the client's
    window (``allowed`` questions every ``per_s`` seconds) has no room left for them. The
    database is read in one worker thread; other home libraries are asked in their turns."""
    engine, gates = server.engine, server.gates
    read = await to_thread.run_sync(_read, server, in_force, token, allowed, per_s, questions)
    holders = read.holders
    for key, (library, wanted) in read.waiting.items():
        found = await _holders(gates, library, engine, wanted)
        holders.update(((key, card), holder) for card, holder in found.items())
    lender, client_id = read.asker.library, read.asker.client_id
    answers = []
    for question, each in zip(questions, read.asked, strict=True):
        decision: dict[str, Any] | None = None
        problem = each.problem
        if problem is None and each.library is not None and each.card is not None:
            holder = holders[(each.library.id, each.card)]
            if isinstance(holder, errors.Problem):
                problem = holder
            elif holder is None:  # by patron: no card number in the answer
                problem = errors.UnknownCard(
                    "The home library no longer knows this patron's card."
                    if each.by == "patron"
                    else f"{each.library.name} has no card {each.card!r}."
                )
            else:
                known = True
                if each.library.connector.kind == "ldap":  # a directory: and its source
                    try:
                        holder, known = await standing.with_source(
                            gates, engine, each.library, holder
                        )
                    except HomeLibraryUnavailable as exc:
                        problem = errors.HomeLibraryUnavailable(
                            f"{each.library.name} cannot be asked about cards just now; try "
                            "again later.",
                            retry_after=exc.retry_after,
                        )
                if problem is None:
                    decision = _decide(
                        read.agreements, lender, each.library, holder, question, known
                    )
        answers.append(_answered(client_id, lender, each, decision, problem))
    return read.asker, answers


def _read(
    server: HubServer,
    in_force: InForce,
    token: str,
    allowed: int,
    per_s: int,
    questions: Sequence[Question],
) -> _Read:
    """Who asks, within their rate, for their own library; the agreements in force; each
    question's home library and card; and the holders of the cards of libraries whose
    connector looks many up at once (the registry, which is the hub's own database: read here
    with the rest, taking no turn). Blocking."""
    now = int(time.time())
    window = now - now % per_s
    subs = [q.patron for q in questions if q.patron is not None]
    held = in_force.held() if in_force.version is not None else None
    card = _registry_card(held, questions)  # read with the token, if it is still in force
    client_id = asking.client_of(server, token)
    engine = server.engine
    with database.reading(engine) as connection:
        asker, holder = asking.asker(connection, client_id=client_id, window=window, card=card)
        for question in questions:
            if question.lender is not None and question.lender != asker.library:
                raise errors.Forbidden(
                    f"This client asks for {asker.library}; it cannot ask for {question.lender}."
                )
        if asker.used + len(questions) > allowed:  # a first look: ``records`` counts for good
            raise errors.RateLimited(
                f"This client may ask {allowed} questions every {per_s} s.",
                retry_after=max(1, window + per_s - now),
            )
        known = _pairwise(connection, asker.library, subs) if subs else {}
    agreements = in_force.at(asker.newest)
    if agreements is None:  # this process's first set: read it here
        with Session(engine) as session:
            agreements = in_force.get(session=session)
    asked = _identify(agreements, questions, known)
    libraries: dict[str, tuple[policies.Library, list[str]]] = {}
    for each in asked:
        if each.problem is None and each.library is not None and each.card is not None:
            libraries.setdefault(each.library.id, (each.library, []))[1].append(each.card)
    holders: Holders = {}
    if card is not None and agreements is held:  # the set it was read for is still in force
        holders[card] = holder
        libraries.pop(card[0], None)
    waiting = {}
    for key, (library, wanted) in libraries.items():
        if library.connector.kind in SIGN_IN_ONLY:
            source = standing.source_of(library)
            assert source is not None  # _identify: a problem for the others
            library = source
        try:
            connector = connector_for(library, engine)
        except HomeLibraryUnavailable:
            connector = None  # asked in its turn, which says why it cannot be
        if isinstance(connector, ManyCards):
            held = connector.lookup_many(wanted)
            holders.update(((key, card), held.get(card)) for card in wanted)
        else:
            waiting[key] = (library, wanted)
    return _Read(asker, agreements, asked, holders, waiting)


def _registry_card(
    agreements: policies.Agreements | None, questions: Sequence[Question]
) -> tuple[str, str] | None:
    """The library and card of a lone question by card, when the library checks its cards
    in the registry (in ``agreements``) and the card is one of its cards."""
    if agreements is None or len(questions) != 1 or questions[0].card is None:
        return None
    library = agreements.libraries.get(questions[0].home_library or "")
    if library is None or library.connector.kind != "registry":
        return None
    try:
        return library.id, cards.read_card(questions[0].card, library)
    except cards.NotACard:
        return None


def _identify(
    agreements: policies.Agreements,
    questions: Sequence[Question],
    known: dict[str, tuple[str, str, str, str | None]],
) -> list[_Asked]:
    """Each question's home library and card (a patron's from their sign-in; for a library
    whose patrons sign in at its identity provider, the card at its standing source), or its
    problem."""
    asked = []
    for question in questions:
        if question.patron is not None:
            found = known.get(question.patron)
            # only a patron who shared the borrowing decision with this lender at sign-in
            if found is None or "borrowing" not in found[2].split():
                problem = errors.UnknownPatron(
                    "This lender has received no such patron identifier at sign-in, with the "
                    "patron's consent to share the borrowing decision."
                )
                asked.append(_Asked("patron", "", None, problem=problem))
                continue
            each = _Asked("patron", found[0], found[1])
            library = agreements.libraries.get(each.home)
            if library is not None and library.connector.kind in SIGN_IN_ONLY:
                each.card = found[3]  # None: the hub never learnt it
        else:
            each = _Asked("card", question.home_library or "", question.card)
        each.library = agreements.libraries.get(each.home)
        if each.library is None:
            each.problem = errors.UnknownLibrary(
                "The patron's home library is no longer in the agreements in force."
                if each.by == "patron"
                else f"No library {each.home!r} in the agreements in force."
            )
        elif each.library.connector.kind in SIGN_IN_ONLY and (
            each.library.standing is None or each.card is None
        ):
            each.problem = errors.PatronSignInOnly(
                f"{each.library.name} proves membership only when the patron signs in at its "
                + (
                    "identity provider, and names no standing source the hub could ask."
                    if each.library.standing is None
                    else "identity provider, and the hub has not learnt this patron's card at "
                    "its standing source."
                )
                + " The patron can prove it by signing in through the hub."
            )
        elif each.library.connector.kind in SIGN_IN_ONLY:
            pass  # the card at the standing source, taken as the source has it
        elif each.card is not None:
            try:
                each.card = cards.read_card(each.card, each.library)
            except cards.NotACard:  # not one of this library's cards: its system is not asked
                each.problem = errors.UnknownCard(
                    "The home library no longer knows this patron's card."
                    if each.by == "patron"
                    else f"{each.library.name} has no card {each.card!r}."
                )
        asked.append(each)
    return asked


async def _holders(
    gates: Gates, library: policies.Library, engine: Engine, wanted: list[str]
) -> dict[str, CardHolder | errors.Problem | None]:
    """The holders of the ``wanted`` cards at ``library``, each asked in its turn there; all in
    one turn when its connector looks many up at once. A library that cannot be asked is not
    asked again: every card not yet answered gets its problem."""
    found: dict[str, CardHolder | errors.Problem | None] = {}
    try:
        for card in wanted:
            if card not in found:
                found.update(await gates.run(library, partial(_ask, library, engine, card)))
    except HomeLibraryUnavailable as exc:
        why = f" ({exc.reason})" if isinstance(exc, HomeLibraryBusy) else ""
        problem = errors.HomeLibraryUnavailable(
            f"{library.name} cannot be asked about cards just now{why}; try again later.",
            retry_after=exc.retry_after,
        )
        found.update((card, problem) for card in wanted if card not in found)
    return found


def _ask(library: policies.Library, engine: Engine, card: str) -> dict[str, CardHolder | None]:
    return {card: connector_for(library, engine).lookup(card)}


def _pairwise(
    connection: Connection, lender: str, subs: list[str]
) -> dict[str, tuple[str, str, str, str | None]]:
    """The home library, card, scope and card at the standing source of each of ``subs`` this
    lender received."""
    rows = connection.execute(_PAIRWISE_OF, {"lender": lender, "subs": sorted(set(subs))})
    return {sub: (home, card, scope, at_source) for sub, home, card, scope, at_source in rows}


def _decide(
    agreements: policies.Agreements,
    lender: str,
    library: policies.Library,
    holder: CardHolder,
    question: Question,
    standing_known: bool,
) -> dict[str, Any]:
    decision = agreements.decide(
        policies.BorrowRequest(
            lender=lender,
            home_library=library.id,
            category=library.hub_category(holder.category) or f"ils:{holder.category}",
            on=question.on or date.today(),
            material=question.material,
            fines=holder.fines,
            flags=holder.flags,
            card_expires=holder.expires,
            standing_known=standing_known,
        )
    )
    return advice.answer(decision, agreements)


def _answered(
    client_id: str,
    lender: str,
    asked: _Asked,
    decision: dict[str, Any] | None,
    problem: errors.Problem | None,
) -> Answer:
    if problem is not None:
        verdict, reasons = problem.slug, []
    else:
        assert decision is not None
        verdict = "eligible" if decision["eligible"] else "not-eligible"
        reasons = [reason["code"] for reason in decision["reasons"]]
    lookup = Lookup(
        at=utcnow(), client_id=client_id, lender=lender, home_library=asked.home,
        card=asked.card, by=asked.by, answer=verdict, reasons=reasons,
    )  # fmt: skip
    return Answer(decision, problem, lookup)
