"""Hashing PINs and passwords: argon2id, with bcrypt hashes from an ILS accepted as they are and
upgraded to argon2id at the next successful sign-in (passlib's CryptContext, from ``libpass``)."""

from __future__ import annotations

from functools import cache

from passlib.context import CryptContext

#: OWASP's argon2id minimum (19 MiB, 2 passes): about 40 ms a hash on the reference machine.
#: Against offline guessing a 4-digit PIN is weak whatever the hash; the guessing limits in
#: front of sign-in are what protect it.
CONTEXT = CryptContext(
    schemes=["argon2", "bcrypt"],
    deprecated=["bcrypt"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
)


def hash_secret(secret: str) -> str:
    return str(CONTEXT.hash(secret))


def is_hash(value: str) -> bool:
    """An argon2 or bcrypt hash the hub can verify."""
    return CONTEXT.identify(value, required=False) is not None


def verify(secret: str, stored: str | None) -> tuple[bool, str | None]:
    """Whether ``secret`` matches ``stored``, and a replacement hash when ``stored`` should be
    upgraded. With ``stored=None`` (no such card) it still spends one verification, so that an
    unknown card costs as long as a wrong PIN."""
    if stored is None:
        CONTEXT.verify(secret, _dummy())
        return False, None
    try:
        ok, new = CONTEXT.verify_and_update(secret, stored)
    except ValueError:  # e.g. bcrypt refuses more than 72 bytes: simply not a match
        return False, None
    return bool(ok), new


@cache
def _dummy() -> str:
    return str(CONTEXT.hash("no card has this PIN"))
