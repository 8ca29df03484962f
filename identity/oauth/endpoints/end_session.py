"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The hub keeps no browser session: every sign-in asks for the card and PIN again, because a
lender's public terminal is shared. What a sign-in leaves behind are its tokens, so logging out
revokes the family named by the ID token's ``sid``. The browser goes back to the client's
``post_logout_redirect_uri`` only if it exactly matches one registered, and only with an
``id_token_hint`` this hub signed (an expired one is accepted, as the spec allows).
"""

from __future__ import annotations

from typing import Any

from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc.jwk import KeySet

from identity.oauth import tokens
from identity.store.database import transaction


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    def get_server_jwks(self) -> KeySet:
        return KeySet.import_key_set(self.server.published_jwks())

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        claims: dict[str, Any] | None = end_session_request.id_token_claims
        if not claims or not isinstance(claims.get("sid"), str):
            return
        with transaction(self.server.engine) as session:
            tokens.revoke_family(session=session, family=claims["sid"])
