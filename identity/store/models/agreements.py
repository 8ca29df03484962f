"""The agreement set's tables: the published versions, the proposed changes that wait for
another party's consent, and the deliveries of each version to partner systems' webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field, SQLModel

from identity.store.models.clock import utcnow


class AgreementVersion(SQLModel, table=True):
    """One published set of agreement files. Versions are numbered by ``id`` and never change;
    the set in force is the latest one. The files are kept as published, so that the set is
    always re-read by the same loader and validator as ``hub agreements check``."""

    __tablename__ = "agreement_version"

    id: int | None = Field(default=None, primary_key=True)
    published_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    published_by: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=500)
    sha256: str = Field(max_length=64, index=True)
    #: [{"name": "caval.yaml", "text": "..."}, ...] in load order
    files: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    libraries: int
    agreements: int


class Proposal(SQLModel, table=True):
    """A change to one entry of the agreement set (a library or an agreement) that waits for
    another party's consent before it is published (``identity.agreements.proposals``).

    ``text`` is the entry as a one-entry agreement file (None: the entry is removed);
    ``before`` is the entry as it was when proposed, so that approving a change to an entry
    that has changed since is refused. ``parties`` and ``awaiting`` are library ids (or
    ``consortium``) between commas, ``,rmit,monash,``, so that one ``LIKE '%,rmit,%'`` finds a
    library's proposals without matching ``rmit2``."""

    __tablename__ = "proposal"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    proposed_by: str = Field(max_length=200)
    proposer_library: str | None = Field(default=None, max_length=64)
    section: str = Field(max_length=20)
    target: str = Field(max_length=64, index=True)
    action: str = Field(max_length=10)  # create, update, delete
    text: str | None = Field(default=None, sa_column=Column(Text))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    parties: str = Field(sa_column=Column(Text, nullable=False))
    awaiting: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=12, index=True)
    note: str | None = Field(default=None, max_length=500)
    decided_by: str | None = Field(default=None, max_length=200)
    #: why it was rejected, for the proposer (required to reject)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    version: int | None = None  # the version that published it


class WebhookDelivery(SQLModel, table=True):
    """One published agreement version told to one partner system's webhook (``url``), with how
    its tries went (``identity.agreements.webhooks``): the delivery log."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500, index=True)
    version: int
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    given_up_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
