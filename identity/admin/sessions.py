"""Administrators' sessions, kept in the database: the browser holds a random 256-bit token in
an HttpOnly, SameSite=Lax cookie (Secure and ``__Host-`` over https); the table holds its
SHA-256. A session ends at sign-out (its row is deleted), after ``IDLE`` without a request, or
``LIFETIME`` after sign-in, whichever comes first. Kept server-side so that signing out really
ends it, everywhere the cookie might have been copied to."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from identity.admin.accounts import Admin
from identity.store.models import AdminAccount, AdminSession, as_utc, utcnow

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
#: last_seen_at is written at most this often, not on every page
TOUCH = timedelta(minutes=1)


def start(*, session: Session, account: AdminAccount, now: datetime | None = None) -> str:
    """A new session for ``account``; returns the cookie's token. The account's sessions that
    have ended are deleted on the way."""
    now = now or utcnow()
    assert account.id is not None
    for old in session.exec(select(AdminSession).where(AdminSession.account_id == account.id)):
        if not _alive(old, now):
            session.delete(old)
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_sha256=token_digest(token),
            account_id=account.id,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def resume(*, session: Session, token: str, now: datetime | None = None) -> Admin | None:
    """Who the token's session belongs to, if it is still alive (and note that it was used)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.get(AdminSession, token_digest(token))
    if row is None or not _alive(row, now):
        return None
    account = session.get(AdminAccount, row.account_id)
    if account is None:
        return None
    if now - as_utc(row.last_seen_at) > TOUCH:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return Admin.of(account)


def end(*, session: Session, token: str) -> None:
    session.execute(
        delete(AdminSession).where(col(AdminSession.token_sha256) == token_digest(token))
    )


def _alive(row: AdminSession, now: datetime) -> bool:
    return now - as_utc(row.last_seen_at) < IDLE and now - as_utc(row.created_at) < LIFETIME


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
