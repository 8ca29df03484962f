"""Desk tools for a home library's staff (docs/administration.md, Desk tools): a card's recent
sign-in attempts (when, at which lender's page, how each ended; a PIN is never kept) and whether
the guessing limits lock it, and clearing that lock (audited). Who may: ``rules``
(``check_may_serve_cards``): a library's own administrators, and consortium administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

import policies
from identity import errors
from identity.admin import audit
from identity.admin.accounts import Admin
from identity.agreements import rules
from identity.patrons import cards
from identity.security import guessing_limits
from identity.store.models import as_utc

#: how many of a card's attempts are shown
SHOWN = 20
#: what each outcome of an attempt means, in the words desk staff read
OUTCOMES = {
    "success": "Signed in",
    "failure": "Wrong card number or PIN",
    "pending": "Not finished (counts as a wrong PIN)",
    "unanswered": "The home library did not answer (not counted)",
    "cleared": "Lock cleared by staff",
}


@dataclass(frozen=True)
class Attempt:
    at: datetime
    #: the lender's name (its id if it has left the set), or "" for none
    lender: str
    outcome: str
    #: the outcome, in words
    said: str


@dataclass(frozen=True)
class Card:
    """A card as desk staff see it."""

    library: str
    card: str
    #: seconds until the card may try again; 0: not locked
    locked_for: int
    attempts: list[Attempt]

    @property
    def locked(self) -> bool:
        return self.locked_for > 0

    def as_json(self) -> dict[str, object]:
        return {
            "library": self.library,
            "card": self.card,
            "locked": self.locked,
            "retry_after": self.locked_for,
            "attempts": [
                {"at": a.at.isoformat(), "lender": a.lender, "outcome": a.outcome,
                 "said": a.said} for a in self.attempts
            ],
        }  # fmt: skip


def read(
    agreements: policies.Agreements, admin: Admin, library: str, typed: str
) -> tuple[policies.Library, str]:
    """The library and card desk staff asked about, once ``admin`` may serve its cards:
    ``NotPermitted``, ``NotFound`` for a library not in the set, ``InvalidRequest`` for text
    that is not one of its cards."""
    if not library:
        raise errors.InvalidRequest("Choose the card's home library.")
    rules.check_may_serve_cards(admin, library)
    found = agreements.libraries.get(library)
    if found is None:
        raise errors.NotFound(f"There is no library {library} in the agreements in force.")
    try:
        return found, cards.read_card(typed, found)
    except cards.NotACard as exc:
        raise errors.InvalidRequest(str(exc)) from exc


def look(
    session: Session,
    agreements: policies.Agreements,
    *,
    library: policies.Library,
    card: str,
    secret: str,
    limits: guessing_limits.Limits,
) -> Card:
    key = guessing_limits.card_key(secret, library.id, card)
    names = {lib.id: lib.name for lib in agreements.libraries.values()}
    attempts = [
        Attempt(
            at=as_utc(row.at),
            lender=names.get(row.lender, row.lender) if row.lender else "",
            outcome=row.outcome,
            said=OUTCOMES.get(row.outcome, row.outcome),
        )
        for row in guessing_limits.recent(session, key=key, limit=SHOWN)
    ]
    locked_for = guessing_limits.card_wait(session, key=key, limits=limits)
    return Card(library.id, card, locked_for, attempts)


def clear_lock(
    session: Session,
    admin: Admin,
    *,
    library: policies.Library,
    card: str,
    secret: str,
    limits: guessing_limits.Limits,
    address: str | None,
) -> None:
    """Clear the card's lock and record who did, in the caller's transaction. The audit log
    keeps the card's last four characters only (it is read more widely than the desk)."""
    rules.check_may_serve_cards(admin, library.id)
    key = guessing_limits.card_key(secret, library.id, card)
    waited = guessing_limits.card_wait(session, key=key, limits=limits)
    guessing_limits.clear(session, key=key)
    audit.record(
        session=session,
        actor=admin.email,
        action="card.unlock",
        subject=f"library:{library.id}",
        before={"library": library.id, "card": masked(card), "locked_for_seconds": waited},
        after={"library": library.id, "card": masked(card), "locked_for_seconds": 0},
        address=address,
    )


def masked(card: str) -> str:
    """``…0001``: enough to tell a card from another at the desk."""
    return "…" + card[-4:] if len(card) > 4 else "…"
