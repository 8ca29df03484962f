"""``verify_id_token`` with python-jose against a JWKS made here: each check refuses what it
must, and an unknown key makes exactly one fetch of the key set."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hub_client import HubClient, IdTokenError, JwksCache, verify_id_token

from tests.clients.fakehub import (
    ISSUER,
    RP_ID,
    FakeHub,
    SigningKey,
    at_hash,
    compact,
    id_claims,
)

JWKS = f"{ISSUER}/jwks.json"


@pytest.fixture
def http(fake: FakeHub) -> Iterator[httpx.Client]:
    with fake.http() as http:
        yield http


def verify(token: str, http: httpx.Client, cache: JwksCache | None = None, **kw: Any) -> Any:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": RP_ID, "nonce": "the-nonce", **kw}
    return verify_id_token(token, jwks_cache=cache or JwksCache(JWKS), http=http, **options)


def test_a_good_token_gives_its_claims(http: httpx.Client, signing_keys: list[SigningKey]) -> None:
    claims = verify(signing_keys[0].sign(id_claims()), http)
    assert claims["sub"] == "pairwise-sub" and claims["name"] == "Avery Good"


@pytest.mark.parametrize(
    ("claims", "kw", "reason"),
    [
        (id_claims(aud="another-client"), {}, "audience"),
        (id_claims(aud=["another-client", RP_ID], azp="another-client"), {}, "audience"),
        (id_claims(iss="https://evil.test"), {}, "issuer"),
        (id_claims(iss=None), {}, "claims"),
        (id_claims(exp=int(time.time()) - 60), {}, "expired"),
        (id_claims(exp=None), {}, "claims"),
        (id_claims(nonce="another-nonce"), {}, "nonce"),
        (id_claims(nonce=None), {}, "nonce"),
        (id_claims(at_hash=at_hash("token-a")), {"access_token": "token-b"}, "claims"),
    ],
    ids=["aud", "azp", "iss", "no-iss", "exp", "no-exp", "nonce", "no-nonce", "at_hash"],
)
def test_a_failed_check_names_its_reason(
    http: httpx.Client,
    signing_keys: list[SigningKey],
    claims: dict[str, Any],
    kw: dict[str, Any],
    reason: str,
) -> None:
    with pytest.raises(IdTokenError) as caught:
        verify(signing_keys[0].sign(claims), http, **kw)
    assert caught.value.reason == reason


def test_a_token_expired_within_the_leeway_still_verifies(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    token = signing_keys[0].sign(id_claims(exp=int(time.time()) - 10))
    assert verify(token, http, leeway=30)["sub"] == "pairwise-sub"


def test_the_nonce_is_checked_only_when_one_was_sent(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    assert verify(signing_keys[0].sign(id_claims(nonce=None)), http, nonce=None)


def test_at_hash_matches_the_access_token(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    token = signing_keys[0].sign(id_claims(at_hash=at_hash("token-a")))
    assert verify(token, http, access_token="token-a")


def test_a_signature_by_another_key_with_a_published_kid_is_refused(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    forger = SigningKey(signing_keys[0].kid, signing_keys[1].private)
    with pytest.raises(IdTokenError) as caught:
        verify(forger.sign(id_claims()), http)
    assert caught.value.reason == "signature"


def test_an_unknown_kid_fetches_the_key_set_once_more(
    fake: FakeHub, http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    cache = JwksCache(JWKS)
    verify(signing_keys[0].sign(id_claims()), http, cache)
    assert cache.fetches == 1
    verify(signing_keys[0].sign(id_claims()), http, cache)
    assert cache.fetches == 1  # kept

    fake.keys.append(signing_keys[1])  # the hub rotated its key
    verify(signing_keys[1].sign(id_claims()), http, cache)
    assert cache.fetches == 2
    verify(signing_keys[0].sign(id_claims()), http, cache)  # the old key is still published
    assert cache.fetches == 2

    with pytest.raises(IdTokenError) as caught:
        verify(signing_keys[2].sign(id_claims()), http, cache)  # a key the hub never published
    assert caught.value.reason == "unknown_key" and cache.fetches == 3


def test_keys_are_fetched_again_when_the_hubs_max_age_has_passed(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    now = [0.0]
    cache = JwksCache(JWKS, clock=lambda: now[0])
    token = signing_keys[0].sign(id_claims())
    verify(token, http, cache)
    now[0] = 299.0
    verify(token, http, cache)
    now[0] = 300.0  # the fake hub says max-age=300
    verify(token, http, cache)
    assert cache.fetches == 2


def test_alg_none_is_refused(http: httpx.Client, signing_keys: list[SigningKey]) -> None:
    token = compact({"alg": "none", "kid": signing_keys[0].kid}, id_claims(), lambda _: b"")
    with pytest.raises(IdTokenError) as caught:
        verify(token, http)
    assert caught.value.reason == "algorithm"


def test_hs256_signed_with_the_public_key_is_refused(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    public = json.dumps(signing_keys[0].public_jwk).encode()  # the classic key confusion
    header = {"alg": "HS256", "kid": signing_keys[0].kid}
    token = compact(header, id_claims(), lambda data: hmac.new(public, data, "sha256").digest())
    with pytest.raises(IdTokenError) as caught:
        verify(token, http)
    assert caught.value.reason == "algorithm"


def test_an_access_token_is_not_an_id_token(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    with pytest.raises(IdTokenError, match="access token"):
        verify(signing_keys[0].sign(id_claims(), typ="at+jwt"), http)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_malformed(http: httpx.Client, token: str) -> None:
    with pytest.raises(IdTokenError) as caught:
        verify(token, http)
    assert caught.value.reason == "malformed"


def test_the_hub_client_verifies_with_the_issuers_keys(
    client: HubClient, fake: FakeHub, signing_keys: list[SigningKey]
) -> None:
    claims = client.verify_id_token(
        signing_keys[0].sign(id_claims()), audience=RP_ID, nonce="the-nonce"
    )
    assert claims["aud"] == RP_ID
    fake.keys.append(signing_keys[1])
    client.verify_id_token(signing_keys[1].sign(id_claims()), audience=RP_ID)
    assert len(fake.calls("/jwks.json")) == 2


def test_keys_that_cannot_be_fetched_are_said_so(signing_keys: list[SigningKey]) -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as http:
        with pytest.raises(IdTokenError) as caught:
            verify(signing_keys[0].sign(id_claims()), http)
    assert caught.value.reason == "keys_unavailable"


def test_forged_kids_cannot_make_the_client_hammer_the_hub(
    http: httpx.Client, signing_keys: list[SigningKey]
) -> None:
    cache = JwksCache(JWKS)
    verify(signing_keys[0].sign(id_claims()), http, cache)
    for n in range(20):  # tokens naming keys the hub never had
        with pytest.raises(IdTokenError):
            verify(signing_keys[0].sign(id_claims(), kid=f"made-up-{n}"), http, cache)
    assert cache.fetches == 1 + 3  # one fetch, then a burst of three early ones, then no more
