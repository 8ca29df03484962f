"""The patrons' tables: the registry of patrons whose cards the hub checks and their CSV imports,
the sign-in attempts kept to limit PIN guessing, and the sign-ins at a library's own identity
provider with the keys and seen assertions of the hub's SAML service provider."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from identity.store.models.clock import utcnow


class RegistryPatron(SQLModel, table=True):
    """A patron of a library whose cards the hub itself checks (connector ``registry``),
    imported from the library's CSV. ``category`` is the home ILS's code, mapped to a hub
    category through the library's category map when the patron signs in."""

    __tablename__ = "registry_patron"
    __table_args__ = (UniqueConstraint("library", "card"),)

    id: int | None = Field(default=None, primary_key=True)
    library: str = Field(max_length=64, index=True)
    card: str = Field(max_length=64)
    pin_hash: str = Field(max_length=255)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64)
    expires: date | None = None
    fines: Decimal = Field(default=Decimal(0), max_digits=11, decimal_places=2)
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class PatronImport(SQLModel, table=True):
    """A patron CSV uploaded on the admin pages, imported by a job in a worker thread
    (``identity.patrons.import_jobs``): its progress, written in short transactions of its own
    so that every process of the hub can show it, and its outcome. ``id`` is random and long,
    the page's address."""

    __tablename__ = "patron_import"

    id: str = Field(primary_key=True, max_length=43)
    library: str = Field(max_length=64, index=True)
    admin: str = Field(max_length=200)  # the uploading administrator's actor name
    file: str = Field(max_length=200)
    #: checking, importing, saving, then imported, refused or failed
    state: str = Field(max_length=10)
    total: int = 0  # the file's patron rows
    done: int = 0  # rows checked (checking) or ready to save (importing)
    added: int = 0
    updated: int = 0
    not_in_file: int = 0
    rejected: int = 0  # rows with a problem (refused); ``problems`` lists the first of them
    problems: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str | None = Field(default=None, max_length=500)  # why it failed
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    #: when the job last wrote its progress: one that stops moving is shown as failed
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, kept to limit PIN guessing. The card is stored only as a keyed hash
    (``card_key``); ``outcome`` is ``pending`` until the home library has answered, and a
    pending attempt counts as a failure."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    card_key: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    #: pending, failure, success, unanswered; started (at an identity provider: no card); or
    #: cleared (desk staff cleared the card's lock)
    outcome: str = Field(default="pending", max_length=10)
    #: the library whose sign-in page the attempt was made at (None: an administrator's)
    lender: str | None = Field(default=None, max_length=64)


class FederatedSignin(SQLModel, table=True):
    """A sign-in waiting at a library's own identity provider (SAML or OpenID Connect), with the
    authorization request it belongs to (``identity.patrons.federated_signin``). The handle the
    provider carries back (OpenID ``state``, SAML ``RelayState``) is kept only as its SHA-256
    (``id``), and the browser that started it only as the SHA-256 of a cookie (``binding``).
    The provider's answer is taken once (``used_at``, set in the statement that finds the row),
    and the consent page that follows a sign-in is shown once (``continued_at``)."""

    __tablename__ = "federated_signin"

    id: str = Field(primary_key=True, max_length=64)
    library: str = Field(max_length=64)
    protocol: str = Field(max_length=8)  # oidc | saml
    #: what the answer must carry back: the OpenID ``nonce``, the SAML request's ID
    expects: str = Field(max_length=256)
    #: the PKCE code verifier (OpenID Connect)
    verifier: str | None = Field(default=None, max_length=128)
    #: the query string of the waiting ``/authorize`` request
    authorization: str = Field(sa_column=Column(Text, nullable=False))
    binding: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    #: who signed in (``Patron`` JSON, encrypted), once the provider said so
    patron: str | None = Field(default=None, sa_column=Column(Text))
    continued_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SamlKey(SQLModel, table=True):
    """A key pair of the hub's SAML service provider (``identity.patrons.connectors.saml.keys``):
    ``signing`` signs its authentication requests and metadata, ``encryption`` decrypts the
    assertions identity providers encrypt to it. A key is published in the metadata from
    ``created_at`` and used from ``use_from``; the one it replaces still decrypts for as long
    again. The private half is kept encrypted with a key derived from ``HUB_SECRET_KEY``."""

    __tablename__ = "saml_key"

    kid: str = Field(primary_key=True, max_length=64)
    use: str = Field(max_length=10)  # signing | encryption
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    private_key_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    use_from: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SamlAssertionSeen(SQLModel, table=True):
    """An assertion the hub has accepted, by the SHA-256 of its issuer and ID, kept until it
    has expired so that it is accepted once, by whichever instance sees it first."""

    __tablename__ = "saml_assertion_seen"

    key: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
