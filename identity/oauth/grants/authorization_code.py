"""Authorization code grant (RFC 6749 section 4.1), with PKCE and OpenID Connect Core 3.1.

The code is saved in the transaction that spends the consent's ticket (a consent answered twice,
from two tabs, gets one code) and that finds its ``nonce`` unused by any live code of the client
(a replayed authorization request gets none); ``/authorize`` checked the nonce too, when the
sign-in page was asked for. That transaction does not wait for the disk: a crash of the
database that loses it loses ticket and code together, before the code was redeemed (a
redemption waits for the disk, and the log is flushed in order).

The code is consumed atomically *before* any token is issued: ``query_authorization_code``
marks it used in the statement that finds it, so of two redemptions racing, exactly one gets a
row. Authlib would delete it only after issuing tokens. A code presented again revokes
whatever its first redemption got (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN as _VERIFIER
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from identity.oauth import claims, tokens
from identity.oauth.patron import Patron
from identity.oauth.row_adapters import StoredCode
from identity.store.database import transaction, without_waiting_for_disk
from identity.store.models import AuthorizationCode, SpentTicket, utcnow

if TYPE_CHECKING:
    from identity.oauth.client import Client

CODE_LIFETIME = timedelta(seconds=120)
MAX_NONCE = 255


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_authorization_request(self) -> str:
        # OpenID Connect Core 3.1.2.1: redirect_uri is required, even with one registered
        if not self.request.payload.redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        redirect_uri = str(super().validate_authorization_request())
        if len(self.request.payload.data.get("nonce") or "") > MAX_NONCE:
            raise InvalidRequestError(
                f"'nonce' is longer than {MAX_NONCE} characters.", redirect_uri=redirect_uri
            )
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Save the code, spending the consent's ticket in the same transaction: raises
        ``AlreadyAnswered`` if it was spent, and ``InvalidRequestError`` if a live code of the
        client came with the same nonce (a replay); either way nothing is saved."""
        consent: Consent = request.user
        patron = consent.patron
        data = request.payload.data
        nonce = data.get("nonce") or None
        client_id = request.client.client_id
        now = utcnow()
        with transaction(self.server.engine) as session:
            # lost in a crash of the database, ticket and code go together, and the code was
            # not redeemed: its redemption waits for the disk, and the log is flushed in order
            without_waiting_for_disk(session)
            try:
                session.execute(insert(SpentTicket), {"ticket": consent.ticket, "at": now})
            except IntegrityError:
                raise AlreadyAnswered from None
            if nonce is not None and nonce_used(session=session, client_id=client_id, nonce=nonce):
                raise InvalidRequestError("Replay attack", redirect_uri=self.redirect_uri)
            session.execute(
                insert(AuthorizationCode),
                {
                    "code_sha256": tokens.digest(code),
                    "client_id": client_id,
                    "redirect_uri": request.payload.redirect_uri,
                    "scope": request.scope,
                    "nonce": nonce,
                    "code_challenge": data["code_challenge"],
                    "code_challenge_method": data["code_challenge_method"],
                    "patron": patron.to_json(),
                    "family": tokens.new_family(),
                    "auth_time": patron.auth_time,
                    "expires_at": now + CODE_LIFETIME,
                },
            )

    def query_authorization_code(self, code: str, client: Client) -> StoredCode | None:
        """Spend the code, if it is this client's, alive, unspent, and the request has its
        redirect URI and PKCE verifier: a request that would fail anyway spends nothing, so a
        stolen code without its verifier cannot spoil the patron's sign-in."""
        now = utcnow()
        hashed = tokens.digest(code)
        verifier = self.request.form.get("code_verifier") or ""
        challenge = create_s256_code_challenge(verifier) if _VERIFIER.match(verifier) else ""
        with transaction(self.server.engine) as session:
            row = session.scalars(
                update(AuthorizationCode)
                .where(
                    col(AuthorizationCode.code_sha256) == hashed,
                    col(AuthorizationCode.client_id) == client.client_id,
                    col(AuthorizationCode.used_at).is_(None),
                    col(AuthorizationCode.expires_at) > now,
                    col(AuthorizationCode.redirect_uri)
                    == (self.request.payload.redirect_uri or ""),
                    col(AuthorizationCode.code_challenge) == challenge,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
                .returning(AuthorizationCode)
            ).first()
            if row is None:  # not spent now: was it spent before (a replay)?
                spent = session.get(AuthorizationCode, hashed)
                if (
                    spent is not None
                    and spent.used_at is not None
                    and spent.client_id == client.client_id
                ):
                    tokens.revoke_family(session=session, family=spent.family, now=now)
                return None
            session.expunge(row)
            return StoredCode(row)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Nothing to do: the code was spent when it was read."""

    def authenticate_user(self, authorization_code: StoredCode) -> tokens.Grantee:
        patron = Patron.from_json(authorization_code.row.patron)
        lender = self.request.client.library
        return tokens.Grantee(
            sub=claims.pairwise_sub(secret=self.server.secret, lender=lender, patron=patron),
            family=authorization_code.row.family,
            patron=patron,
            lender=lender,
        )


class AlreadyAnswered(Exception):
    """The consent's ticket was spent already (a second post: the back button, another tab)."""


@dataclass(frozen=True, slots=True)
class Consent:
    """A patron's yes on the consent page: who (as the home library described them at
    sign-in), and the ticket that carried them there, spent when the code is saved."""

    patron: Patron
    ticket: str


def nonce_used(*, session: Session, client_id: str, nonce: str) -> bool:
    """Whether ``nonce`` came with an earlier, still-live code of this client (a replay)."""
    query = select(AuthorizationCode.code_sha256).where(
        AuthorizationCode.client_id == client_id,
        AuthorizationCode.nonce == nonce,
        col(AuthorizationCode.expires_at) > utcnow(),
    )
    return session.exec(query).first() is not None
