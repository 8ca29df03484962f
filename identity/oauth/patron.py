"""A signed-in patron: what the home library said about the card at sign-in.

Kept with the authorization code and the tokens issued from it (as JSON), so that the claims a
lender receives are the ones the patron agreed to on the consent page.

A patron who signed in at their library's own identity provider (``via`` ``oidc`` or
``saml``) has the provider's patron identifier as ``card`` and, unless a standing source said
more, no known standing (``standing_known`` false): no fines, no flags and no expiry are then
what nobody knows, not a clean record.
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

    @classmethod
    def signed_in(cls, holder: CardHolder, category: str | None, auth_time: int) -> Patron:
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
        )

    @classmethod
    def federated(
        cls, who: FederatedPatron, category: str | None, auth_time: int, via: str
    ) -> Patron:
        """A patron the library's identity provider vouched for: a member today, standing not
        known."""
        return cls(
            home_library=who.library,
            card=who.patron_id,
            name=who.name,
            ils_category=who.category,
            category=category,
            expires=None,
            fines=Decimal(0),
            flags=frozenset(),
            auth_time=auth_time,
            via=via,
            standing_known=False,
        )

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
        )
