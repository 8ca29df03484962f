"""Refresh token grant (RFC 6749 section 6), rotated on every use (RFC 9700 section 4.14.2).

The presented refresh token is spent in the statement that finds it; a new one comes with the
new access token. A refresh token presented a second time revokes its whole family.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from identity.oauth import tokens
from identity.oauth.patron import Patron
from identity.oauth.row_adapters import StoredToken


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        row = tokens.spend_refresh_token(
            engine=self.server.engine,
            refresh_token=refresh_token,
            client_id=self.request.client.client_id,
            scope=self.request.payload.scope,
        )
        return None if row is None else StoredToken(row, refresh_token)

    def authenticate_user(self, refresh_token: StoredToken) -> tokens.Grantee:
        row = refresh_token.row
        return tokens.Grantee(
            sub=row.subject,
            family=row.family,
            lender=self.request.client.library,
            patron=None if row.patron is None else Patron.from_json(row.patron),
            refresh_until=row.refresh_expires_at,
        )

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        """Nothing to do: the refresh token was spent when it was read."""
