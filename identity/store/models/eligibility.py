"""The eligibility API's tables: which patron a lender's pairwise ``sub`` stands for, the
questions asked and their answers, and the per-client counts of the rate limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


class PairwiseSubject(SQLModel, table=True):
    """Which patron a lender's pairwise ``sub`` stands for, kept when the lender first receives
    it at sign-in, so that the eligibility API can be asked by ``patron``, by that lender only."""

    __tablename__ = "pairwise_subject"

    lender: str = Field(primary_key=True, max_length=64)
    sub: str = Field(primary_key=True, max_length=100)
    home_library: str = Field(max_length=64)
    card: str = Field(max_length=64)
    scope: str = Field(max_length=500)  # what the patron agreed to share at the latest sign-in
    #: a federated patron's card at their library's standing source, as at the latest sign-in
    standing_card: str | None = Field(default=None, max_length=64)
    first_seen: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    #: the latest sign-in or refresh that gave the lender this ``sub`` (None: before it was kept)
    last_seen: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class EligibilityLookup(SQLModel, table=True):
    """One eligibility question and its answer: which client asked about which card of which
    home library. The home library's administrators may list them (``hub lookups``)."""

    __tablename__ = "eligibility_lookup"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    client_id: str = Field(max_length=100, index=True)
    lender: str = Field(max_length=64)
    home_library: str = Field(max_length=64, index=True)
    card: str | None = Field(default=None, max_length=64)
    by: str = Field(max_length=8)  # card | patron
    answer: str = Field(max_length=40)  # eligible | not-eligible | a problem slug
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RateWindow(SQLModel, table=True):
    """How many eligibility questions a client asked in one fixed window (shared by every
    instance of the hub, so the limit holds behind a load balancer)."""

    __tablename__ = "rate_window"

    client_id: str = Field(primary_key=True, max_length=100)
    window: int = Field(primary_key=True)  # POSIX seconds at which the window starts
    count: int = 0
