"""The ``registry`` connector: patrons imported into the hub (``hub patrons import``).

``lookup`` and ``lookup_many`` (the eligibility API's questions, many at a time in a batch) read
the holder's columns in one query, without the ORM's objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, bindparam
from sqlalchemy import select as select_columns
from sqlmodel import Session, select

from identity.patrons.connectors import CardHolder
from identity.security import passwords
from identity.store import database
from identity.store.database import transaction
from identity.store.models import RegistryPatron, utcnow

MAX_PIN = 64
TABLE = RegistryPatron.__table__  # type: ignore[attr-defined]
PATRON = TABLE.c
#: what a lookup reads of a card's holder (``holder`` makes it a ``CardHolder``)
HOLDER_COLUMNS = (PATRON.card, PATRON.name, PATRON.category, PATRON.expires, PATRON.fines,
                  PATRON.flags)  # fmt: skip
_HOLDER = select_columns(*HOLDER_COLUMNS).where(PATRON.library == bindparam("library"))
_ONE = _HOLDER.where(PATRON.card == bindparam("card"))
_MANY = _HOLDER.where(PATRON.card.in_(bindparam("cards", expanding=True)))


def holder(library: str, row: Sequence[Any]) -> CardHolder:
    """The holder of a card of ``library`` from the ``HOLDER_COLUMNS`` of its row."""
    card, name, category, expires, fines, flags = row
    return CardHolder(
        library=library, card=card, name=name, category=category, expires=expires, fines=fines,
        flags=frozenset(flags),
    )  # fmt: skip


class RegistryConnector:
    def __init__(self, library: str, engine: Engine) -> None:
        self.library = library
        self.engine = engine

    def authenticate(self, card: str, pin: str) -> CardHolder | None:
        if not pin:
            raise ValueError("an empty PIN is refused before any connector is asked")
        if len(pin) > MAX_PIN:
            return None  # no stored PIN is this long (the import refuses them)
        with Session(self.engine) as session:
            patron = self._find(session, card)
            holder = None if patron is None else _holder(patron)
            stored = None if patron is None else patron.pin_hash
        # the hash with no connection held: an unknown card costs one verification too
        ok, upgraded = passwords.verify(pin, stored)
        if not ok or holder is None:
            return None
        if upgraded is not None:  # an imported bcrypt hash becomes argon2id
            with transaction(self.engine) as session:
                row = self._find(session, card)
                if row is not None:
                    row.pin_hash, row.updated_at = upgraded, utcnow()
        return holder

    def lookup(self, card: str) -> CardHolder | None:
        return self.lookup_many([card]).get(card)

    def lookup_many(self, cards: Sequence[str]) -> dict[str, CardHolder]:
        """The holders of those of ``cards`` that this library has, by card, in one query."""
        if not cards:
            return {}
        one = len(cards) == 1
        wanted = {"card": cards[0]} if one else {"cards": sorted(set(cards))}
        # a read alone: no transaction to begin and roll back (PostgreSQL: one round trip)
        with database.reading(self.engine) as connection:
            rows = connection.execute(_ONE if one else _MANY, {"library": self.library, **wanted})
            return {row.card: holder(self.library, row) for row in rows}

    def _find(self, session: Session, card: str) -> RegistryPatron | None:
        query = select(RegistryPatron).where(
            RegistryPatron.library == self.library, RegistryPatron.card == card
        )
        return session.exec(query).first()


def _holder(patron: RegistryPatron) -> CardHolder:
    return CardHolder(
        library=patron.library,
        card=patron.card,
        name=patron.name,
        category=patron.category,
        expires=patron.expires,
        fines=patron.fines,
        flags=frozenset(patron.flags),
    )
