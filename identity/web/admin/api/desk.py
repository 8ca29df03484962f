"""Desk tools: a card's recent sign-in attempts and its lock, and clearing the lock
(``identity.admin.desk``). The card goes in the body, never in the address (kept out of access
logs)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from identity import errors
from identity.admin import desk
from identity.security.guessing_limits import Limits
from identity.settings import Settings
from identity.store.database import transaction
from identity.web.admin.api.auth import AUTH, ApiAdmin
from identity.web.admin.deps import engine_of, in_force, secret_of
from identity.web.deps import client_address
from identity.web.problems import responses

router = APIRouter()
ANSWERS = responses(*AUTH, errors.NotPermitted, errors.NotFound)


class CardIn(BaseModel):
    library: str = Field(max_length=64, description="The card's home library (its id)")
    card: str = Field(max_length=512, description="The card number, as the patron types it")


class AttemptOut(BaseModel):
    at: datetime
    lender: str = Field(description="The lender whose sign-in page it was; empty: staff")
    outcome: str = Field(description="success, failure, pending, unanswered or cleared")
    said: str = Field(description="The outcome, in words")


class CardOut(BaseModel):
    library: str
    locked: bool
    retry_after: int = Field(description="Seconds until the card may try again; 0: not locked")
    attempts: list[AttemptOut] = Field(description="The latest attempts, newest first")

    @classmethod
    def of(cls, card: desk.Card) -> CardOut:
        return cls(
            library=card.library,
            locked=card.locked,
            retry_after=card.locked_for,
            attempts=[AttemptOut(at=a.at, lender=a.lender, outcome=a.outcome, said=a.said)
                      for a in card.attempts],
        )  # fmt: skip


def _limits(request: Request) -> Limits:
    settings: Settings = request.app.state.settings
    return Limits.parse(settings.guesses_per_card, settings.guesses_per_address)


@router.post("/desk/card", summary="A card's recent sign-in attempts and its lock",
             responses=ANSWERS)  # fmt: skip
def card_attempts(request: Request, admin: ApiAdmin, body: CardIn) -> CardOut:
    with Session(engine_of(request)) as session:
        agreements = in_force(request, session)
        library, card = desk.read(agreements, admin, body.library, body.card)
        found = desk.look(session, agreements, library=library, card=card,
                          secret=secret_of(request), limits=_limits(request))  # fmt: skip
    return CardOut.of(found)


@router.post("/desk/card/unlock", summary="Clear a card's sign-in lock (audited)",
             responses=ANSWERS)  # fmt: skip
def unlock_card(request: Request, admin: ApiAdmin, body: CardIn) -> CardOut:
    secret, limits = secret_of(request), _limits(request)
    with transaction(engine_of(request)) as session:
        agreements = in_force(request, session)
        library, card = desk.read(agreements, admin, body.library, body.card)
        desk.clear_lock(session, admin, library=library, card=card, secret=secret,
                        limits=limits, address=client_address(request))  # fmt: skip
    with Session(engine_of(request)) as session:
        found = desk.look(session, agreements, library=library, card=card, secret=secret,
                          limits=limits)  # fmt: skip
    return CardOut.of(found)
