"""Token introspection (RFC 7662). A client may introspect only the tokens issued to it; any
other token, like an unknown, expired, spent or revoked one, is ``{"active": false}``."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlmodel import Session

from identity.oauth import client_tokens, tokens
from identity.oauth.client_tokens import ClientToken
from identity.oauth.endpoints.hints import CheckedHint
from identity.oauth.row_adapters import StoredToken
from identity.store.models import as_utc


class Introspection(CheckedHint, IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> ClientToken | StoredToken | None:
        return query(self.server, token_string, token_type_hint)

    def check_permission(self, token: ClientToken | StoredToken, client: Any, request: Any) -> bool:
        return bool(token.check_client(client))

    def introspect_token(self, token: ClientToken | StoredToken) -> dict[str, Any]:
        if isinstance(token, ClientToken):
            return {
                "active": True,
                "scope": token.scope,
                "client_id": token.client.client_id,
                "token_type": "Bearer",
                "exp": token.expires_at,
                "iat": token.issued_at,
                "sub": token.client.client_id,
                "aud": self.server.issuer,
                "iss": self.server.issuer,
                "jti": token.jti,
            }
        row = token.row
        refresh = tokens.is_refresh(row, token.presented)
        expires = row.refresh_expires_at if refresh else row.expires_at
        assert expires is not None
        return {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "token_type": "refresh_token" if refresh else "Bearer",
            "exp": int(as_utc(expires).timestamp()),
            "iat": int(as_utc(row.issued_at).timestamp()),
            "sub": row.subject,
            "aud": self.server.issuer,
            "iss": self.server.issuer,
            "jti": row.jti,
        }


def query(server: Any, token: str, hint: str | None) -> ClientToken | StoredToken | None:
    """A live client-credentials token, or the stored row of a sign-in's token (live or not)."""
    if hint != "refresh_token":
        found = client_tokens.check(server, token)
        if found is not None:
            return found
    with Session(server.engine) as session:
        row = tokens.find(session=session, token=token, hint=hint)
    return None if row is None else StoredToken(row, token)
