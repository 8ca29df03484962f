"""Administrators' accounts: made by ``hub admin add`` with a one-time password (argon2id via
``identity.security.passwords``) and, if asked, a TOTP secret (RFC 6238), stored encrypted."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.fernet import InvalidToken
from sqlalchemy import delete
from sqlmodel import Session, col, select

from identity.admin import audit
from identity.security import derived_keys, passwords
from identity.store.models import AdminAccount, AdminSession, utcnow

ISSUER_NAME = "Library hub"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountRefused(ValueError):
    """The account cannot be made as asked; nothing was stored."""


@dataclass(frozen=True)
class Admin:
    """Who is signed in, as the pages need it (never the table row)."""

    id: int
    email: str
    library: str | None  # None: a consortium administrator

    @property
    def consortium(self) -> bool:
        return self.library is None

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return f"admin:{self.email}"

    @classmethod
    def of(cls, account: AdminAccount) -> Admin:
        assert account.id is not None
        return cls(account.id, account.email, account.library)


@dataclass(frozen=True)
class Added:
    account: Admin
    password: str  # shown once, never stored
    totp_secret: str | None  # shown once; stored encrypted
    totp_uri: str | None


def normal_email(text: str) -> str:
    email = text.strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise AccountRefused(f"{text!r} is not an email address")
    return email


def add_account(
    *,
    session: Session,
    email: str,
    library: str | None,
    actor: str,
    totp: bool = False,
    secret: str | None = None,
    password: str | None = None,
) -> Added:
    """Make an account with a random password (``password`` only for ``hub demo``'s public
    accounts), and a TOTP secret when ``totp`` (``secret`` is the hub's secret key, which
    encrypts it). The audit event records no password or secret."""
    email = normal_email(email)
    if session.exec(select(AdminAccount).where(AdminAccount.email == email)).first() is not None:
        raise AccountRefused(f"there is already an administrator {email}")
    password = password or secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    totp_secret = totp_uri = encrypted = None
    if totp:
        if secret is None:
            raise AccountRefused("a TOTP secret needs the hub's secret key")
        totp_secret = pyotp.random_base32()
        totp_uri = pyotp.TOTP(totp_secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)
        encrypted = derived_keys.fernet(secret, "admin totp").encrypt(totp_secret.encode()).decode()
    account = AdminAccount(
        email=email,
        library=library,
        password_hash=passwords.hash_secret(password),
        totp_secret_encrypted=encrypted,
    )
    session.add(account)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="admin.add",
        subject=f"admin:{email}",
        after={"email": email, "library": library, "totp": totp},
    )
    return Added(Admin.of(account), password, totp_secret, totp_uri)


def accounts(*, session: Session) -> list[AdminAccount]:
    """Every administrator, consortium administrators first, then by library and email."""
    rows = session.exec(select(AdminAccount)).all()
    return sorted(rows, key=lambda a: (a.library is not None, a.library or "", a.email))


def remove_account(*, session: Session, email: str, actor: str) -> None:
    """Delete the account and sign it out everywhere, at once. The last consortium
    administrator is kept: without one, no one could add another from the pages."""
    account = _account(session, email)
    if account.library is None:
        others = session.exec(
            select(AdminAccount).where(
                col(AdminAccount.library).is_(None), AdminAccount.id != account.id
            )
        ).first()
        if others is None:
            raise AccountRefused(f"{account.email} is the only consortium administrator")
    _sign_out(session, account)
    session.delete(account)
    audit.record(
        session=session,
        actor=actor,
        action="admin.remove",
        subject=f"admin:{account.email}",
        before={"email": account.email, "library": account.library},
    )


def reset_password(*, session: Session, email: str, actor: str) -> str:
    """Give the account a new random password (returned, to be shown once; only its hash is
    kept) and sign it out everywhere. Its TOTP secret, if any, stays."""
    account = _account(session, email)
    password = secrets.token_urlsafe(18)
    account.password_hash = passwords.hash_secret(password)
    session.add(account)
    _sign_out(session, account)
    audit.record(
        session=session,
        actor=actor,
        action="admin.reset-password",
        subject=f"admin:{account.email}",
    )
    return password


def _account(session: Session, email: str) -> AdminAccount:
    normal = email.strip().lower()
    account = session.exec(select(AdminAccount).where(AdminAccount.email == normal)).first()
    if account is None:
        raise AccountRefused(f"there is no administrator {email}")
    return account


def _sign_out(session: Session, account: AdminAccount) -> None:
    session.execute(
        delete(AdminSession)
        .where(col(AdminSession.account_id) == account.id)
        .execution_options(synchronize_session=False)
    )


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    code: str,
    secret: str,
    now: datetime | None = None,
) -> AdminAccount | None:
    """The account if the password (and, for an account with TOTP, the code) is right, else None.
    An unknown email still costs one hash verification. A TOTP code is good once: the code of
    the time step before or after the current one is accepted too, for clocks a little out."""
    email = email.strip().lower()
    account = session.exec(select(AdminAccount).where(AdminAccount.email == email)).first()
    ok, upgraded = passwords.verify(password, account.password_hash if account else None)
    if account is None or not ok:
        return None
    if account.totp_secret_encrypted is not None:
        step = _totp_step(account, secret, code.strip(), now or utcnow())
        if step is None:
            return None
        account.totp_last_step = step
    if upgraded is not None:
        account.password_hash = upgraded
    session.add(account)
    return account


def totp_code(account: AdminAccount, secret: str, at: datetime) -> str:
    """The account's code at ``at`` (for tests and for setting up an authenticator)."""
    assert account.totp_secret_encrypted is not None
    return pyotp.TOTP(_decrypt(account.totp_secret_encrypted, secret)).at(at)


def _totp_step(account: AdminAccount, secret: str, code: str, now: datetime) -> int | None:
    assert account.totp_secret_encrypted is not None
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(_decrypt(account.totp_secret_encrypted, secret))
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code):
            if account.totp_last_step is not None and step <= account.totp_last_step:
                return None  # used already (or an older one): a replay
            return step
    return None


def _decrypt(token: str, secret: str) -> str:
    try:
        return derived_keys.fernet(secret, "admin totp").decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("a TOTP secret cannot be decrypted with this HUB_SECRET_KEY") from None


#: how long an administrator has to enter the first code of a new authenticator
TOTP_SETUP = 600


def totp_offer(account: Admin, secret: str) -> tuple[str, str, str]:
    """A new TOTP secret for ``account`` to put in an authenticator app: the secret, its
    ``otpauth://`` address, and a sealed token carrying it to ``enable_totp`` (good for
    ``TOTP_SETUP`` seconds, for this account only; nothing is stored until then)."""
    totp_secret = pyotp.random_base32()
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=account.email, issuer_name=ISSUER_NAME)
    sealed = derived_keys.fernet(secret, "admin totp offer").encrypt(
        f"{account.id}:{totp_secret}".encode()
    )
    return totp_secret, uri, sealed.decode()


def enable_totp(
    *, session: Session, admin: Admin, offer: str, code: str, secret: str,
    address: str | None = None,
) -> None:  # fmt: skip
    """Require a code from the authenticator the offer's secret was put in, once ``code`` shows
    that it works; audited. Raises ``AccountRefused``."""
    try:
        opened = derived_keys.fernet(secret, "admin totp offer").decrypt(
            offer.encode(), ttl=TOTP_SETUP
        )
    except InvalidToken:
        raise AccountRefused("this page had expired: start again") from None
    owner, _, totp_secret = opened.decode().partition(":")
    account = session.get(AdminAccount, admin.id)
    if account is None or owner != str(admin.id):
        raise AccountRefused("this page had expired: start again")
    totp = pyotp.TOTP(totp_secret)
    now = utcnow()
    code = code.strip()
    step = next((s for s in (totp.timecode(now) + d for d in (-1, 0, 1))
                 if code.isdigit() and hmac.compare_digest(totp.generate_otp(s), code)),
                None)  # fmt: skip
    if step is None:
        raise AccountRefused("that code is not right: enter the six digits the app shows now")
    account.totp_secret_encrypted = (
        derived_keys.fernet(secret, "admin totp").encrypt(totp_secret.encode()).decode()
    )
    account.totp_last_step = step
    session.add(account)
    audit.record(session=session, actor=admin.actor, action="admin.totp-on",
                 subject=f"admin:{account.email}", address=address)  # fmt: skip
