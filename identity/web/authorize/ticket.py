"""The consent ticket: who signed in, carried from the sign-in post to the consent post.

The patron as the home library described them, encrypted with a key derived from the hub's
secret, bound to this authorization request in this browser (its query string and CSRF
cookie), alive ten minutes, and good for one answer: spent in the transaction that saves the
code, or on its own for a refusal, so a second post of the same ticket (the back button, another
tab) is no answer.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from cryptography.fernet import InvalidToken
from fastapi import Request
from sqlalchemy.exc import IntegrityError

from identity.oauth.grants.authorization_code import Consent
from identity.oauth.patron import Patron
from identity.oauth.server import HubServer
from identity.security import derived_keys
from identity.store.database import transaction
from identity.store.models import SpentTicket, utcnow
from identity.web.pages import csrf_cookie

TICKET_TTL_S = 600


def _fingerprint(request: Request) -> str:
    """What a consent ticket is bound to: this authorization request, in this browser."""
    cookie = request.cookies.get(csrf_cookie(request), "")
    return hashlib.sha256(f"{request.url.query}\n{cookie}".encode()).hexdigest()


def write_ticket(server: HubServer, request: Request, patron: Patron) -> str:
    """The patron as the home library described them, encrypted, for the consent post."""
    data = {"id": secrets.token_urlsafe(24), "request": _fingerprint(request),
            "patron": patron.to_json()}  # fmt: skip
    return (
        derived_keys.fernet(server.secret, "consent ticket")
        .encrypt(json.dumps(data).encode())
        .decode()
    )


def read_ticket(server: HubServer, request: Request, ticket: str) -> Consent | None:
    """The patron of a genuine ticket, for this request and browser, as a ``Consent`` to be
    answered: an answer spends the ticket (``spend_ticket``, or with the code it saves), and a
    ticket spent already is no answer."""
    try:
        data = json.loads(
            derived_keys.fernet(server.secret, "consent ticket").decrypt(
                ticket.encode(), ttl=TICKET_TTL_S
            )
        )
    except (InvalidToken, ValueError):
        return None
    if data.get("request") != _fingerprint(request):
        return None
    return Consent(Patron.from_json(data["patron"]), data["id"])


def spend_ticket(server: HubServer, consent: Consent) -> bool:
    """Spend the ticket of a consent refused; False if it was spent already."""
    try:
        with transaction(server.engine) as session:
            session.add(SpentTicket(ticket=consent.ticket, at=utcnow()))
    except IntegrityError:
        return False  # answered already (a second post, the back button, another tab)
    return True
