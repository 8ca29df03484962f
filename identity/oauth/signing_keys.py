"""Signing keys (OpenID Connect Core 10.1; JWKS per RFC 7517): create, rotate, publish, use.

A running hub signs with the key it holds (``ActiveKey``), decrypted once, and asks the database
which key is active at most every ``RECHECK_S`` seconds: a rotation made in another process
(``hub keys rotate``, another instance) is followed within that, one made in this process at
once. Rotation never breaks a token in flight: the retired key stays in the JWKS for
``settings.token_lifetime_s`` (the longest any token lives) and ``RECHECK_S`` more after it is
retired, as long as a token it signed may live.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from identity.admin import audit
from identity.security import derived_keys
from identity.store.database import lock
from identity.store.models import SigningKey, as_utc, utcnow

ALG = "RS256"  # the algorithm every OpenID relying party must accept
#: how long a process signs with the key it holds before asking which key is active again
RECHECK_S = 5

_rotations = itertools.count(1)
_rotated = 0  # rotations committed by this process, so far


def _rotated_here(_session: Session) -> None:
    global _rotated
    _rotated = next(_rotations)


class ActiveKey:
    """The key that signs, as one process holds it: decrypted once, and looked up again after
    ``RECHECK_S`` seconds (``clock``), or at once after a rotation made in this process."""

    def __init__(
        self, engine: Engine, secret: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine, self._secret, self._clock = engine, secret, clock
        self._guard = threading.Lock()  # one lookup at a time
        self._held: _Held | None = None

    def keyset(self) -> KeySet:
        """The active private key, alone in a set (joserfc then writes its ``kid``)."""
        held = self._held
        if not self._fresh(held):
            with self._guard:
                held = self._held
                if not self._fresh(held):
                    held = self._held = self._look_up(held)
        assert held is not None
        return held.keyset

    def _fresh(self, held: _Held | None) -> bool:
        return (
            held is not None
            and held.rotations == _rotated
            and self._clock() - held.checked < RECHECK_S
        )

    def _look_up(self, held: _Held | None) -> _Held:
        rotations, now = _rotated, self._clock()
        with Session(self._engine) as session:
            current = active(session=session)
        if current is None:
            raise RuntimeError("no signing key: the app was not prepared")
        if held is not None and held.kid == current.kid:
            return _Held(held.kid, held.keyset, now, rotations)
        return _Held(current.kid, KeySet([private_key(current, self._secret)]), now, rotations)


@dataclass(frozen=True, slots=True)
class _Held:
    kid: str
    keyset: KeySet
    checked: float  # the clock when the database said it was the active key
    rotations: int  # this process's rotations by then


def rotate(*, session: Session, secret: str, actor: str) -> SigningKey:
    """Make a new signing key and retire the one signing now (it stays published a while)."""
    # once committed, this process's ActiveKey looks again at its next signature
    event.listen(session, "after_commit", _rotated_here, once=True)
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
    key whose tokens may still be alive (a process may sign with it ``RECHECK_S`` after it was
    retired)."""
    now = now or utcnow()
    keys = []
    lasts = lifetime + timedelta(seconds=RECHECK_S)
    for key in session.exec(select(SigningKey).order_by(col(SigningKey.created_at).desc())):
        retired = key.retired_at
        if retired is None or as_utc(retired) + lasts > now:
            keys.append(key.public_jwk)
    return {"keys": keys}


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
