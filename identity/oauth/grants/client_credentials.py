"""Client credentials grant (RFC 6749 section 4.4): a partner library system's token for the
eligibility API. Confidential clients only; no refresh token.

Authlib issues whatever scope was asked for, checked only against the server's list; here the
token carries only the scopes the client is registered for (RFC 6749 3.3), and all of them
when none is asked."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        scope = self.request.client.get_allowed_scope(self.request.payload.scope)
        if not scope:
            raise InvalidScopeError("None of the requested scopes is allowed for this client.")
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
