"""Signing keys (OpenID Connect Core 10.1; JWKS per RFC 7517): create, rotate, publish, use.

Rotation never breaks a token in flight: the retired key stays in the JWKS for
``settings.token_lifetime_s`` after it stops signing, the longest any token it signed lives.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from joserfc.jwk import RSAKey
from sqlmodel import Session, col, select

from identity.admin import audit
from identity.security import derived_keys
from identity.store.database import lock
from identity.store.models import SigningKey, as_utc, utcnow

ALG = "RS256"  # the algorithm every OpenID relying party must accept


def rotate(*, session: Session, secret: str, actor: str) -> SigningKey:
    """Make a new signing key and retire the one signing now (it stays published a while)."""
    lock(session, "keys")
    current = active(session=session)
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    private = RSAKey.generate_key(
        2048, parameters={"kid": kid, "alg": ALG, "use": "sig"}, private=True
    )
    key = SigningKey(
        kid=kid,
        alg=ALG,
        public_jwk=dict(private.as_dict(private=False)),
        private_jwk_encrypted=derived_keys.fernet(secret, "signing keys")
        .encrypt(json.dumps(private.as_dict(private=True)).encode())
        .decode(),
    )
    if current is not None:
        current.retired_at = utcnow()
        session.add(current)
    session.add(key)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="keys.rotate",
        subject=f"key:{kid}",
        before=None if current is None else {"kid": current.kid},
        after={"kid": kid, "alg": ALG},
    )
    return key


def ensure(*, session: Session, secret: str, actor: str) -> SigningKey:
    """The active key, made now if there is none. Checked under the lock, so processes starting
    together make one key, not one each."""
    lock(session, "keys")
    current = active(session=session)
    return current if current is not None else rotate(session=session, secret=secret, actor=actor)


def active(*, session: Session) -> SigningKey | None:
    """The key that signs now: the newest one not retired."""
    query = (
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def jwks(*, session: Session, lifetime: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """The public keys a relying party may meet in a token: the active key and every retired
    key whose tokens may still be alive."""
    now = now or utcnow()
    keys = []
    for key in session.exec(select(SigningKey).order_by(col(SigningKey.created_at).desc())):
        retired = key.retired_at
        if retired is None or as_utc(retired) + lifetime > now:
            keys.append(key.public_jwk)
    return {"keys": keys}


def public_jwks(*, session: Session) -> list[dict[str, Any]]:
    """Every key's public half, retired ones too (for verifying the hub's own tokens)."""
    return [key.public_jwk for key in session.exec(select(SigningKey))]


def private_key(key: SigningKey, secret: str) -> RSAKey:
    """The private half, for signing. Raises ``ValueError`` if ``secret`` is not the one that
    encrypted it (the hub's secret key was changed without re-keying)."""
    try:
        data = derived_keys.fernet(secret, "signing keys").decrypt(
            key.private_jwk_encrypted.encode()
        )
    except InvalidToken:
        raise ValueError(
            f"signing key {key.kid} cannot be decrypted with this HUB_SECRET_KEY"
        ) from None
    return RSAKey.import_key(json.loads(data))
