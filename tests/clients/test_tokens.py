"""The client credentials token: fetched once, kept until shortly before it expires, renewed
once when the API refuses it."""

from __future__ import annotations

import pytest
from hub_client import HubClient, TokenError, Unauthorized
from hub_client.core import Core
from hub_client.flow import run
from hub_client.retry import Retry

from tests.clients.fakehub import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeHub, basic, problem


def no_sleep(seconds: float) -> None:
    raise AssertionError("nothing to wait for")


def test_the_token_is_fetched_once_with_basic_auth(client: HubClient, fake: FakeHub) -> None:
    for card in ("1", "2", "3"):
        client.check(home_library="rmit", card=card)
    (token_request,) = fake.calls("/token")
    # RFC 6749 2.3.1: form-encoded before base64 ("/", ":" and "&" in the secret survive)
    assert token_request.headers["authorization"] == basic(CLIENT_ID, CLIENT_SECRET)
    assert basic(CLIENT_ID, CLIENT_SECRET) == (
        "Basic ZGVtby1tb25hc2gtcGFydG5lcjpzM2NyZXQlMkZ3aXRoJTNBb2RkJTI2Y2hhcnM="
    )
    assert {r.headers["authorization"] for r in fake.calls("/api/v1/eligibility")} == {
        "Bearer access-0"
    }


def test_a_token_refused_by_the_api_is_renewed_once(client: HubClient, fake: FakeHub) -> None:
    fake.script.append(problem("unauthorized", 401))  # e.g. revoked
    assert client.check(home_library="rmit", card="1").eligible
    assert len(fake.calls("/token")) == 2
    calls = fake.calls("/api/v1/eligibility")
    assert [c.headers["authorization"] for c in calls] == ["Bearer access-0", "Bearer access-1"]


def test_a_new_token_refused_too_is_unauthorized(client: HubClient, fake: FakeHub) -> None:
    fake.script += [problem("unauthorized", 401), problem("unauthorized", 401)]
    with pytest.raises(Unauthorized):
        client.check(home_library="rmit", card="1")
    assert len(fake.calls("/token")) == 2 and len(fake.calls("/api/v1/eligibility")) == 2


def test_the_token_is_renewed_30_seconds_before_it_expires(fake: FakeHub) -> None:
    now = [0.0]
    core = Core(ISSUER, CLIENT_ID, CLIENT_SECRET, retry=Retry(), clock=lambda: now[0])
    with fake.http() as http:

        def get() -> str:
            return run(core.tokens.get(f"{ISSUER}/token", core.retry), http, no_sleep)

        assert get() == "access-0"
        now[0] = 3569.0
        assert get() == "access-0"
        now[0] = 3570.0
        assert get() == "access-1"


def test_a_short_lived_token_is_renewed_at_half_its_life(fake: FakeHub) -> None:
    fake.expires_in = 40
    now = [0.0]
    core = Core(ISSUER, CLIENT_ID, CLIENT_SECRET, retry=Retry(), clock=lambda: now[0])
    with fake.http() as http:

        def get() -> str:
            return run(core.tokens.get(f"{ISSUER}/token", core.retry), http, no_sleep)

        get()
        now[0] = 19.0
        assert get() == "access-0"
        now[0] = 20.0
        assert get() == "access-1"


def test_wrong_credentials_are_a_token_error(fake: FakeHub) -> None:
    with (
        fake.http() as http,
        HubClient(ISSUER, CLIENT_ID, "wrong", http=http) as hub,
        pytest.raises(TokenError) as caught,
    ):
        hub.check(home_library="rmit", card="1")
    assert (caught.value.error, caught.value.status) == ("invalid_client", 401)
    assert fake.calls("/api/v1/eligibility") == []
