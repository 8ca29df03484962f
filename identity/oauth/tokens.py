"""Access tokens (JWT, RFC 9068) and refresh tokens, and the rows that make them revocable.

A sign-in's tokens are stored as the SHA-256 of their text. Tokens issued from one sign-in
share a ``family``; a refresh rotates within the family, and a reused refresh token or a
replayed code revokes the family (RFC 9700 section 4.14.2). Client-credentials tokens are not
stored (``identity.oauth.client_tokens``): only those revoked before they expire leave a row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidScopeError
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from identity.oauth.patron import Patron
from identity.oauth.signing_keys import ACCESS_ALG
from identity.store.database import lock, transaction
from identity.store.models import (
    OAuthClient,
    OAuthToken,
    PairwiseSubject,
    RevokedFamily,
    RevokedToken,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from identity.oauth.client import Client

#: the claim of a client-credentials token that names its client's epoch (``OAuthClient``)
EPOCH = "client_epoch"


@dataclass(frozen=True)
class Grantee:
    """Whom a token speaks for: a signed-in patron at one lender, or (client credentials) the
    client itself."""

    sub: str
    family: str
    lender: str
    patron: Patron | None = None
    #: a rotated refresh token lives no longer than the first of its family
    refresh_until: datetime | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_family() -> str:
    return secrets.token_urlsafe(18)


def access_token(
    *,
    keyset: KeySet,
    issuer: str,
    client_id: str,
    grantee: Grantee,
    scope: str,
    lifetime_s: int,
    now: int,
    epoch: int | None = None,
) -> tuple[str, str]:
    """A signed JWT access token (RFC 9068 section 2; ES256) and its ``jti``. The hub is its
    audience:
    it is spent at the hub's userinfo endpoint and eligibility API. A client-credentials token
    names its client's ``epoch``."""
    jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": grantee.sub,
        "aud": issuer,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime_s,
        "jti": jti,
        "scope": scope,
    }
    if epoch is not None:
        claims[EPOCH] = epoch
    header = {"alg": ACCESS_ALG, "typ": "at+jwt"}
    return jwt.encode(header, claims, keyset, algorithms=[ACCESS_ALG]), jti


def save(
    *,
    engine: Engine,
    token: dict[str, Any],
    client: Client,
    grantee: Grantee,
    jti: str,
    refresh_lifetime_s: int,
) -> None:
    """Store a sign-in's tokens; saved revoked if the sign-in, or the client's epoch, was
    revoked while the request was being answered."""
    now = utcnow()
    refresh = token.get("refresh_token")
    refresh_expires = None
    if refresh is not None:
        refresh_expires = now + timedelta(seconds=refresh_lifetime_s)
        if grantee.refresh_until is not None:
            refresh_expires = min(refresh_expires, aware(grantee.refresh_until))
    with transaction(engine) as session:
        # under the family's lock: a revocation that raced this request is seen here, or comes
        # after and finds the row (RFC 9700 4.14.2 holds even for the winner of a race)
        lock(session, f"family:{grantee.family}")
        revoked = session.get(RevokedFamily, grantee.family) is not None
        # read under a share lock: a rotation or a disabling (which revokes the client's
        # stored tokens) either comes after this commit, or is seen here
        epoch = session.exec(
            select(OAuthClient.epoch)
            .where(OAuthClient.client_id == client.client_id)
            .with_for_update(read=True)
        ).first()
        revoked = revoked or epoch != client.epoch
        patron = grantee.patron
        if patron is not None:  # so that this lender (only) may ask the eligibility API by sub
            lock(session, f"pairwise:{grantee.lender}:{grantee.sub}")
            known = session.get(PairwiseSubject, (grantee.lender, grantee.sub))
            if known is None:
                session.add(
                    PairwiseSubject(
                        lender=grantee.lender, sub=grantee.sub, home_library=patron.home_library,
                        card=patron.card, scope=token.get("scope", ""), first_seen=now,
                        last_seen=now, standing_card=patron.standing_card,
                    )
                )  # fmt: skip
            else:  # the latest grant decides (a new sign-in, or a narrowing refresh)
                known.scope = token.get("scope", "")
                known.standing_card = patron.standing_card
                known.last_seen = now
        session.add(
            OAuthToken(
                jti=jti,
                family=grantee.family,
                client_id=client.client_id,
                scope=token.get("scope", ""),
                subject=grantee.sub,
                patron=None if grantee.patron is None else grantee.patron.to_json(),
                access_sha256=digest(token["access_token"]),
                refresh_sha256=None if refresh is None else digest(refresh),
                issued_at=now,
                expires_at=now + timedelta(seconds=int(token["expires_in"])),
                refresh_expires_at=refresh_expires,
                revoked_at=now if revoked else None,
            )
        )


def spend_refresh_token(
    *, engine: Engine, refresh_token: str, client_id: str, scope: str | None
) -> OAuthToken | None:
    """Mark a refresh token used, in the statement that finds it, and return its row; or None.

    A request that would fail anyway (a scope wider than granted) is refused before the token
    is spent. A token that was already used (or revoked) is a sign that it leaked: its whole
    family is revoked, so neither the thief nor the patron's client keeps a working token."""
    now = utcnow()
    hashed = digest(refresh_token)
    with transaction(engine) as session:
        row = session.exec(
            select(OAuthToken).where(
                OAuthToken.refresh_sha256 == hashed, OAuthToken.client_id == client_id
            )
        ).first()
        if row is None:
            return None
        if scope and not set(scope.split()) <= set(row.scope.split()):
            raise InvalidScopeError("A refresh cannot widen the scope that was granted.")
        # the family's lock before the row's, as ``revoke_family`` and ``save`` take them: on
        # PostgreSQL an UPDATE that waited for a racing one keeps the row locked even when it
        # then matches nothing, and would wait for the family's lock while holding it
        lock(session, f"family:{row.family}")
        spent = session.execute(
            update(OAuthToken)
            .where(
                col(OAuthToken.id) == row.id,
                col(OAuthToken.refresh_used_at).is_(None),
                col(OAuthToken.revoked_at).is_(None),
                col(OAuthToken.refresh_expires_at) > now,
            )
            .values(refresh_used_at=now)
            .execution_options(synchronize_session=False)
            .returning(col(OAuthToken.id))
        ).first()
        session.refresh(row)
        if spent is not None:
            session.expunge(row)
            return row
        if row.refresh_used_at is not None or row.revoked_at is not None:
            revoke_family(session=session, family=row.family, now=now)
    return None


def revoke_family(*, session: Session, family: str, now: datetime | None = None) -> int:
    """Revoke every token of a sign-in, and any saved later (see ``save``)."""
    now = now or utcnow()
    lock(session, f"family:{family}")
    if session.get(RevokedFamily, family) is None:
        session.add(RevokedFamily(family=family, at=now))
        session.flush()
    result = session.execute(
        update(OAuthToken)
        .where(col(OAuthToken.family) == family, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def find(*, session: Session, token: str, hint: str | None = None) -> OAuthToken | None:
    """The row of an access or refresh token (RFC 7009/7662 ``token_type_hint`` is only a hint)."""
    hashed = digest(token)
    columns = [OAuthToken.access_sha256, OAuthToken.refresh_sha256]
    if hint == "refresh_token":
        columns.reverse()
    for column in columns:
        row = session.exec(select(OAuthToken).where(column == hashed)).first()
        if row is not None:
            return row
    return None


def is_refresh(row: OAuthToken, token: str) -> bool:
    return row.refresh_sha256 == digest(token)


def active(row: OAuthToken, token: str, now: datetime | None = None) -> bool:
    """Whether ``token`` (the access or refresh token of ``row``) may still be used."""
    now = now or utcnow()
    if row.revoked_at is not None:
        return False
    if is_refresh(row, token):
        return row.refresh_used_at is None and aware(row.refresh_expires_at) > now
    return aware(row.expires_at) > now


def bearer(*, session: Session, token: str, scope: str) -> OAuthToken | None:
    """The live access token row for ``Authorization: Bearer token`` that carries ``scope``."""
    row = session.exec(select(OAuthToken).where(OAuthToken.access_sha256 == digest(token))).first()
    if row is None or not active(row, token) or scope not in row.scope.split():
        return None
    return row


def revoked_jtis(*, session: Session, now: datetime) -> frozenset[str]:
    """The client-credentials tokens revoked before they expire, and not expired yet."""
    query = select(RevokedToken.jti).where(col(RevokedToken.expires_at) > now)
    return frozenset(session.exec(query).all())


def revoke_client_tokens(*, session: Session, client_id: str, now: datetime) -> int:
    """Revoke every stored token of a client (its client-credentials tokens are refused by its
    epoch, which the caller moves on)."""
    result = session.execute(
        update(OAuthToken)
        .where(col(OAuthToken.client_id) == client_id, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def aware(moment: datetime | None) -> datetime:
    """``as_utc``, with no time at all before every other."""
    return datetime.min.replace(tzinfo=UTC) if moment is None else as_utc(moment)
