"""The administrators' tables: the accounts, their browser sessions and one-time links, the
audit log, and the outbox of emails waiting to be sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, SQLModel

from identity.store.models.clock import utcnow


class AdminAccount(SQLModel, table=True):
    """An administrator: of one ``library``, or of the whole consortium (``library`` None). The
    password is kept as an argon2id hash; the TOTP secret, when there is one, encrypted with a
    key derived from ``HUB_SECRET_KEY``. ``totp_last_step`` is the last time step whose code was
    accepted, so that a code cannot be used twice."""

    __tablename__ = "admin_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    library: str | None = Field(default=None, max_length=64, index=True)
    password_hash: str = Field(max_length=255)
    totp_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    totp_last_step: int | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class AdminSession(SQLModel, table=True):
    """A signed-in administrator's browser. The cookie holds a random token; the table holds only
    its SHA-256. Signing out deletes the row; an idle or too old one is refused."""

    __tablename__ = "admin_session"

    token_sha256: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AdminLink(SQLModel, table=True):
    """A one-time link emailed to an administrator: to set a password when invited
    (``purpose`` invite) or to choose a new one (reset). The link holds a random token; the table
    only its SHA-256. Good once, until ``expires_at``."""

    __tablename__ = "admin_link"

    token_sha256: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(index=True)
    purpose: str = Field(max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, before and after, from where. Append-only: the application has
    no path that updates or deletes a row, and triggers refuse both on SQLite and PostgreSQL.
    Each row's ``hash`` covers its content and the previous row's hash, so an edit made directly
    in the database breaks the chain."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject: str = Field(max_length=200, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    address: str | None = Field(default=None, max_length=100)
    previous_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class OutboxMail(SQLModel, table=True):
    """An email waiting to be sent, written in the transaction of what it tells about, so that it
    is sent if and only if that commits; a sender sends it later, retrying with backoff
    (``identity.admin.outbox``). ``sent_at`` set: sent; ``given_up_at`` set: no more tries."""

    __tablename__ = "outbox_mail"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    #: the text; ``sealed``: encrypted with a key derived from ``HUB_SECRET_KEY`` (a one-time
    #: link's), and emptied once sent
    body: str = Field(sa_column=Column(Text, nullable=False))
    sealed: bool = False
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    given_up_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=300)
