"""Token revocation (RFC 7009). Revoking a refresh token revokes every token of its sign-in
(section 2.1: "SHOULD also invalidate all access tokens based on the same authorization
grant"); revoking an access token revokes it and the refresh token issued with it; a
client-credentials token is refused from then on by every instance of the hub. An unknown
token is answered 200, as the RFC asks."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from sqlalchemy import update
from sqlmodel import col

from identity.oauth import client_tokens, tokens
from identity.oauth.client_tokens import ClientToken
from identity.oauth.endpoints.hints import CheckedHint
from identity.oauth.endpoints.introspection import query
from identity.oauth.row_adapters import StoredToken
from identity.store.database import transaction
from identity.store.models import OAuthToken, utcnow


class Revocation(CheckedHint, RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> ClientToken | StoredToken | None:
        return query(self.server, token_string, token_type_hint)

    def revoke_token(self, token: ClientToken | StoredToken, request: Any) -> None:
        if isinstance(token, ClientToken):
            client_tokens.revoke(self.server, token)
            return
        with transaction(self.server.engine) as session:
            if tokens.is_refresh(token.row, token.presented):
                tokens.revoke_family(session=session, family=token.row.family)
            else:
                session.execute(
                    update(OAuthToken)
                    .where(col(OAuthToken.id) == token.row.id, col(OAuthToken.revoked_at).is_(None))
                    .values(revoked_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
