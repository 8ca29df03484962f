"""Signing an administrator in, for the sign-in page and the admin API alike.

In order: the guessing limits for the account (``guessing_limits.card_key(secret, "admin", email)``)
and the address, counted before the password is checked; the password (an unknown email costs
the same hash verification) and, for an account with TOTP, a code not used before. Success
starts a new server-side session (``identity.admin.sessions``) and is recorded in the audit log;
a refused attempt on a real account is recorded too.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from identity import logs, metrics
from identity.admin import accounts, audit, sessions
from identity.security import guessing_limits
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import AdminAccount

#: raised (with ``retry_after``) when the limits are reached; nothing was checked
TooManyAttempts = guessing_limits.TooManyAttempts
log = logs.get("hub.admin")


def sign_in(
    *,
    engine: Engine,
    settings: Settings,
    email: str,
    password: str,
    code: str,
    address: str,
) -> str | None:
    """A new session's token, or None when the email, password or code is not right."""
    secret = settings.secret()
    email = email.strip().lower()
    limits = guessing_limits.Limits.parse(settings.guesses_per_card, settings.guesses_per_address)
    try:
        attempt = guessing_limits.begin(
            engine=engine,
            key=guessing_limits.card_key(secret, "admin", email),
            address=address,
            limits=limits,
        )
    except TooManyAttempts as exc:
        metrics.RATE_LIMITED.labels("admin_sign_in").inc()
        logs.event(log, "lockout", administrator=True, retry_after_s=exc.retry_after)
        raise
    token = None
    try:
        with transaction(engine) as session:
            account = accounts.authenticate(
                session=session, email=email, password=password, code=code, secret=secret
            )
            if account is not None:
                token = sessions.start(session=session, account=account)
                record(session, "admin.sign-in", account, address)
            else:
                known = session.exec(select(AdminAccount).where(AdminAccount.email == email))
                for refused in known:  # failures of a real account are worth knowing about
                    record(session, "admin.sign-in-refused", refused, address)
    finally:
        guessing_limits.finish(engine=engine, attempt=attempt, success=token is not None)
    return token


def record(session: Session, action: str, account: AdminAccount, address: str) -> None:
    audit.record(
        session=session,
        actor=f"admin:{account.email}",
        action=action,
        subject=f"admin:{account.email}",
        after={"library": account.library},
        address=address,
    )
