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
from sqlmodel import Session, select

from identity.admin import audit
from identity.security import derived_keys, passwords
from identity.store.models import AdminAccount, utcnow

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
