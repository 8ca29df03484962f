"""A relying party built from Authlib's OAuth client (not the hub's code): it makes the
authorization URL with PKCE, state and nonce, exchanges the code, and verifies the ID token
against the JWKS the hub publishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tests.conftest import TLS
from tests.identity.oauth.browser import Browser

SCOPE = "openid profile membership borrowing"


@dataclass
class RelyingParty:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scope: str = SCOPE
    verifier: str = field(default_factory=lambda: generate_token(64))
    nonce: str = field(default_factory=lambda: generate_token(20))
    state: str = ""

    def oauth(self) -> OAuth2Client:
        return OAuth2Client(
            self.client_id,
            self.client_secret,
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            verify=TLS,
        )

    def authorization_url(self, **extra: str) -> str:
        """A new authorization request (fresh verifier, nonce and state)."""
        self.verifier, self.nonce = generate_token(64), generate_token(20)
        with self.oauth() as client:
            url, self.state = client.create_authorization_url(
                f"{self.issuer}/authorize", code_verifier=self.verifier, nonce=self.nonce, **extra
            )
        return str(url)

    def exchange(self, callback: str) -> dict[str, Any]:
        """The token response for the hub's redirect back (``callback``: its Location)."""
        with self.oauth() as client:
            token = client.fetch_token(
                f"{self.issuer}/token",
                authorization_response=callback,
                state=self.state,
                code_verifier=self.verifier,
            )
        return dict(token)

    def sign_in(self, browser: Browser, card: str, pin: str | None = None) -> dict[str, Any]:
        back = browser.sign_in(self.authorization_url(), card=card, pin=pin or card[-4:])
        assert back.status_code == 302, back.text
        return self.exchange(back.headers["location"])

    def verify(self, id_token: str, nonce: str | None = None) -> dict[str, Any]:
        """The ID token's claims, its signature checked against the published JWKS (and its
        nonce against ``nonce``, or that of the latest authorization request)."""
        keys = KeySet.import_key_set(httpx.get(f"{self.issuer}/jwks.json", verify=TLS).json())
        token = jwt.decode(id_token, keys, algorithms=["RS256"])
        JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": nonce or self.nonce},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(token.claims)
        return dict(token.claims)
