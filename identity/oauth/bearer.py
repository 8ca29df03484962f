"""The access token a request brings as ``Authorization: Bearer`` (RFC 6750), for the hub's own
APIs: a client-credentials token (checked without the database when the request has synced:
``identity.oauth.client_tokens``), or a sign-in's stored access token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from identity.oauth import client_tokens, tokens
from identity.oauth.client import Client
from identity.store.models import OAuthToken

if TYPE_CHECKING:
    from identity.oauth.server import HubServer


@dataclass(frozen=True)
class Bearer:
    client: Client
    scope: str

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


def live(server: HubServer, token: str) -> Bearer | None:
    """The client and scope of the live access token ``token``, or None (unknown, expired,
    revoked, a refresh token, or its client disabled or gone)."""
    found = client_tokens.check(server, token)
    if found is not None:
        return Bearer(found.client, found.scope)
    digest = tokens.digest(token)
    with Session(server.engine) as session:
        row = session.exec(select(OAuthToken).where(OAuthToken.access_sha256 == digest)).first()
    if row is None or not tokens.active(row, token):
        return None
    client = server.query_client(row.client_id)
    return None if client is None else Bearer(client, row.scope)
