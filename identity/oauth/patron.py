"""A signed-in patron: what the home library said about the card at sign-in.

Kept with the authorization code and the tokens issued from it (as JSON), so that the claims a
lender receives are the ones the patron agreed to on the consent page.

A patron who signed in at their library's own identity provider (``via`` ``oidc`` or
``saml``) has the provider's patron identifier as ``card`` and, unless the library's standing
source said more, no known standing (``standing_known`` false): no fines, no flags and no
expiry are then what nobody knows, not a clean record. When the standing source said, its
card is ``standing_card`` (so that the eligibility API can ask it again, by ``patron``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from identity.patrons.connectors import CardHolder
from identity.patrons.connectors.federated import FederatedPatron


@dataclass(frozen=True, slots=True, kw_only=True)
class Patron:
    home_library: str
    card: str
    name: str
    ils_category: str
    category: str | None  # the hub category; None when the library's map does not know the code
    expires: date | None
    fines: Decimal
    flags: frozenset[str]
    auth_time: int  # when the PIN was checked, or the identity provider answered (POSIX s)
    #: how the patron proved membership: ``pin`` (card and PIN), ``oidc`` or ``saml``
    via: str = "pin"
    #: whether fines, flags and expiry are the home library's word (False: nobody said)
    standing_known: bool = True
    #: the patron's card at their library's standing source (a federated sign-in), if any
    standing_card: str | None = None

    @classmethod
    def signed_in(
        cls,
        holder: CardHolder,
        category: str | None,
        auth_time: int,
        *,
        standing_known: bool = True,
    ) -> Patron:
        """A patron whose card (or username) and PIN (or password) the home library checked;
        ``standing_known`` false for a directory that says nothing of fines and flags."""
        return cls(
            home_library=holder.library,
            card=holder.card,
            name=holder.name,
            ils_category=holder.category,
            category=category,
            expires=holder.expires,
            fines=holder.fines,
            flags=holder.flags,
            auth_time=auth_time,
            standing_known=standing_known,
            standing_card=holder.standing_card if standing_known else None,
        )

    @classmethod
    def federated(
        cls,
        who: FederatedPatron,
        category: str | None,
        auth_time: int,
        via: str,
        *,
        standing: CardHolder | None = None,
    ) -> Patron:
        """A patron the library's identity provider vouched for: a member today; their
        standing as the library's standing source gave it (``standing``), else not known."""
        return cls(
            home_library=who.library,
            card=who.patron_id,
            name=who.name,
            ils_category=who.category,
            category=category,
            expires=None if standing is None else standing.expires,
            fines=Decimal(0) if standing is None else standing.fines,
            flags=frozenset() if standing is None else standing.flags,
            auth_time=auth_time,
            via=via,
            standing_known=standing is not None,
            standing_card=None if standing is None else standing.card,
        )

    @property
    def standing_from(self) -> str:
        """Who said what ``standing`` is: ``home_library`` (the card was checked there),
        ``standing_source`` (a federated sign-in; the library's standing source), or ``none``
        (a federated sign-in that proves membership only)."""
        if not self.standing_known:
            return "none"
        return "standing_source" if self.standing_card is not None else "home_library"

    def to_json(self) -> dict[str, Any]:
        return {
            "home_library": self.home_library,
            "card": self.card,
            "name": self.name,
            "ils_category": self.ils_category,
            "category": self.category,
            "expires": None if self.expires is None else self.expires.isoformat(),
            "fines": str(self.fines),
            "flags": sorted(self.flags),
            "auth_time": self.auth_time,
            "via": self.via,
            "standing_known": self.standing_known,
            "standing_card": self.standing_card,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Patron:
        return cls(
            home_library=data["home_library"],
            card=data["card"],
            name=data["name"],
            ils_category=data["ils_category"],
            category=data["category"],
            expires=None if data["expires"] is None else date.fromisoformat(data["expires"]),
            fines=Decimal(data["fines"]),
            flags=frozenset(data["flags"]),
            auth_time=int(data["auth_time"]),
            via=str(data.get("via", "pin")),
            standing_known=bool(data.get("standing_known", True)),
            standing_card=data.get("standing_card"),
        )
