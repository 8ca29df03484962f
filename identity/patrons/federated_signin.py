"""Sign-ins that wait at a library's own identity provider (SAML 2.0, OpenID Connect), kept in
the database (``federated_signin``) so that any instance of the hub can take the answer.

A sign-in goes through three steps, each done at most once:

1. ``begin``: the sign-in page's post names a library that signs its patrons in itself. A new
   *handle* (256 random bits) is made; the protocol makes the provider's URL from it (the
   handle is OpenID's ``state``, SAML's ``RelayState``) and says what the answer must carry
   back (``Departure``); the row holds the handle's SHA-256, the waiting authorization request
   (its query string), and the browser's *binding*: the SHA-256 of a random cookie set as the
   browser leaves. It lives ``PENDING_TTL``.
2. ``take``: the provider's answer comes back with the handle. The row is spent in the
   statement that finds it (``UPDATE … WHERE used_at IS NULL``), so an answer is taken once,
   whatever it says; when the binding cookie came back too it must be this row's (OpenID's
   callback is a top-level GET: the ``SameSite=Lax`` cookie always comes, and the web flow
   requires it; SAML's POST from the provider's site carries no such cookie). The protocol
   then checks the answer; a sign-in is kept on the row (``signed_in``), encrypted.
3. ``resume``: the browser is sent back to the waiting ``/authorize`` request, a top-level GET
   that carries the binding cookie: the row whose binding and request both match, signed in
   and not yet continued, gives its patron, once, for the consent page. So an answer posted
   from another browser (a SAML response replayed, a forged RelayState) never becomes a
   sign-in here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Engine, update
from sqlmodel import col

import policies
from identity.security import derived_keys
from identity.store.database import transaction
from identity.store.models import FederatedSignin, utcnow

#: how long a patron has at their identity provider, and then to reach the consent page
PENDING_TTL = timedelta(minutes=10)
_PURPOSE = "federated sign-in"


@dataclass(frozen=True, slots=True)
class Departure:
    """Where the protocol sends the browser, and what the answer must carry back."""

    url: str
    #: OpenID's ``nonce``, or the ID of the SAML authentication request (``InResponseTo``)
    expects: str
    #: OpenID's PKCE code verifier
    verifier: str | None = None


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A sign-in whose answer has just been taken (``take``)."""

    library: str
    protocol: str
    expects: str
    verifier: str | None
    #: the query string of the waiting ``/authorize`` request
    authorization: str


class SignInRefused(Exception):
    """The provider's answer is no sign-in: it said no (``declined``: the patron cancelled or
    was refused there), or what it sent does not hold (a bad signature, another audience, the
    wrong nonce or request). ``str()`` is for the log, never for the patron."""

    def __init__(self, library: str, detail: str, *, declined: bool = False) -> None:
        super().__init__(f"{library}: {detail}")
        self.library = library
        self.detail = detail
        self.declined = declined


def category_of(library: policies.Library, values: Sequence[str]) -> str:
    """The category code a provider's values stand for, for ``FederatedPatron.category``: the
    first code of the library's ``categories`` map, in the map's order, among ``values`` (an
    attribute or claim may hold several: ``member@uni.example``, ``student@uni.example``), or
    else the first value (which the map does not know), or nothing."""
    mapped = [code for code in library.categories if code in values]
    return mapped[0] if mapped else (values[0] if values else "")


def new_binding() -> tuple[str, str]:
    """A binding cookie's value, and the binding kept on the row."""
    value = secrets.token_urlsafe(32)
    return value, binding_of(value)


def binding_of(cookie: str) -> str:
    return hashlib.sha256(b"hub federated binding\n" + cookie.encode()).hexdigest()


def _row_id(handle: str) -> str:
    return hashlib.sha256(b"hub federated handle\n" + handle.encode()).hexdigest()


def begin(
    *,
    engine: Engine,
    library: str,
    protocol: str,
    authorization: str,
    binding: str,
    depart: Callable[[str], Departure],
) -> Departure:
    """Make a handle, let ``depart(handle)`` make the provider's URL, and keep the sign-in
    until the answer comes back."""
    handle = secrets.token_urlsafe(32)
    departure = depart(handle)
    now = utcnow()
    with transaction(engine) as session:
        session.add(
            FederatedSignin(
                id=_row_id(handle),
                library=library,
                protocol=protocol,
                expects=departure.expects,
                verifier=departure.verifier,
                authorization=authorization,
                binding=binding,
                created_at=now,
                expires_at=now + PENDING_TTL,
            )
        )
    return departure


def take(*, engine: Engine, handle: str, binding: str | None) -> PendingSignIn | None:
    """The sign-in ``handle`` names, spent by this call; None if there is none alive and
    unspent, or ``binding`` (given when the browser sent its cookie) is another browser's."""
    if not handle or len(handle) > 200:
        return None
    now = utcnow()
    where = [
        col(FederatedSignin.id) == _row_id(handle),
        col(FederatedSignin.used_at).is_(None),
        col(FederatedSignin.expires_at) > now,
    ]
    if binding is not None:
        where.append(col(FederatedSignin.binding) == binding)
    with transaction(engine) as session:
        found = session.execute(
            update(FederatedSignin)
            .where(*where)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
            .returning(
                col(FederatedSignin.library),
                col(FederatedSignin.protocol),
                col(FederatedSignin.expects),
                col(FederatedSignin.verifier),
                col(FederatedSignin.authorization),
            )
        ).first()
    if found is None:
        return None
    return PendingSignIn(*found)


def signed_in(*, engine: Engine, secret: str, handle: str, patron: dict[str, Any]) -> None:
    """Keep who signed in (a ``Patron``'s JSON, encrypted) for ``resume``."""
    sealed = derived_keys.fernet(secret, _PURPOSE).encrypt(json.dumps(patron).encode()).decode()
    with transaction(engine) as session:
        session.execute(
            update(FederatedSignin)
            .where(col(FederatedSignin.id) == _row_id(handle))
            .values(patron=sealed)
            .execution_options(synchronize_session=False)
        )


def resume(
    *, engine: Engine, secret: str, binding: str, authorization: str
) -> dict[str, Any] | None:
    """The patron of this browser's sign-in for this authorization request, once."""
    now = utcnow()
    with transaction(engine) as session:
        found = session.execute(
            update(FederatedSignin)
            .where(
                col(FederatedSignin.binding) == binding,
                col(FederatedSignin.authorization) == authorization,
                col(FederatedSignin.patron).is_not(None),
                col(FederatedSignin.continued_at).is_(None),
                col(FederatedSignin.expires_at) > now,
            )
            .values(continued_at=now)
            .execution_options(synchronize_session=False)
            .returning(col(FederatedSignin.patron))
        ).first()
    if found is None or found[0] is None:
        return None
    try:
        patron: dict[str, Any] = json.loads(
            derived_keys.fernet(secret, _PURPOSE).decrypt(found[0].encode())
        )
    except (InvalidToken, ValueError):
        return None
    return patron
