"""Client-credentials access tokens (RFC 6749 4.4; JWT, RFC 9068) as the hub checks them.

They are not stored: the signed token says everything about itself (client, scope, expiry,
``jti``, and the client's epoch when it was issued). One is good while its signature verifies
with one of the hub's keys, it is an access token for this hub (``typ`` ``at+jwt``, ``iss`` and
``aud`` the issuer) and has not expired, its client is a partner that exists, is not disabled
and is still in that epoch (rotating the secret or disabling the client moves it on), and its
``jti`` has not been revoked (RFC 7009: a row in ``revoked_token``).

The checks read the server's caches when the request has synced with the database's changes,
so a change committed before the request began is always seen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry

from identity.oauth.client import Client
from identity.oauth.signing_keys import ALGS
from identity.oauth.tokens import EPOCH
from identity.store.database import transaction
from identity.store.models import RevokedToken

if TYPE_CHECKING:
    from identity.oauth.server import HubServer


@dataclass(frozen=True)
class ClientToken(TokenMixin):  # type: ignore[misc]
    """A live client-credentials access token, as Authlib's endpoints see a token."""

    client: Client
    jti: str
    scope: str
    issued_at: int
    expires_at: int

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_at - self.issued_at

    def is_expired(self) -> bool:
        return False  # only a live token is made into one

    def is_revoked(self) -> bool:
        return False


def check(server: HubServer, token: str) -> ClientToken | None:
    """The live client-credentials token ``token`` is, or None (any other token, or none)."""
    claims = _verified(server, token)
    if claims is None:
        return None
    client = server.query_client(str(claims.get("client_id")))
    if (
        client is None
        or client.kind != "partner"
        or claims.get("sub") != client.client_id
        or claims.get(EPOCH, 0) != client.epoch
        or not isinstance(claims.get("jti"), str)
        or server.is_revoked(claims["jti"])
    ):
        return None
    return ClientToken(
        client=client,
        jti=claims["jti"],
        scope=str(claims.get("scope", "")),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
    )


def revoke(server: HubServer, token: ClientToken) -> None:
    """Refuse ``token`` from now on, in every process (RFC 7009)."""
    with transaction(server.engine) as session:
        if session.get(RevokedToken, token.jti) is None:
            session.add(
                RevokedToken(
                    jti=token.jti,
                    client_id=token.client.client_id,
                    expires_at=datetime.fromtimestamp(token.expires_at, UTC),
                )
            )


def _verified(server: HubServer, token: str) -> dict[str, Any] | None:
    """The claims of ``token`` if it is an unexpired access token that this hub signed."""
    if token.count(".") != 2:
        return None
    try:
        # ES256; RS256 for the tokens signed before access tokens had a key of their own
        decoded = jwt.decode(token, server.public_keyset(), algorithms=list(ALGS))
        if decoded.header.get("typ") != "at+jwt":
            return None
        issuer: ClaimsOption = {"essential": True, "value": server.issuer}
        JWTClaimsRegistry(
            now=int(time.time()), leeway=0, iss=issuer, aud=issuer, exp={"essential": True}
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        return None
    claims: dict[str, Any] = decoded.claims
    return claims if isinstance(claims.get("iat"), int) else None
