"""Client credentials grant (RFC 6749 section 4.4): a partner library system's token for the
eligibility API. Confidential clients only; no refresh token."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
