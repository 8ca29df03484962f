"""Registering OAuth clients (``hub clients add``).

A relying party (``rp``) is a lender's web app using the authorization code flow: it needs
exact redirect URIs (https, or http only on the loopback interface; no fragment), and is
confidential unless registered ``public`` (then PKCE is its only protection). A ``partner`` is a
library system using client credentials for the eligibility API: it has no redirect URI.

Rotating a client's secret (``hub clients rotate-secret``), disabling it (``hub clients
disable``), revoking its tokens (``hub clients revoke``) or removing it (``hub clients remove``)
ends every token it holds, at once, in every process of the hub: the stored ones are revoked,
and the client's epoch moves on, which client-credentials tokens name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session, select

from identity.admin import audit
from identity.oauth import tokens
from identity.store.models import OAuthClient, utcnow

RP_SCOPES = ["openid", "profile", "membership", "borrowing"]
PARTNER_SCOPES = ["eligibility"]


class ClientRefused(ValueError):
    """The registration asked for is not allowed; nothing was registered."""


@dataclass(frozen=True)
class Registered:
    client_id: str
    client_secret: str | None  # shown once; only its hash is kept


def add_client(
    *,
    session: Session,
    library: str,
    kind: str,
    redirect_uris: list[str],
    actor: str,
    post_logout_redirect_uris: list[str] | None = None,
    public: bool = False,
    card_number: bool = False,
    client_id: str | None = None,
    secret: str | None = None,
) -> Registered:
    """Register a client. ``client_id`` and ``secret`` are chosen at random unless given (the
    demo gives them, so that a reused demo database can print its credentials again)."""
    if kind == "rp":
        if not redirect_uris:
            raise ClientRefused("a relying party needs at least one --redirect-uri")
        for uri in [*redirect_uris, *(post_logout_redirect_uris or [])]:
            check_redirect_uri(uri)
        scopes = [*RP_SCOPES, *(["card"] if card_number else [])]
    elif kind == "partner":
        if redirect_uris or post_logout_redirect_uris:
            raise ClientRefused("a partner client uses client credentials: no --redirect-uri")
        if public or card_number:
            raise ClientRefused("--public and --card-number are for relying parties")
        scopes = PARTNER_SCOPES
    else:
        raise ClientRefused(f"kind must be rp or partner, not {kind!r}")
    client_id = client_id or f"{library}-{kind}-{secrets.token_hex(6)}"
    secret = None if public else (secret or secrets.token_urlsafe(32))
    session.add(
        OAuthClient(
            client_id=client_id,
            secret_sha256=None if secret is None else secret_digest(secret),
            library=library,
            kind=kind,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris or []),
            scopes=scopes,
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action="clients.add",
        subject=f"client:{client_id}",
        after={
            "library": library,
            "kind": kind,
            "public": secret is None,
            "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(post_logout_redirect_uris or []),
            "scopes": scopes,
        },
    )
    return Registered(client_id, secret)


def rotate_secret(*, session: Session, client_id: str, actor: str) -> str:
    """Give a confidential client a new secret (returned, to be shown once); the old secret
    and every token the client holds stop working when the transaction commits."""
    row = _changing(session, client_id)
    if row.secret_sha256 is None:
        raise ClientRefused(f"client {client_id!r} is public: it has no secret")
    secret = secrets.token_urlsafe(32)
    row.secret_sha256 = secret_digest(secret)
    _end_tokens(session, row)
    audit.record(
        session=session,
        actor=actor,
        action="clients.rotate-secret",
        subject=f"client:{client_id}",
        after={"epoch": row.epoch},
    )
    return secret


def disable(*, session: Session, client_id: str, actor: str) -> None:
    """Refuse the client's requests and end every token it holds (``enable`` takes its
    requests again; the ended tokens stay ended)."""
    row = _changing(session, client_id)
    row.disabled_at = utcnow()
    _end_tokens(session, row)
    audit.record(
        session=session,
        actor=actor,
        action="clients.disable",
        subject=f"client:{client_id}",
        after={"epoch": row.epoch},
    )


def enable(*, session: Session, client_id: str, actor: str) -> None:
    row = _changing(session, client_id)
    row.disabled_at = None
    session.add(row)
    audit.record(
        session=session, actor=actor, action="clients.enable", subject=f"client:{client_id}"
    )


def revoke_tokens(*, session: Session, client_id: str, actor: str) -> None:
    """End every token the client holds, at once; it may get new ones (a leaked token, not a
    leaked secret: for that, ``rotate_secret``)."""
    row = _changing(session, client_id)
    _end_tokens(session, row)
    audit.record(
        session=session,
        actor=actor,
        action="clients.revoke",
        subject=f"client:{client_id}",
        after={"epoch": row.epoch},
    )


def remove(*, session: Session, client_id: str, actor: str) -> None:
    """Delete the client: its requests are refused and its tokens end, at once. The record of
    what it asked (eligibility lookups, the audit log) stays."""
    row = _changing(session, client_id)
    _end_tokens(session, row)
    before = {"library": row.library, "kind": row.kind, "redirect_uris": row.redirect_uris}
    session.delete(row)
    audit.record(
        session=session,
        actor=actor,
        action="clients.remove",
        subject=f"client:{client_id}",
        before=before,
    )


def clients(*, session: Session, library: str | None = None) -> list[OAuthClient]:
    """Every client (of ``library``), by library and id."""
    query = select(OAuthClient)
    if library is not None:
        query = query.where(OAuthClient.library == library)
    return sorted(session.exec(query).all(), key=lambda c: (c.library, c.client_id))


def _changing(session: Session, client_id: str) -> OAuthClient:
    """The client's row, locked until the transaction ends (a token being saved for it waits,
    then sees the change: ``tokens.save``)."""
    row = session.get(OAuthClient, client_id, with_for_update=True)
    if row is None:
        raise ClientRefused(f"no client {client_id!r}")
    return row


def _end_tokens(session: Session, row: OAuthClient) -> None:
    row.epoch += 1
    session.add(row)
    session.flush()
    tokens.revoke_client_tokens(session=session, client_id=row.client_id, now=utcnow())


def check_redirect_uri(uri: str) -> None:
    """Exact, absolute, https (http only for a loopback address), no fragment, no userinfo
    (RFC 6749 3.1.2, RFC 8252 7.3), and nothing that browsers and Python would read
    differently: no backslash, space or control character, only ASCII, and it must survive a
    parse and re-serialisation unchanged."""
    if any(c in uri for c in "\\ ") or not uri.isascii() or not uri.isprintable():
        raise ClientRefused(f"redirect URI {uri!r} has a backslash, space or unusual character")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ClientRefused(f"redirect URI {uri!r} is malformed: {exc}") from None
    if urlunsplit(parts) != uri:
        raise ClientRefused(f"redirect URI {uri!r} is not in its plain form")
    if parts.fragment or "#" in uri:
        raise ClientRefused(f"redirect URI {uri!r} has a fragment")
    if "@" in parts.netloc:
        raise ClientRefused(f"redirect URI {uri!r} has a user name in it")
    if parts.scheme == "https" and parts.hostname and "*" not in parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise ClientRefused(f"redirect URI {uri!r} must be https (http only for localhost)")


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: OAuthClient, secret: str) -> bool:
    if client.secret_sha256 is None:
        return False
    return hmac.compare_digest(client.secret_sha256, secret_digest(secret))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
