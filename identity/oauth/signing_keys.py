"""Signing keys (OpenID Connect Core 10.1; JWKS per RFC 7517): create, rotate, publish, use.

Two keys sign at any time: an RSA key signs ID tokens (RS256, the algorithm every OpenID
relying party must accept), and a P-256 key signs access tokens (ES256), whose audience is the
hub itself (RFC 9068 leaves the algorithm to the authorization server): an ES256 signature
costs a small fraction of an RS256 one, on every token the hub issues.

A running hub holds the active keys, decrypted once, and follows a rotation made anywhere at its
next token request (``identity.oauth.caches``). Rotation never breaks a token in flight: the
retired key stays in the JWKS for ``settings.token_lifetime_s`` (the longest any token lives)
and ``GRACE_S`` more after it is retired (a request being answered then may still sign with it).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateNumbers, RSAPublicNumbers
from joserfc.jwk import ECKey, JWKRegistry, KeyParameters, RSAKey
from joserfc.util import base64_to_int
from sqlmodel import Session, col, select

from identity.admin import audit
from identity.security import derived_keys
from identity.store.database import lock
from identity.store.models import SigningKey, as_utc, utcnow

ALG = "RS256"  # ID tokens: the algorithm every OpenID relying party must accept
ACCESS_ALG = "ES256"  # access tokens, for the hub itself
ALGS = (ALG, ACCESS_ALG)
#: how much longer than a token's lifetime a retired key stays published
GRACE_S = 5

PrivateKey = RSAKey | ECKey


def rotate_all(*, session: Session, secret: str, actor: str) -> list[SigningKey]:
    """A new key for each algorithm (``hub keys rotate``)."""
    return [rotate(session=session, secret=secret, actor=actor, alg=alg) for alg in ALGS]


def rotate(*, session: Session, secret: str, actor: str, alg: str = ALG) -> SigningKey:
    """Make a new signing key for ``alg`` and retire the one signing with it now (it stays
    published a while)."""
    lock(session, "keys")
    current = active(session=session, alg=alg)
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    private: PrivateKey = (
        RSAKey.generate_key(2048, parameters=parameters, private=True)
        if alg == ALG
        else ECKey.generate_key("P-256", parameters=parameters, private=True)
    )
    key = SigningKey(
        kid=kid,
        alg=alg,
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
        after={"kid": kid, "alg": alg},
    )
    return key


def ensure(*, session: Session, secret: str, actor: str) -> list[SigningKey]:
    """The active key of each algorithm, made now where there is none. Checked under the lock,
    so processes starting together make one key of each, not one each."""
    lock(session, "keys")
    made = []
    for alg in ALGS:
        current = active(session=session, alg=alg)
        made.append(current or rotate(session=session, secret=secret, actor=actor, alg=alg))
    return made


def active(*, session: Session, alg: str = ALG) -> SigningKey | None:
    """The key that signs with ``alg`` now: the newest one of that algorithm not retired."""
    query = (
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None), col(SigningKey.alg) == alg)
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def jwks(*, session: Session, lifetime: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """The public keys a relying party may meet in a token: the active keys and every retired
    key whose tokens may still be alive (signed up to ``GRACE_S`` after it was retired)."""
    now = now or utcnow()
    keys = []
    lasts = lifetime + timedelta(seconds=GRACE_S)
    for key in session.exec(select(SigningKey).order_by(col(SigningKey.created_at).desc())):
        retired = key.retired_at
        if retired is None or as_utc(retired) + lasts > now:
            keys.append(key.public_jwk)
    return {"keys": keys}


def public_jwks(*, session: Session) -> list[dict[str, Any]]:
    """Every key's public half, retired ones too (for verifying the hub's own tokens)."""
    return [key.public_jwk for key in session.exec(select(SigningKey))]


def private_key(key: SigningKey, secret: str) -> PrivateKey:
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
    jwk = json.loads(data)
    if jwk["kty"] == "RSA":
        return _rsa_key(jwk)
    private = JWKRegistry.import_key(jwk)
    assert isinstance(private, ECKey)
    return private


def _rsa_key(jwk: dict[str, Any]) -> RSAKey:
    """An RSA key the hub made itself, decrypted from its authenticated ciphertext: trusted, so
    cryptography's consistency check of the primes (about 50 ms a key, paid by each worker at
    start) is skipped, as its documentation allows for keys from a trusted source."""
    number = {
        name: base64_to_int(jwk[name]) for name in ("n", "e", "d", "p", "q", "dp", "dq", "qi")
    }
    numbers = RSAPrivateNumbers(
        p=number["p"], q=number["q"], d=number["d"],
        dmp1=number["dp"], dmq1=number["dq"], iqmp=number["qi"],
        public_numbers=RSAPublicNumbers(number["e"], number["n"]),
    )  # fmt: skip
    return RSAKey(numbers.private_key(unsafe_skip_rsa_key_validation=True), jwk)
