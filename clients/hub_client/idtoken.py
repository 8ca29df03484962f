"""ID token validation (OpenID Connect Core 3.1.3.7) with python-jose: the signature (RS256
only, by a key of the hub's JWKS), ``iss``, ``aud`` (and ``azp`` when present), ``exp`` and
``iat``, ``nonce``, and ``at_hash`` when the access token is given."""

from __future__ import annotations

import hmac
import time
from typing import Any

import httpx
from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

from hub_client.errors import IdTokenError
from hub_client.flow import Flow, run
from hub_client.jwks import JwksCache
from hub_client.retry import Retry

#: the only algorithm accepted: the hub signs with it (``none`` and HMAC are refused)
ALGORITHMS = ["RS256"]


def verify_flow(
    token: str,
    *,
    issuer: str,
    audience: str,
    nonce: str | None,
    jwks_cache: JwksCache,
    retry: Retry,
    access_token: str | None = None,
    leeway: float = 30.0,
) -> Flow[dict[str, Any]]:
    """``verify_id_token`` as a flow, for ``HubClient`` and ``AsyncHubClient``."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise IdTokenError("malformed", str(exc)) from None
    if header.get("alg") not in ALGORITHMS:
        raise IdTokenError("algorithm", f"alg {header.get('alg')!r} is not accepted (RS256 only)")
    if str(header.get("typ", "")).lower() in ("at+jwt", "application/at+jwt"):
        raise IdTokenError("malformed", "this is an access token (RFC 9068), not an ID token")
    kid = header.get("kid")
    key = yield from jwks_cache.key(None if kid is None else str(kid), retry)
    options = {
        **{f"require_{claim}": True for claim in ("iss", "aud", "exp", "iat", "sub")},
        "verify_at_hash": access_token is not None,
        "leeway": leeway,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=issuer,
            access_token=access_token,
            options=options,
        )
    except ExpiredSignatureError as exc:
        raise IdTokenError("expired", str(exc)) from None
    except JWTClaimsError as exc:
        message = str(exc)
        reason = next((r for r in ("issuer", "audience") if r in message.lower()), "claims")
        raise IdTokenError(reason, message) from None
    except JWTError as exc:
        message = str(exc)
        reason = "claims" if "missing required key" in message else "signature"
        raise IdTokenError(reason, message) from None
    except Exception as exc:  # a malformed key in the set, or a token python-jose trips on
        raise IdTokenError("malformed", f"cannot verify: {exc!r}") from None
    if "azp" in claims and claims["azp"] != audience:
        raise IdTokenError("audience", f"azp {claims['azp']!r} is not {audience!r}")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str):
            raise IdTokenError("nonce", "the token has no nonce, and one was sent")
        if not hmac.compare_digest(got.encode(), nonce.encode()):
            raise IdTokenError("nonce", "the token's nonce is not the one sent")
    return claims


def verify_id_token(
    token: str,
    *,
    issuer: str,
    audience: str,
    nonce: str | None = None,
    jwks_cache: JwksCache,
    access_token: str | None = None,
    leeway: float = 30.0,
    http: httpx.Client | None = None,
) -> dict[str, Any]:
    """Verify an ID token from the hub and return its claims.

    Checks the RS256 signature against ``jwks_cache`` (fetched once more if the token names a key
    it lacks, as after a key rotation), that ``iss`` is ``issuer``, that ``aud`` contains
    ``audience`` (your client id), that it has not expired (``leeway`` seconds of clock skew
    allowed), and, when ``nonce`` is given, that the token carries exactly that nonce. Give
    ``access_token`` (from the same token response) to check ``at_hash`` too.

    Raises ``IdTokenError``, whose ``reason`` names the check that failed. Keep one
    ``JwksCache`` for the life of your application; ``http`` is the client used to fetch keys
    (a short-lived one when ``None``).

    ``HubClient.verify_id_token`` does the same with the issuer's own discovery document.
    """
    flow = verify_flow(
        token,
        issuer=issuer,
        audience=audience,
        nonce=nonce,
        jwks_cache=jwks_cache,
        retry=Retry(),
        access_token=access_token,
        leeway=leeway,
    )
    if http is not None:
        return run(flow, http, time.sleep)
    with httpx.Client(timeout=10.0) as own:
        return run(flow, own, time.sleep)
