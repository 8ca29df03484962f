"""Rows as Authlib's grants and endpoints see them (``AuthorizationCodeMixin``, ``TokenMixin``)."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from identity.oauth import tokens
from identity.store.models import AuthorizationCode, OAuthToken


@dataclass(frozen=True)
class StoredCode(AuthorizationCodeMixin):  # type: ignore[misc]
    row: AuthorizationCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return self.row.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str] | None:
        """RFC 8176: a PIN is a password; how a library's identity provider checked the
        patron, the hub did not see (no ``amr``)."""
        return ["pwd"] if self.row.patron.get("via", "pin") == "pin" else None

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method


@dataclass(frozen=True)
class StoredToken(TokenMixin):  # type: ignore[misc]
    """A token row, seen through the token text that was presented (access or refresh)."""

    row: OAuthToken
    presented: str

    def check_client(self, client: ClientMixin) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:  # both read back alike, so the zone does not matter
        return int((self.row.expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return not tokens.active(self.row, self.presented) and self.row.revoked_at is None

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or (
            tokens.is_refresh(self.row, self.presented) and self.row.refresh_used_at is not None
        )
