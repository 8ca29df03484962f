"""OpenID Connect Core 1.0 section 3.1.3.7: ID token validation, as the hub's relying party
does it. A pure function of the token, the provider's keys and what the hub expects:

1. a JWS in compact form (an encrypted token is not taken), signed with one of the
   ``algorithms`` (asymmetric only; ``none`` and MACs never);
2. the key is the provider's key with the header's ``kid`` (``keys(kid)``, which fetches the
   set again once for a ``kid`` it does not know); without a ``kid``, the set's only key for
   that algorithm;
3. ``iss`` is the issuer exactly; ``aud`` is the hub's client id and no one else's (a string, or
   a list of that one); ``azp``, when present, is the hub's client id too;
4. ``exp`` is in the future and ``iat`` not, each within ``SKEW_S``, and ``iat`` no older than
   ``MAX_AGE_S``;
5. ``nonce`` is the one the hub sent for this sign-in;
6. ``sub`` is present.

Any failure raises ``BadIdToken`` with what failed, for the log.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeGuard

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

SKEW_S = 60  # how far the provider's clock may be from the hub's
MAX_AGE_S = 600  # the oldest an ID token may be when it arrives


class BadIdToken(ValueError):
    """The ID token does not hold; ``str()`` says which check failed."""


def verify(
    token: str,
    *,
    keys: Callable[[str | None], KeySet],
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: tuple[str, ...],
    now: int,
) -> dict[str, Any]:
    """The claims of ``token``, once every check above holds."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise BadIdToken("not a signed JWT in compact form")
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise BadIdToken(f"unreadable ({type(exc).__name__})") from None
    alg = header.get("alg")
    if alg not in algorithms:
        raise BadIdToken(f"signed with {str(alg)[:20]!r}, not one of {', '.join(algorithms)}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise BadIdToken("a kid that is not a string")
    key = _key(keys(kid), kid, alg)
    try:
        claims: dict[str, Any] = dict(jwt.decode(token, key, algorithms=[alg]).claims)
    except (JoseError, ValueError) as exc:
        raise BadIdToken(f"the signature does not verify ({type(exc).__name__})") from None
    _check(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now)
    return claims


def _key(found: KeySet, kid: str | None, alg: str) -> Key:
    if kid is not None:
        matching = [k for k in found.keys if k.kid == kid]
        if not matching:
            raise BadIdToken(f"signed with a key the provider does not publish (kid {kid[:40]!r})")
        return matching[0]
    key_types = found.algorithm_keys.get(alg, [])
    candidates = [k for k in found.keys if k.key_type in key_types]
    if len(candidates) != 1:
        raise BadIdToken("no kid, and the provider publishes more than one key of its type")
    return candidates[0]


def _check(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, now: int) -> None:
    if claims.get("iss") != issuer:
        raise BadIdToken(f"issued by {str(claims.get('iss'))[:200]!r}, not {issuer!r}")
    audience = claims.get("aud")
    if audience != client_id and audience != [client_id]:
        raise BadIdToken(f"meant for {str(audience)[:200]!r}, not {client_id!r} alone")
    if "azp" in claims and claims["azp"] != client_id:
        raise BadIdToken(f"authorized party {str(claims['azp'])[:200]!r}, not {client_id!r}")
    expires, issued = claims.get("exp"), claims.get("iat")
    if not (_number(expires) and _number(issued)):
        raise BadIdToken("exp and iat must be numbers")
    if expires <= now - SKEW_S:
        raise BadIdToken("expired")
    if issued > now + SKEW_S:
        raise BadIdToken("issued in the future")
    if issued < now - MAX_AGE_S - SKEW_S:
        raise BadIdToken("issued too long ago")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise BadIdToken("not the nonce of this sign-in")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise BadIdToken("no sub")


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
