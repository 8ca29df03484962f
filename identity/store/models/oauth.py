"""The OAuth server's tables: the clients, the signing keys, the authorization codes, the
tokens and their revocations, the answered consent tickets, and the counters that tell every
process when clients, keys or revocations have changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, Text
from sqlmodel import Field, SQLModel

from identity.store.models.clock import utcnow


class OAuthClient(SQLModel, table=True):
    """A system that talks OAuth to the hub, bound to one library: a lender's web app (``rp``,
    authorization code flow) or a library system (``partner``, client credentials). The secret
    is stored as its SHA-256: it is 256 random bits, so a slow hash would add nothing but
    latency to every token request.

    ``epoch`` counts the rotations of its secret and its disablings: a client-credentials
    access token names the epoch it was issued in, and is good only while that is the
    client's. A disabled client (``disabled_at``) gets no token and its tokens are refused."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=100)
    secret_sha256: str | None = Field(default=None, max_length=64)  # None: a public client
    library: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # rp | partner
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: where RP-initiated logout may send the browser back to (exact match)
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    epoch: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SigningKey(SQLModel, table=True):
    """A key that signs ID tokens and JWT access tokens. The newest unretired key signs; a
    retired key stays published in the JWKS until every token it signed has expired. The
    private half is kept encrypted with a key derived from ``HUB_SECRET_KEY``."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_jwk_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class AuthorizationCode(SQLModel, table=True):
    """An authorization code, kept as its SHA-256. It is consumed by setting ``used_at`` in the
    same statement that reads it, so two redemptions racing each other cannot both succeed; a
    second redemption revokes the tokens the first one got (RFC 6749 section 4.1.2)."""

    __tablename__ = "authorization_code"

    code_sha256: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=100, index=True)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=500)
    nonce: str | None = Field(default=None, max_length=500)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    #: what the home library said at sign-in (see ``identity.oauth.patron.Patron``)
    patron: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    family: str = Field(max_length=64)
    auth_time: int
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class OAuthToken(SQLModel, table=True):
    """An access token (a signed JWT; kept as its SHA-256) and perhaps a refresh token. Tokens
    issued from one sign-in share a ``family``: reusing a spent refresh token, or redeeming a
    code twice, revokes the whole family."""

    __tablename__ = "oauth_token"

    id: int | None = Field(default=None, primary_key=True)
    jti: str = Field(max_length=64, unique=True)
    family: str = Field(max_length=64, index=True)
    client_id: str = Field(max_length=100, index=True)
    scope: str = Field(max_length=500)
    subject: str = Field(max_length=100)  # the pairwise sub, or the client id (client credentials)
    patron: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    access_sha256: str = Field(max_length=64, unique=True)
    refresh_sha256: str | None = Field(default=None, max_length=64, unique=True)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    refresh_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    refresh_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class RevokedFamily(SQLModel, table=True):
    """A sign-in whose tokens are all revoked (a replayed code, a reused refresh token, a
    revoked refresh token, a logout). Kept so that a token saved *after* the revocation, by a
    request racing it, is saved revoked."""

    __tablename__ = "revoked_family"

    family: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RevokedToken(SQLModel, table=True):
    """A client-credentials access token revoked before it expired (RFC 7009). Such tokens are
    not stored when issued (the signed JWT is all there is); this row is what refuses it."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=100)
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class ChangeCounter(SQLModel, table=True):
    """How many times a kind of row that processes hold in memory has changed: ``clients``
    (``oauth_client``), ``keys`` (``signing_key``), ``revocations`` (``revoked_token``).
    Triggers count every insert, update and delete, whoever makes it (``identity.store.changes``
    reads them)."""

    __tablename__ = "change_counter"

    topic: str = Field(primary_key=True, max_length=32)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class SpentTicket(SQLModel, table=True):
    """A consent ticket that has been answered (allow or deny): each is good for one answer."""

    __tablename__ = "spent_ticket"

    ticket: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
