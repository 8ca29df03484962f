"""Home-library connectors (docs/connectors.md): how the hub asks a home library about a card.

Every connector answers the same two questions with the same typed result, so the sign-in
flow and the eligibility API never know which kind of home library they talk to:

- ``authenticate(card, pin)``: the card holder if the card exists and the PIN is right, else
  None; one answer for a wrong card and a wrong PIN.
- ``lookup(card)``: the card holder without a PIN (for the eligibility API), or None.

A connector that can look many cards up at once (the registry: one query) also answers
``lookup_many(cards)`` (``ManyCards``): the holders of those it has, by card. The eligibility
API's batch asks it once per home library rather than once per card.

A home library that cannot be reached, times out or answers garbage raises
``HomeLibraryUnavailable``: callers answer 503, never a guess. The ``category`` a connector
returns is the home ILS's code; the caller maps it with ``policies.Library.hub_category``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True, kw_only=True)
class CardHolder:
    """What a home library says about one of its cards."""

    library: str
    card: str
    name: str
    category: str  # the home ILS's code
    expires: date | None  # None: the card does not expire
    fines: Decimal
    flags: frozenset[str]
    #: the card at the library's standing source, as the sign-in's own record gives it (a
    #: directory entry's ``match`` attribute), for a library that names one
    standing_card: str | None = None


class HomeLibraryUnavailable(Exception):
    """The home library could not be asked (down, timed out, garbled); try again later."""

    def __init__(self, library: str, detail: str, retry_after: int = 30) -> None:
        super().__init__(f"{library}: {detail}")
        self.library = library
        self.reason = detail
        self.retry_after = retry_after


class Connector(Protocol):
    def authenticate(self, card: str, pin: str) -> CardHolder | None: ...

    def lookup(self, card: str) -> CardHolder | None: ...


@runtime_checkable
class ManyCards(Protocol):
    def lookup_many(self, cards: Sequence[str]) -> dict[str, CardHolder]: ...
