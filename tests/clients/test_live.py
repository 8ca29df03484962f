"""The SDK against the running hub (the demo network on a free port): decisions, problems, the
batch, 429 and 503 retries with the hub's own ``Retry-After``, ID tokens signed by the hub and
verified with python-jose, a key rotation noticed by a running client, and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hub_client import (
    AsyncHubClient,
    CheckRequest,
    Decision,
    HomeLibraryUnavailable,
    HubClient,
    IdTokenError,
    ProblemError,
    RelyingParty,
    Retry,
    SignIn,
    TokenError,
    UnknownCard,
    UnknownLibrary,
)

from identity import demo
from identity.oauth import signing_keys
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.oauth.conftest import GOOD, OWES, LiveHub, live_hub
from tests.identity.oauth.test_login import publish_far_library

__all__ = ["live_hub"]  # the fixture, imported for this module's tests

UNKNOWN_CARD = "21119999999999"


class Recorder:
    """An ``httpx.Client`` that keeps every request it sends."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.http = httpx.Client(timeout=30, event_hooks={"request": [self.sent.append]})

    def paths(self, path: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.url.path == path]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.http.close()


def partner(
    live_hub: LiveHub,
    http: httpx.Client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    retry: Retry | None = None,
) -> HubClient:
    """The monash demo partner's client."""
    secret = demo.client_secret("monash", "partner")
    return HubClient(
        live_hub.issuer, "demo-monash-partner", secret, http=http, sleep=sleep, retry=retry
    )


@pytest.fixture
def hub(live_hub: LiveHub, recorder: Recorder) -> HubClient:
    return partner(live_hub, recorder.http)


def sign_in(live_hub: LiveHub, rp: RelyingParty) -> SignIn:
    url, pending = rp.start()
    back = live_hub.browser().sign_in(url, card=GOOD, pin="0001")
    assert back.status_code == 302, back.text
    return rp.finish(back.headers["location"], pending)


@pytest.fixture
def rp(live_hub: LiveHub) -> Iterator[RelyingParty]:
    registered = live_hub.add_rp("monash")
    rp = RelyingParty(
        live_hub.issuer, registered.client_id, registered.client_secret, registered.redirect_uri
    )
    yield rp
    rp.close()


def test_a_patron_in_good_standing_is_eligible_with_terms(hub: HubClient) -> None:
    decision = hub.check(home_library="rmit", card=GOOD, material="book")
    assert decision.eligible and decision.reasons == []
    assert (decision.lender, decision.home_library) == ("monash", "rmit")
    assert decision.terms is not None and decision.terms.max_items > 0
    assert decision.agreements and decision.decided_at.tzinfo is not None


def test_a_patron_owing_fines_is_not_eligible_and_told_why(hub: HubClient) -> None:
    decision = hub.check(home_library="rmit", card=OWES)
    assert not decision.eligible and decision.terms is None
    assert [r.code for r in decision.reasons] == ["fines_over_limit"]
    assert decision.reasons[0].agreement in decision.agreements


def test_unknown_libraries_and_cards_are_raised(hub: HubClient) -> None:
    with pytest.raises(UnknownLibrary) as caught:
        hub.check(home_library="nowhere", card=GOOD)
    assert caught.value.status == 404 and caught.value.type == "/problems/unknown-library"
    with pytest.raises(UnknownCard):
        hub.check(home_library="rmit", card=UNKNOWN_CARD)


def test_a_revoked_token_is_replaced_once_and_the_question_answered(
    live_hub: LiveHub, hub: HubClient, recorder: Recorder
) -> None:
    assert hub.check(home_library="rmit", card=GOOD).eligible
    first = recorder.paths("/api/v1/eligibility")[0].headers["authorization"].split()[1]
    revoked = httpx.post(
        f"{live_hub.issuer}/revoke",
        data={"token": first},
        auth=("demo-monash-partner", demo.client_secret("monash", "partner")),
    )
    assert revoked.status_code == 200
    assert hub.check(home_library="rmit", card=GOOD).eligible
    used = [r.headers["authorization"] for r in recorder.paths("/api/v1/eligibility")]
    assert used[:2] == [f"Bearer {first}"] * 2 and used[2] != used[1] and len(used) == 3
    assert len(recorder.paths("/token")) == 2


def test_the_async_client_asks_the_same(live_hub: LiveHub) -> None:
    async def main() -> tuple[Decision, list[Decision | ProblemError]]:
        secret = demo.client_secret("monash", "partner")
        async with AsyncHubClient(live_hub.issuer, "demo-monash-partner", secret) as hub:
            one = await hub.check(home_library="rmit", card=OWES)
            many = await hub.check_many([CheckRequest("rmit", GOOD), CheckRequest("x", GOOD)])
            return one, many

    one, many = asyncio.run(main())
    assert not one.eligible and [r.code for r in one.reasons] == ["fines_over_limit"]
    assert isinstance(many[0], Decision) and isinstance(many[1], UnknownLibrary)


def test_check_many_sends_150_questions_in_two_batches(hub: HubClient, recorder: Recorder) -> None:
    cards = [UNKNOWN_CARD if n % 3 == 0 else (GOOD, OWES)[n % 2] for n in range(150)]
    results = hub.check_many({"home_library": "rmit", "card": card} for card in cards)
    batches = recorder.paths("/api/v1/eligibility/batch")
    assert len(batches) == 2 and len(results) == 150
    for card, result in zip(cards, results, strict=True):
        if card == UNKNOWN_CARD:
            assert isinstance(result, UnknownCard)
        else:
            assert isinstance(result, Decision) and result.eligible == (card == GOOD)


def test_past_the_rate_limit_the_client_waits_as_told_and_goes_on(live_hub: LiveHub) -> None:
    server = live_hub.app.state.oauth
    server.settings = server.settings.model_copy(update={"eligibility_rate": "2/2"})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with Recorder().http as http, partner(live_hub, http, sleep=sleep) as hub:
        # six questions span at most two 2-second windows: one window gets a third question
        for _ in range(6):
            assert hub.check(home_library="rmit", card=GOOD).eligible
    assert waits and all(1 <= w <= 2 for w in waits)


def test_an_unreachable_home_library_is_tried_again_after_its_retry_after(
    live_hub: LiveHub, recorder: Recorder, tmp_path: Path
) -> None:
    publish_far_library(live_hub, tmp_path)
    ask = {"home_library": "farlib", "card": "29990000000001"}
    slept: list[float] = []  # recorded, not slept: the breaker's Retry-After is 30 s
    with (
        partner(live_hub, recorder.http, sleep=slept.append) as hub,
        pytest.raises(HomeLibraryUnavailable) as now,
    ):
        hub.check(**ask)
    assert now.value.retry_after is not None and now.value.retry_after > 0
    if now.value.retry_after > Retry().max_wait:  # too long to wait: raised at once
        assert len(recorder.paths("/api/v1/eligibility")) == 1 and slept == []
    else:  # waited for as told, then given up
        assert slept == [now.value.retry_after] * Retry().max_retries
        assert len(recorder.paths("/api/v1/eligibility")) == 1 + Retry().max_retries

    waits: list[float] = []
    patient = Retry(max_wait=now.value.retry_after)
    with Recorder().http as http, partner(live_hub, http, sleep=waits.append, retry=patient) as hub:
        with pytest.raises(HomeLibraryUnavailable):
            hub.check(**ask)
    assert waits == [now.value.retry_after] * 3
    with partner(live_hub, recorder.http) as hub:  # in a batch: the item says how long to wait
        [item] = hub.check_many([ask])
    assert isinstance(item, HomeLibraryUnavailable) and item.retry_after == now.value.retry_after


def test_an_id_token_from_a_sign_in_verifies_with_the_hubs_keys(
    live_hub: LiveHub, hub: HubClient, rp: RelyingParty
) -> None:
    done = sign_in(live_hub, rp)
    assert done.claims["name"] == "Avery Good" and done.claims["iss"] == live_hub.issuer
    assert done.borrowing is not None and done.borrowing.eligible
    assert done.borrowing.lender == "monash" and done.borrowing.home_library == "rmit"

    audience = done.claims["aud"]
    claims = hub.verify_id_token(done.id_token, audience=audience, nonce=done.claims["nonce"])
    assert claims == done.claims
    with pytest.raises(IdTokenError) as caught:
        hub.verify_id_token(done.id_token, audience="demo-latrobe-rp")
    assert caught.value.reason == "audience"
    # the lender can then ask about the patron by the sub it received
    assert hub.check(patron=done.sub).eligible


def test_a_code_is_exchanged_once(live_hub: LiveHub, rp: RelyingParty) -> None:
    url, pending = rp.start()
    back = live_hub.browser().sign_in(url, card=GOOD, pin="0001")
    rp.finish(back.headers["location"], pending)
    with pytest.raises(TokenError) as caught:
        rp.finish(back.headers["location"], pending)
    assert caught.value.error == "invalid_grant"


def test_a_running_client_notices_a_key_rotation(
    live_hub: LiveHub, hub: HubClient, recorder: Recorder, rp: RelyingParty
) -> None:
    before = sign_in(live_hub, rp)
    audience = before.claims["aud"]
    hub.verify_id_token(before.id_token, audience=audience)
    assert len(recorder.paths("/jwks.json")) == 1

    with transaction(live_hub.engine) as session:
        signing_keys.rotate(session=session, secret=SECRET, actor="test")
    after = sign_in(live_hub, rp)  # the rp's own key cache notices too, or this would fail

    hub.verify_id_token(after.id_token, audience=audience)
    assert len(recorder.paths("/jwks.json")) == 2  # one fetch for the new key
    hub.verify_id_token(before.id_token, audience=audience)  # the old key is still published
    hub.verify_id_token(after.id_token, audience=audience)
    assert len(recorder.paths("/jwks.json")) == 2


def test_the_cli_asks_the_hub(live_hub: LiveHub) -> None:
    env = {**os.environ, "PARTNER_SECRET": demo.client_secret("monash", "partner")}
    base = [sys.executable, "-m", "hub_client.cli", "check", "--issuer", live_hub.issuer,
            "--client-id", "demo-monash-partner", "--client-secret-env", "PARTNER_SECRET",
            "--home-library", "rmit", "--card"]  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, check=False, timeout=60
        )

    good, owes, unknown = run(GOOD), run(OWES, "--json"), run(UNKNOWN_CARD)
    assert good.returncode == 0 and good.stdout.startswith("ELIGIBLE: monash may lend"), good
    assert owes.returncode == 1 and '"code": "fines_over_limit"' in owes.stdout, owes
    assert unknown.returncode == 2 and "/problems/unknown-card" in unknown.stderr, unknown


def test_the_readme_example_runs(live_hub: LiveHub) -> None:
    readme = (Path(__file__).resolve().parents[2] / "clients" / "README.md").read_text()
    example = readme.split("## Ten lines\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len(example.splitlines()) == 10
    env = {
        **os.environ,
        "HUB_ISSUER": live_hub.issuer,
        "HUB_CLIENT_SECRET": demo.client_secret("monash", "partner"),
    }
    done = subprocess.run(
        [sys.executable, "-c", example], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("lend up to ") and done.stdout.endswith(" days\n")
