"""OpenID Connect Core 1.0 section 3.1 on the code grant: the ID token.

Signed RS256 with the active key (its ``kid`` in the header); ``aud`` is the client id as a
string; ``nonce`` only when the request had one (strict clients refuse ``"nonce": null``);
``sid`` names the sign-in, which RP-initiated logout ends.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from authlib.oidc.core import OpenIDCode as _OpenIDCode
from joserfc.jwk import KeySet

from identity.oauth import claims, tokens
from identity.oauth.signing_keys import ALG


class OpenIDCode(_OpenIDCode):  # type: ignore[misc]
    def __init__(self, server: Any) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Not here: ``/authorize`` checks it when the sign-in page is asked for (its
        ``nonce_unused`` step), and the code is saved only in a transaction that finds it
        unused (``AuthorizationCodeGrant.save_authorization_code``)."""
        return False

    def resolve_client_private_key(self, client: Any) -> KeySet:
        keyset: KeySet = self.server.signing_keyset()
        return keyset

    def get_client_algorithm(self, client: Any) -> str:
        return ALG

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": ALG, "typ": "JWT"}  # joserfc adds the one key's kid

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.server.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self.server.settings.token_lifetime_s,
        }

    def generate_user_info(self, user: tokens.Grantee, scope: str) -> dict[str, Any]:
        assert user.patron is not None
        with self.server.session() as session:
            agreements = self.server.in_force.get(session=session)
        found = claims.for_scope(
            patron=user.patron,
            scope=scope,
            sub=user.sub,
            lender=user.lender,
            agreements=agreements,
            today=date.today(),
        )
        return {**found, "sid": user.family}
