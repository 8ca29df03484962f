"""Administrators' one-time links, emailed: an invitation (an account made without a password
anyone knows, and a link to choose one) and a password reset (asked for on the sign-in page).

A link holds a random 256-bit token; the hub keeps only its SHA-256 (``AdminLink``), and the
mail that carries it is kept encrypted until sent (``outbox.queue(seal_with=...)``). A link is
good once, for ``INVITE_LIFETIME`` or ``RESET_LIFETIME``; choosing a password through it ends
the account's other links and signs it out everywhere. Who may invite whom is
``rules.check_may_administer``: a consortium administrator anyone, a library administrator
their own library's administrators. Each step is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from identity import errors
from identity.admin import accounts, audit, outbox
from identity.admin.accounts import Admin
from identity.agreements import rules
from identity.security import passwords
from identity.store.models import AdminAccount, AdminLink, AdminSession, as_utc, utcnow

INVITE_LIFETIME = timedelta(days=3)
RESET_LIFETIME = timedelta(minutes=30)
#: a reset asked for again within this time sends no second mail
RESET_PAUSE = timedelta(minutes=2)
PASSWORD_MIN, PASSWORD_MAX = 12, 1024
PATH = "/admin/password/"


class LinkRefused(ValueError):
    """The link is unknown, used or expired, or the password chosen is not allowed."""


def invite(
    *,
    session: Session,
    inviter: Admin,
    email: str,
    library: str | None,
    secret: str,
    address: str | None = None,
) -> Admin:
    """Make an administrator of ``library`` (None: of the consortium) and email them a link to
    choose their password. Raises ``NotPermitted`` or ``accounts.AccountRefused``."""
    rules.check_may_administer(inviter, library, "administrators")
    added = accounts.add_account(session=session, email=email, library=library,
                                 actor=inviter.actor)  # fmt: skip
    token = _new_link(session, added.account.id, "invite", INVITE_LIFETIME)
    role = f"an administrator of {library}" if library else "a consortium administrator"
    outbox.queue(
        session,
        recipients=[added.account.email],
        subject="You are invited to administer the library hub",
        body=(
            f"{inviter.email} has made you {role} of the library hub.\n\n"
            f"Choose your password here (the link works once, for "
            f"{INVITE_LIFETIME.days} days):\n{outbox.HUB_LINK}{PATH}{token}\n\n"
            "Then sign in with this email address.\n"
        ),
        seal_with=secret,
    )
    audit.record(session=session, actor=inviter.actor, action="admin.invite",
                 subject=f"admin:{added.account.email}", after={"library": library},
                 address=address)  # fmt: skip
    return added.account


def remove(*, session: Session, admin: Admin, email: str, address: str | None = None) -> None:
    """Remove an administrator whom ``admin`` may manage (``accounts.remove_account``). Raises
    ``NotFound``, ``NotPermitted``, or ``Conflict`` for the last consortium administrator."""
    account = session.exec(
        select(AdminAccount).where(AdminAccount.email == email.strip().lower())
    ).first()
    if account is None:
        raise errors.NotFound(f"There is no administrator {email}.")
    rules.check_may_administer(admin, account.library, "administrators")
    try:
        accounts.remove_account(session=session, email=account.email, actor=admin.actor)
    except accounts.AccountRefused:
        raise errors.Conflict(f"{account.email} is the only consortium administrator, and is "
                              "kept: without one, no one could add another.") from None  # fmt: skip


def request_reset(*, session: Session, email: str, secret: str, address: str | None = None) -> None:
    """Email a reset link to ``email`` if it is an administrator's; says nothing either way
    (the page answers the same), and sends no second link within ``RESET_PAUSE``."""
    try:
        normal = accounts.normal_email(email)
    except accounts.AccountRefused:
        return
    account = session.exec(select(AdminAccount).where(AdminAccount.email == normal)).first()
    if account is None:
        return
    now = utcnow()
    recent = session.exec(
        select(AdminLink).where(
            AdminLink.account_id == account.id,
            AdminLink.purpose == "reset",
            col(AdminLink.created_at) > now - RESET_PAUSE,
        )
    ).first()
    if recent is not None:
        return
    assert account.id is not None
    token = _new_link(session, account.id, "reset", RESET_LIFETIME)
    outbox.queue(
        session,
        recipients=[account.email],
        subject="Choose a new password for the library hub",
        body=(
            "Someone (we hope you) asked to choose a new password for this administrator's "
            "account of the library hub.\n\n"
            f"Choose it here (the link works once, for {_minutes(RESET_LIFETIME)} minutes):\n"
            f"{outbox.HUB_LINK}{PATH}{token}\n\n"
            "If you did not ask, ignore this mail: your password stays as it is.\n"
        ),
        seal_with=secret,
    )
    audit.record(session=session, actor="sign-in page", action="admin.reset-link",
                 subject=f"admin:{account.email}", address=address)  # fmt: skip


def account_of(*, session: Session, token: str, now: datetime | None = None) -> AdminAccount:
    """The account whose link this is, if it is good: unused, unexpired."""
    row = session.get(AdminLink, _digest(token)) if token else None
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= (now or utcnow()):
        raise LinkRefused(
            "This link has been used already or has expired. Ask for a new one: "
            "“Forgotten your password?” on the sign-in page."
        )
    account = session.get(AdminAccount, row.account_id)
    if account is None:
        raise LinkRefused("This administrator's account has been removed.")
    return account


def set_password(
    *, session: Session, token: str, password: str, address: str | None = None
) -> AdminAccount:
    """Choose the account's password through its link: the link, and every other link of the
    account, is spent, and the account signed out everywhere."""
    account = account_of(session=session, token=token)
    check_password(password, account.email)
    now = utcnow()
    purpose = session.get(AdminLink, _digest(token))
    session.execute(
        update(AdminLink)
        .where(col(AdminLink.account_id) == account.id, col(AdminLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(AdminSession)
        .where(col(AdminSession.account_id) == account.id)
        .execution_options(synchronize_session=False)
    )
    account.password_hash = passwords.hash_secret(password)
    session.add(account)
    audit.record(session=session, actor=f"admin:{account.email}", action="admin.set-password",
                 subject=f"admin:{account.email}",
                 after={"by": purpose.purpose if purpose else "link"},
                 address=address)  # fmt: skip
    return account


def check_password(password: str, email: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise LinkRefused(f"The password must be at least {PASSWORD_MIN} characters long.")
    if len(password) > PASSWORD_MAX:
        raise LinkRefused(f"The password must be at most {PASSWORD_MAX} characters long.")
    if password.strip().lower() == email.lower():
        raise LinkRefused("The password must not be your email address.")


def _new_link(session: Session, account_id: int | None, purpose: str, lifetime: timedelta) -> str:
    assert account_id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(AdminLink(token_sha256=_digest(token), account_id=account_id, purpose=purpose,
                          created_at=now, expires_at=now + lifetime))  # fmt: skip
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)
