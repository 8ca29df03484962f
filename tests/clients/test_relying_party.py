"""The relying-party helper: the authorization URL (PKCE S256, state, nonce), and a callback
checked (state, then iss, then error) before its code is exchanged and the ID token verified."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from hub_client import (
    AccessDenied,
    AsyncRelyingParty,
    AuthorizationError,
    HubUnreachable,
    IdTokenError,
    InvalidCallback,
    Pending,
    RelyingParty,
    TokenError,
)
from hub_client.relying_party import pkce_challenge

from tests.clients.fakehub import (
    ISSUER,
    REDIRECT,
    RP_ID,
    RP_SECRET,
    FakeHub,
    SigningKey,
    at_hash,
    basic,
    decision_json,
    id_claims,
)


@pytest.fixture
def rp(fake: FakeHub) -> Iterator[RelyingParty]:
    with fake.http() as http:
        yield RelyingParty(ISSUER, RP_ID, RP_SECRET, REDIRECT, http=http)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def callback(pending: Pending, **params: str) -> str:
    query = {"code": "the-code", "state": pending.state, "iss": ISSUER, **params}
    return f"{REDIRECT}?{urlencode(query)}"


def issue_id_tokens(fake: FakeHub, key: SigningKey, nonce: str, **claims: object) -> None:
    fake.id_token = lambda access: key.sign(
        id_claims(nonce=nonce, at_hash=at_hash(access), borrowing=decision_json(), **claims)
    )


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_start_asks_for_a_code_with_pkce_state_and_nonce(rp: RelyingParty) -> None:
    url, pending = rp.start(prompt="login")
    assert url.startswith(f"{ISSUER}/authorize?")
    assert query(url) == {
        "response_type": "code",
        "client_id": RP_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid profile membership borrowing",
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": pkce_challenge(pending.code_verifier),
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    assert 43 <= len(pending.code_verifier) <= 128  # RFC 7636 4.1
    again = rp.start()[1]
    assert {again.state, again.nonce, again.code_verifier}.isdisjoint(
        {pending.state, pending.nonce, pending.code_verifier}
    )


def test_finish_exchanges_the_code_and_verifies_the_id_token(
    rp: RelyingParty, fake: FakeHub, signing_keys: list[SigningKey]
) -> None:
    _, pending = rp.start()
    issue_id_tokens(fake, signing_keys[0], pending.nonce)
    sign_in = rp.finish(callback(pending), pending)
    assert sign_in.sub == "pairwise-sub" and sign_in.claims["name"] == "Avery Good"
    assert sign_in.borrowing is not None and sign_in.borrowing.eligible
    assert sign_in.borrowing.terms is not None and sign_in.borrowing.terms.max_items == 3
    exchange = fake.calls("/token")[-1]
    assert exchange.headers["authorization"] == basic(RP_ID, RP_SECRET)
    assert query(f"?{exchange.content.decode()}") == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "code_verifier": pending.code_verifier,
    }


def test_a_public_client_names_itself_in_the_form(
    fake: FakeHub, signing_keys: list[SigningKey]
) -> None:
    with fake.http() as http:
        rp = RelyingParty(ISSUER, RP_ID, None, REDIRECT, http=http)
        _, pending = rp.start()
        issue_id_tokens(fake, signing_keys[0], pending.nonce)
        rp.finish(callback(pending), pending)
    exchange = fake.calls("/token")[-1]
    assert "authorization" not in exchange.headers
    assert query(f"?{exchange.content.decode()}")["client_id"] == RP_ID


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "forged"}, "state"),
        ({"state": ""}, "state"),
        ({"iss": "https://evil.test"}, "issuer"),
        ({"iss": f"{ISSUER}/"}, "issuer"),
        ({"code": ""}, "neither a code nor an error"),
    ],
)
def test_finish_refuses_a_callback_that_is_not_ours(
    rp: RelyingParty, fake: FakeHub, params: dict[str, str], message: str
) -> None:
    _, pending = rp.start()
    with pytest.raises(InvalidCallback, match=message):
        rp.finish(callback(pending, **params), pending)
    assert fake.calls("/token") == []


def test_finish_refuses_a_callback_without_iss_from_a_hub_that_sends_it(
    rp: RelyingParty, fake: FakeHub
) -> None:
    _, pending = rp.start()
    url = f"{REDIRECT}?{urlencode({'code': 'c', 'state': pending.state})}"
    with pytest.raises(InvalidCallback, match="no iss"):
        rp.finish(url, pending)
    assert fake.calls("/token") == []


def test_finish_refuses_repeated_parameters(rp: RelyingParty) -> None:
    _, pending = rp.start()
    with pytest.raises(InvalidCallback, match="repeats code"):
        rp.finish(callback(pending) + "&code=other", pending)


def test_an_error_answer_is_raised_as_such_once_state_and_iss_match(rp: RelyingParty) -> None:
    _, pending = rp.start()
    denied = {"error": "access_denied", "error_description": "The patron declined"}
    with pytest.raises(AccessDenied, match="declined"):
        rp.finish({"state": pending.state, "iss": ISSUER, **denied}, pending)
    with pytest.raises(AuthorizationError) as caught:
        rp.finish(callback(pending, error="login_required"), pending)
    assert caught.value.error == "login_required" and not isinstance(caught.value, AccessDenied)
    with pytest.raises(InvalidCallback):
        rp.finish({"state": "forged", "iss": ISSUER, **denied}, pending)


def test_a_refused_code_is_a_token_error(rp: RelyingParty, fake: FakeHub) -> None:
    _, pending = rp.start()

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant"})

    with httpx.Client(transport=httpx.MockTransport(
        lambda r: refuse(r) if r.url.path == "/token" else fake.handle(r)
    )) as http:  # fmt: skip
        rp = RelyingParty(ISSUER, RP_ID, RP_SECRET, REDIRECT, http=http)
        with pytest.raises(TokenError) as caught:
            rp.finish(callback(pending), pending)
    assert caught.value.error == "invalid_grant"


def test_an_id_token_for_another_sign_in_is_refused(
    rp: RelyingParty, fake: FakeHub, signing_keys: list[SigningKey]
) -> None:
    _, pending = rp.start()
    issue_id_tokens(fake, signing_keys[0], "the nonce of another sign-in")
    with pytest.raises(IdTokenError) as caught:
        rp.finish(callback(pending), pending)
    assert caught.value.reason == "nonce"


def test_the_async_relying_party_takes_the_same_steps(
    fake: FakeHub, signing_keys: list[SigningKey]
) -> None:
    async def main() -> str:
        async with fake.async_http() as http:
            rp = AsyncRelyingParty(ISSUER, RP_ID, RP_SECRET, REDIRECT, http=http)
            url, pending = await rp.start()
            assert query(url)["state"] == pending.state
            issue_id_tokens(fake, signing_keys[0], pending.nonce)
            return (await rp.finish(callback(pending), pending)).sub

    assert asyncio.run(main()) == "pairwise-sub"


def test_start_will_not_let_extra_parameters_replace_its_own(rp: RelyingParty) -> None:
    with pytest.raises(ValueError, match="nonce, state"):
        rp.start(state="mine", nonce="mine")


def test_a_code_is_never_sent_twice_after_a_lost_answer(rp: RelyingParty, fake: FakeHub) -> None:
    _, pending = rp.start()
    sent = 0

    def lose_the_answer(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        if request.url.path != "/token":
            return fake.handle(request)
        sent += 1  # the hub got it (and would issue tokens) but its answer was lost:
        raise httpx.ReadTimeout("timed out", request=request)

    with httpx.Client(transport=httpx.MockTransport(lose_the_answer)) as http:
        client = RelyingParty(ISSUER, RP_ID, RP_SECRET, REDIRECT, http=http)
        with pytest.raises(HubUnreachable):
            client.finish(callback(pending), pending)
    assert sent == 1  # sent again, the code would revoke the tokens the first try got
