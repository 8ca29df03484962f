"""Token introspection (RFC 7662). A client may introspect only the tokens issued to it; any
other token, like an unknown, expired, spent or revoked one, is ``{"active": false}``."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlmodel import Session

from identity.oauth import tokens
from identity.oauth.endpoints.hints import CheckedHint
from identity.oauth.row_adapters import StoredToken
from identity.store.models import as_utc


class Introspection(CheckedHint, IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        with Session(self.server.engine) as session:
            row = tokens.find(session=session, token=token_string, hint=token_type_hint)
        return None if row is None else StoredToken(row, token_string)

    def check_permission(self, token: StoredToken, client: Any, request: Any) -> bool:
        return bool(token.check_client(client))

    def introspect_token(self, token: StoredToken) -> dict[str, Any]:
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
