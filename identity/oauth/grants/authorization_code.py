"""Authorization code grant (RFC 6749 section 4.1), with PKCE and OpenID Connect Core 3.1.

The code is consumed atomically *before* any token is issued: ``query_authorization_code``
marks it used in the statement that finds it, so of two redemptions racing, exactly one gets a
row. Authlib would delete it only after issuing tokens. A code presented again revokes
whatever its first redemption got (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN as _VERIFIER
from sqlalchemy import update
from sqlmodel import Session, col, select

from identity.oauth import claims, tokens
from identity.oauth.patron import Patron
from identity.oauth.row_adapters import StoredCode
from identity.store.database import transaction
from identity.store.models import AuthorizationCode, utcnow

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
        patron: Patron = request.user
        data = request.payload.data
        with transaction(self.server.engine) as session:
            session.add(
                AuthorizationCode(
                    code_sha256=tokens.digest(code),
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    nonce=data.get("nonce") or None,
                    code_challenge=data["code_challenge"],
                    code_challenge_method=data["code_challenge_method"],
                    patron=patron.to_json(),
                    family=tokens.new_family(),
                    auth_time=patron.auth_time,
                    expires_at=utcnow() + CODE_LIFETIME,
                )
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
            consumed = session.execute(
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
                .returning(col(AuthorizationCode.code_sha256))
            ).first()
            row = session.get(AuthorizationCode, hashed)
            if consumed is None:
                if (
                    row is not None
                    and row.used_at is not None
                    and row.client_id == client.client_id
                ):
                    tokens.revoke_family(session=session, family=row.family, now=now)
                return None
            assert row is not None
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


def nonce_used(*, server: Any, client_id: str, nonce: str) -> bool:
    """Whether ``nonce`` came with an earlier, still-live code of this client (a replay)."""
    with Session(server.engine) as session:
        query = select(AuthorizationCode.code_sha256).where(
            AuthorizationCode.client_id == client_id,
            AuthorizationCode.nonce == nonce,
            col(AuthorizationCode.expires_at) > utcnow(),
        )
        return session.exec(query).first() is not None
