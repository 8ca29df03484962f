"""ID token validation (OpenID Connect Core 3.1.3.7), with tokens crafted here by joserfc: one
that holds, and one for each way a token can be wrong, each refused."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from identity.patrons.connectors.oidc.id_token import BadIdToken, verify

ISSUER = "https://idp.uni.example"
CLIENT = "hub"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_800_000_000
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)  # same kid, not ours
PUBLISHED = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])


def token(claims: dict[str, Any] | None = None, *, key: Any = KEY, **header: Any) -> str:
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "alice", "nonce": NONCE,
            "iat": NOW - 5, "exp": NOW + 300, **(claims or {})}  # fmt: skip
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1", **header}, body, key)


def check(value: str, keys: KeySet = PUBLISHED) -> dict[str, Any]:
    return verify(
        value,
        keys=lambda kid: keys,
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=NONCE,
        algorithms=("RS256", "ES256"),
        now=NOW,
    )


def test_a_token_that_holds_gives_its_claims() -> None:
    assert check(token({"name": "Alice"}))["name"] == "Alice"
    assert check(token({"aud": [CLIENT], "azp": CLIENT}))["sub"] == "alice"
    assert check(token({"iat": NOW + 50, "exp": NOW - 50}))["sub"] == "alice"  # within the skew
    keyless = jwt.encode({"alg": "RS256"}, {"iss": ISSUER, "aud": CLIENT, "sub": "a",
                         "nonce": NONCE, "iat": NOW, "exp": NOW + 60}, KEY)  # fmt: skip
    assert check(keyless)["sub"] == "a"  # no kid, and the provider has one RSA key


HS_KEY = OctKey.import_key(b"the-client-secret-the-provider-knows-too")
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "e1"}, private=True)


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        (token({"nonce": "another"}), "not the nonce of this sign-in"),
        (token({"nonce": None}), "not the nonce of this sign-in"),
        (token({"aud": "another-client"}), "meant for 'another-client'"),
        (token({"aud": [CLIENT, "another-client"]}), "not 'hub' alone"),
        (token({"azp": "another-client"}), "authorized party"),
        (token({"iss": "https://evil.example"}), "issued by 'https://evil.example'"),
        (token({"iss": ISSUER + "/"}), "issued by"),
        (token({"exp": NOW - 61}), "expired"),
        (token({"iat": NOW + 61}), "issued in the future"),
        (token({"iat": NOW - 661}), "issued too long ago"),
        (token({"exp": "tomorrow"}), "exp and iat must be numbers"),
        (token({"sub": None}), "no sub"),
        (token(key=OTHER), "the signature does not verify"),
        (token(kid="k2"), "a key the provider does not publish (kid 'k2')"),
        (jwt.encode({"alg": "HS256", "kid": "k1"}, {"iss": ISSUER}, HS_KEY), "'HS256', not one"),
        (token(key=EC_KEY, alg="ES256", kid="k1"), "the signature does not verify"),
        ("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "'none', not one"),
        ("a.b.c.d.e", "not a signed JWT in compact form"),
        ("not-a-token", "not a signed JWT"),
        ("!!.!!.!!", "unreadable"),
    ],
    ids=lambda v: v[:30] if isinstance(v, str) else None,
)
def test_a_token_that_does_not_hold_is_refused_saying_why(value: str, refusal: str) -> None:
    with pytest.raises(BadIdToken, match=None) as refused:
        check(value)
    assert refusal in str(refused.value)


def test_without_a_kid_a_provider_with_two_keys_of_the_type_is_no_help() -> None:
    second = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=False)
    keyless = jwt.encode({"alg": "RS256"}, {"iss": ISSUER}, KEY)
    with pytest.raises(BadIdToken, match="more than one key"):
        check(keyless, KeySet([*PUBLISHED.keys, second]))


def test_the_key_set_is_asked_for_the_kid_of_the_token() -> None:
    asked: list[str | None] = []

    def keys(kid: str | None) -> KeySet:
        asked.append(kid)
        return PUBLISHED

    verify(token(), keys=keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
           algorithms=("RS256",), now=NOW)  # fmt: skip
    assert asked == ["k1"]
