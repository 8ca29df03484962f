"""PIN guessing limits: per card and per client address, in sliding windows.

An attempt is recorded (``pending``) under a lock, on disk, *before* the PIN goes to the home
library, so twenty guesses sent at once count as twenty. A pending attempt counts as a failure
until it is finished, so a crash in between fails closed, and so does a crash of the database
that loses how it ended (``finish`` does not wait for the disk). A success starts the count
again. With the default of 5 failures per 15 minutes and 20 per day for a card, guessing a
4-digit PIN takes 250 days on average, while a patron who mistypes is never locked out for long.
The limits stop guesses at the hub, so no one can use it to trip a lock-out at the patron's home
library.

An attempt the home library did not answer (``unanswered``: it was down, or the hub could not
read the reply) made no guess at the card, so it does not count against the card (a patron is
not locked out by their library's outage); it still counts against the client address, so no
one can send the hub's home libraries attempts without end.

A sign-in started at a library's own identity provider (SAML, OpenID Connect: ``start``) guesses
nothing, but each start asks the provider's metadata and keeps a waiting sign-in in the
database: starts are counted per client address in windows of their own (``started`` rows, which
the PIN limits do not count), so a flood from one address gets a 429 and neither fills the table
of waiting sign-ins nor reaches the providers.

Desk staff can clear a card's lock (``clear``): a ``cleared`` attempt starts the card's count
again, as a success does; the attempts before it stay, to be seen.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address, ip_network

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Engine,
    bindparam,
    func,
    insert,
    literal,
    union_all,
    update,
)
from sqlmodel import Session, col, select

from identity.settings import GUESSES, rates
from identity.store.database import lock, transaction, without_waiting_for_disk
from identity.store.models import LoginAttempt, as_utc, utcnow

Window = tuple[int, timedelta]


@dataclass(frozen=True)
class Counted:
    """Which attempts fill a window: those ending in ``outcomes``, since the latest success
    if ``reset``."""

    outcomes: tuple[str, ...]
    reset: bool


CARD = Counted(("pending", "failure"), reset=True)
ADDRESS = Counted(("pending", "failure", "unanswered"), reset=False)
STARTS = Counted(("started",), reset=False)
#: the ``card_key`` of a start: there is no card
STARTED = "identity provider"
#: the outcomes after which a card's count starts again
RESETS = ("success", "cleared")


@dataclass(frozen=True)
class Limits:
    per_card: tuple[Window, ...]
    per_address: tuple[Window, ...]

    @classmethod
    def parse(cls, per_card: str, per_address: str) -> Limits:
        """From settings like ``"5/900,20/86400"`` (failures/seconds, all must hold)."""
        return cls(windows(per_card), windows(per_address))


class TooManyAttempts(Exception):
    """Refused before the home library was asked; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; try again in {retry_after} s")
        self.retry_after = retry_after


def card_key(secret: str, library: str, card: str) -> str:
    """The card as stored: an HMAC, so the table of attempts holds no card numbers."""
    return hmac.new(secret.encode(), f"{library}\n{card}".encode(), hashlib.sha256).hexdigest()


def begin(
    *,
    engine: Engine,
    key: str,
    address: str,
    limits: Limits,
    now: datetime | None = None,
    lender: str | None = None,
) -> int:
    """Record an attempt for the card ``key`` from ``address`` (at ``lender``'s sign-in page),
    or raise ``TooManyAttempts``. One transaction: the two locks, one query for both counts,
    the new row."""
    now = now or utcnow()
    address = client_network(address)
    with transaction(engine) as session:
        lock(session, f"card:{key}")
        lock(session, f"address:{address}")
        full = waits(session, key=key, address=address, now=now, limits=limits)
        if full:
            raise TooManyAttempts(max(full))
        row = {"card_key": key, "address": address, "at": now, "outcome": "pending",
               "lender": lender}  # fmt: skip
        attempt: int = session.execute(_ADD, row).scalar_one()
        return attempt


def start(
    *, engine: Engine, address: str, per_address: tuple[Window, ...], now: datetime | None = None
) -> None:
    """Record a sign-in started at a library's identity provider from ``address``, or raise
    ``TooManyAttempts``. One transaction: the address's lock, its count, the new row."""
    now = now or utcnow()
    address = client_network(address)
    with transaction(engine) as session:
        lock(session, f"starts:{address}")
        full = _waits(session, LoginAttempt.address == address, now, per_address, STARTS)
        if full:
            raise TooManyAttempts(max(full))
        row = {"card_key": STARTED, "address": address, "at": now, "outcome": "started"}
        session.execute(_ADD, row)


def client_network(address: str) -> str:
    """What is counted as one client: an IPv4 address, or the /64 an IPv6 address is in (one
    client usually holds a whole /64)."""
    try:
        ip = ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ip_network(f"{ip}/64", strict=False))
    return str(ip)


def finish(*, engine: Engine, attempt: int, success: bool, unanswered: bool = False) -> None:
    """Record how the attempt ended. ``unanswered``: the home library could not be asked (or
    its answer read), so no guess was made: the attempt counts against the address only."""
    outcome = "unanswered" if unanswered else "success" if success else "failure"
    with transaction(engine) as session:
        # lost in a crash of the database, the attempt stays pending: a failure (fails closed)
        without_waiting_for_disk(session)
        session.execute(
            update(LoginAttempt).where(col(LoginAttempt.id) == attempt).values(outcome=outcome)
        )


def waits(session: Session, *, key: str, address: str, now: datetime, limits: Limits) -> list[int]:
    """Seconds to wait for each window of the card ``key`` and of ``address`` (a
    ``client_network``) that is full; none: the attempt may go ahead. One query (``_RECENT``):
    for each, the times of the attempts that count, newest first, only as many as its largest
    window allows, no older than its longest window, and for the card only those after its
    latest success. ``waits_per_window`` is the same, a query per window."""
    found: dict[str, list[datetime]] = {"card": [], "address": []}
    asked = {
        "card": key,
        "address": address,
        "card_since": now - max(window for _, window in limits.per_card),
        "address_since": now - max(window for _, window in limits.per_address),
        "card_n": max(n for n, _ in limits.per_card),
        "address_n": max(n for n, _ in limits.per_address),
    }
    for name, at in session.execute(_RECENT, asked):
        found[name].append(as_utc(at))
    return [
        *_full(found["card"], now, limits.per_card),
        *_full(found["address"], now, limits.per_address),
    ]


def _recent() -> CompoundSelect[tuple[str, datetime]]:
    """The query of ``waits``, made once: its values are bound parameters."""
    parts = []
    for name, column, counted in (
        ("card", LoginAttempt.card_key, CARD),
        # an address's count never restarts: one good card of one's own would otherwise let
        # an address guess at every other card without end
        ("address", LoginAttempt.address, ADDRESS),
    ):
        mine = column == bindparam(name)
        since: BindParameter[datetime] = bindparam(f"{name}_since")
        query = select(literal(name).label("counts"), col(LoginAttempt.at)).where(
            mine, col(LoginAttempt.outcome).in_(counted.outcomes), col(LoginAttempt.at) > since
        )
        if counted.reset:
            last_success = (
                select(func.max(LoginAttempt.at))
                .where(mine, col(LoginAttempt.outcome).in_(RESETS))
                .scalar_subquery()
            )
            query = query.where(col(LoginAttempt.at) > func.coalesce(last_success, since))
        newest = query.order_by(col(LoginAttempt.at).desc()).limit(bindparam(f"{name}_n"))
        parts.append(newest.subquery().select())
    return union_all(*parts)


_RECENT = _recent()
_ADD = insert(LoginAttempt).returning(col(LoginAttempt.id))


def waits_per_window(
    session: Session, *, key: str, address: str, now: datetime, limits: Limits
) -> list[int]:
    """``waits``, the readable way: a query for each window (and one for the card's latest
    success). Kept as what ``waits`` must equal (tested)."""
    return [
        *_waits(session, LoginAttempt.card_key == key, now, limits.per_card, CARD),
        *_waits(session, LoginAttempt.address == address, now, limits.per_address, ADDRESS),
    ]


def card_wait(session: Session, *, key: str, limits: Limits, now: datetime | None = None) -> int:
    """Seconds until the card ``key`` may try again (0: it is not locked)."""
    full = _waits(session, LoginAttempt.card_key == key, now or utcnow(), limits.per_card, CARD)
    return max(full, default=0)


def recent(session: Session, *, key: str, limit: int) -> list[LoginAttempt]:
    """The card ``key``'s latest ``limit`` attempts, newest first."""
    query = select(LoginAttempt).where(LoginAttempt.card_key == key)
    return list(session.exec(query.order_by(col(LoginAttempt.at).desc()).limit(limit)))


def clear(session: Session, *, key: str, now: datetime | None = None) -> None:
    """Clear the card ``key``'s lock, in the caller's transaction: a ``cleared`` attempt, after
    which its count starts again. Its client address's count is left as it is."""
    lock(session, f"card:{key}")
    row = {"card_key": key, "address": "", "at": now or utcnow(), "outcome": "cleared"}
    session.execute(_ADD, row)


def _full(times: list[datetime], now: datetime, limits: tuple[Window, ...]) -> list[int]:
    """Seconds to wait for each window that the attempts made at ``times`` fill."""
    newest = sorted(times, reverse=True)
    full = []
    for allowed, window in limits:
        inside = [at for at in newest if at > now - window][:allowed]
        if len(inside) >= allowed:
            full.append(max(1, math.ceil((inside[-1] + window - now).total_seconds())))
    return full


def _waits(
    session: Session,
    condition: object,
    now: datetime,
    limits: tuple[Window, ...],
    counted: Counted,
) -> list[int]:
    """Seconds to wait for each window that is full (none: the attempt may go ahead). With
    ``counted.reset``, failures before the latest success do not count."""
    last_success = None
    if counted.reset:
        last_success = session.exec(
            select(func.max(LoginAttempt.at)).where(
                condition,  # type: ignore[arg-type]
                col(LoginAttempt.outcome).in_(RESETS),
            )
        ).one()
    full = []
    for allowed, window in limits:
        since = now - window
        if last_success is not None and as_utc(last_success) > since:
            since = as_utc(last_success)
        failures = session.exec(
            select(LoginAttempt.at)
            .where(
                condition,  # type: ignore[arg-type]
                col(LoginAttempt.outcome).in_(counted.outcomes),
                col(LoginAttempt.at) > since,
            )
            .order_by(col(LoginAttempt.at).desc())
            .limit(allowed)
        ).all()
        if len(failures) >= allowed:
            oldest = as_utc(failures[-1])
            full.append(max(1, math.ceil((oldest + window - now).total_seconds())))
    return full


def windows(text: str) -> tuple[Window, ...]:
    """From a setting like ``"5/900,20/86400"``."""
    return tuple((count, timedelta(seconds=seconds)) for count, seconds in rates(text, GUESSES))
