"""What a lender receives about a patron (docs/signing-in.md, Claims), scope by scope.

- ``openid``: ``sub``, pairwise per *lender library*: an HMAC of the lender, the home library
  and the card, so two lenders cannot correlate one patron, and one lender's clients agree;
- ``profile``: ``name``;
- ``membership``: ``home_library`` (id and name), ``patron_category``, ``card_expires``,
  ``standing`` (``"good"``, or the home library's blocking flags and ``card_expired``, or
  ``"unknown"`` for a patron whose identity provider proved membership only), and
  ``standing_from``: who said it (``home_library``: the card was checked there;
  ``standing_source``: a sign-in at the library's identity provider, standing from the
  library's standing source; ``none``: nobody, the standing is ``"unknown"``);
- ``borrowing``: the policy engine's decision for the client's own library, today;
- ``card``: ``card_number``, only for a client registered to see it (``--card-number``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from typing import Any

import policies
from identity.oauth.patron import Patron
from identity.patrons import advice

SCOPES = ["openid", "profile", "membership", "borrowing", "card", "eligibility"]
#: what each scope adds to the ID token and userinfo, for discovery and the consent page
CLAIMS = {
    "openid": ["sub"],
    "profile": ["name"],
    "membership": [
        "home_library",
        "patron_category",
        "card_expires",
        "standing",
        "standing_from",
    ],
    "borrowing": ["borrowing"],
    "card": ["card_number"],
}


def pairwise_sub(*, secret: str, lender: str, patron: Patron) -> str:
    """The patron's subject identifier at ``lender`` (OpenID Connect Core 8.1). It depends on
    ``HUB_SECRET_KEY``: changing the key changes every subject a lender holds."""
    key = hashlib.sha256(b"hub pairwise subject\n" + secret.encode()).digest()
    message = f"{lender}\n{patron.home_library}\n{patron.card}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def standing(patron: Patron, today: date) -> str | list[str]:
    if not patron.standing_known:
        return "unknown"  # never "good" when nobody said so
    reasons = set(patron.flags)
    if patron.expires is not None and patron.expires < today:
        reasons.add("card_expired")
    return sorted(reasons) or "good"


def borrow_request(*, patron: Patron, lender: str, today: date) -> policies.BorrowRequest:
    """What the evaluator is asked about ``patron`` at ``lender``; a category the home
    library's map does not know is asked as ``ils:<code>``, which no agreement covers."""
    return policies.BorrowRequest(
        lender=lender,
        home_library=patron.home_library,
        category=patron.category or f"ils:{patron.ils_category}",
        on=today,
        fines=patron.fines,
        flags=patron.flags,
        card_expires=patron.expires,
        standing_known=patron.standing_known,
    )


def borrowing(
    *, patron: Patron, lender: str, agreements: policies.Agreements, today: date
) -> dict[str, Any]:
    """``Decision.to_dict()`` for ``lender`` (``borrow_request``), each reason with its
    ``advice`` for the patron."""
    decision = agreements.decide(borrow_request(patron=patron, lender=lender, today=today))
    return advice.answer(decision, agreements)


def for_scope(
    *,
    patron: Patron,
    scope: str,
    sub: str,
    lender: str,
    agreements: policies.Agreements,
    today: date,
) -> dict[str, Any]:
    """The claims for ``scope`` (a space-separated list already narrowed to the client's)."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": sub}
    if "profile" in scopes:
        claims["name"] = patron.name
    if "membership" in scopes:
        home = agreements.libraries.get(patron.home_library)
        claims["home_library"] = {
            "id": patron.home_library,
            "name": home.name if home else patron.home_library,
        }
        claims["patron_category"] = patron.category
        claims["card_expires"] = None if patron.expires is None else patron.expires.isoformat()
        claims["standing"] = standing(patron, today)
        claims["standing_from"] = patron.standing_from
    if "borrowing" in scopes:
        claims["borrowing"] = borrowing(
            patron=patron, lender=lender, agreements=agreements, today=today
        )
    if "card" in scopes:
        claims["card_number"] = patron.card
    return claims
