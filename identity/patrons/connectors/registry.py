"""The ``registry`` connector: patrons imported into the hub (``hub patrons import``)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.patrons.connectors import CardHolder
from identity.security import passwords
from identity.store.database import transaction
from identity.store.models import RegistryPatron, utcnow

MAX_PIN = 64


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
        with Session(self.engine) as session:
            patron = self._find(session, card)
            return _holder(patron) if patron else None

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
