"""A registered client as Authlib's grants see it (``ClientMixin``, RFC 6749 section 2).

- ``rp`` (a lender's web app): response type ``code``; grants ``authorization_code`` and
  ``refresh_token``; authenticates with its secret (HTTP Basic or form), or not at all when
  registered public (then PKCE, which the hub requires of every client anyway, protects it);
- ``partner`` (a library system): ``client_credentials`` only, with its secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import ClientMixin

from identity.oauth.registration import secret_matches
from identity.store.models import OAuthClient

GRANTS = {
    "rp": frozenset({"authorization_code", "refresh_token"}),
    "partner": frozenset({"client_credentials"}),
}


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    row: OAuthClient

    @property
    def client_id(self) -> str:
        return self.row.client_id

    @property
    def library(self) -> str:
        return self.row.library

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def epoch(self) -> int:
        return self.row.epoch

    @property
    def disabled(self) -> bool:
        return self.row.disabled_at is not None

    @property
    def public(self) -> bool:
        return self.row.secret_sha256 is None

    @property
    def post_logout_redirect_uris(self) -> list[str]:
        return list(self.row.post_logout_redirect_uris)

    @property
    def client_metadata(self) -> dict[str, list[str]]:
        return {"post_logout_redirect_uris": list(self.row.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        # only when exactly one is registered: otherwise the request must say which
        uris = self.row.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes the client may have, in the order asked (RFC 6749 3.3); None
        (``invalid_scope``) when that leaves nothing. A partner asking for none gets all its
        scopes; a relying party must ask (OpenID Connect needs ``openid`` said)."""
        if not scope:
            return " ".join(self.row.scopes) if self.row.kind == "partner" else None
        allowed = set(self.row.scopes)
        granted = " ".join(dict.fromkeys(s for s in scope.split() if s in allowed))
        return granted or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exact string match

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return self.row.kind == "rp" and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANTS.get(self.row.kind, frozenset())
