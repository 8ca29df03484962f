"""Database tables (SQLModel). Each table is changed only through a migration in
``identity/migrations``; a test checks that the two agree on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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
