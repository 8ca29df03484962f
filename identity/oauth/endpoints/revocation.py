"""Token revocation (RFC 7009). Revoking a refresh token revokes every token of its sign-in
(section 2.1: "SHOULD also invalidate all access tokens based on the same authorization
grant"); revoking an access token revokes it and the refresh token issued with it. An unknown
token is answered 200, as the RFC asks."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from sqlalchemy import update
from sqlmodel import Session, col

from identity.oauth import tokens
from identity.oauth.endpoints.hints import CheckedHint
from identity.oauth.row_adapters import StoredToken
from identity.store.database import transaction
from identity.store.models import OAuthToken, utcnow


class Revocation(CheckedHint, RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        with Session(self.server.engine) as session:
            row = tokens.find(session=session, token=token_string, hint=token_type_hint)
        return None if row is None else StoredToken(row, token_string)

    def revoke_token(self, token: StoredToken, request: Any) -> None:
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
