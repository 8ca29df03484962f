"""``HubClient.check`` and ``check_many`` against a fake hub; ``AsyncHubClient`` takes the
same paths."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest
from hub_client import (
    AsyncHubClient,
    CheckRequest,
    Decision,
    DiscoveryError,
    Forbidden,
    HubClient,
    HubError,
    InvalidRequest,
    ProblemError,
    UnknownCard,
    UnknownLibrary,
)

from tests.clients.fakehub import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    FakeHub,
    decision_json,
    problem,
)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_check_asks_with_the_clients_token_and_reads_the_decision(
    client: HubClient, fake: FakeHub
) -> None:
    decision = client.check(home_library="rmit", card="2111", material="book", on=date(2026, 1, 2))
    assert decision == Decision.from_json(decision_json())
    (asked,) = fake.calls("/api/v1/eligibility")
    assert asked.headers["authorization"] == "Bearer access-0"
    assert body(asked) == {"home_library": "rmit", "card": "2111", "material": "book",
                           "on": "2026-01-02"}  # fmt: skip
    token_request = fake.calls("/token")[0]
    assert b"grant_type=client_credentials" in token_request.content
    assert b"scope=eligibility" in token_request.content


def test_check_by_patron(client: HubClient, fake: FakeHub) -> None:
    fake.script.append(httpx.Response(200, json=decision_json()))
    client.check(patron="pairwise-sub")
    assert body(fake.calls("/api/v1/eligibility")[0]) == {"patron": "pairwise-sub"}


def test_check_refuses_an_ambiguous_question_without_asking(
    client: HubClient, fake: FakeHub
) -> None:
    with pytest.raises(ValueError, match="not both"):
        client.check(patron="s", home_library="rmit", card="2111")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (problem("unknown-library", 404, detail="No library 'nowhere'"), UnknownLibrary),
        (problem("unknown-card", 404), UnknownCard),
        (problem("forbidden", 403), Forbidden),
        (problem("invalid-request", 422, errors=[{"loc": ["card"], "message": "m"}]),
         InvalidRequest),
    ],
)  # fmt: skip
def test_problems_are_raised_as_their_exceptions(
    client: HubClient, fake: FakeHub, answer: httpx.Response, raised: type[ProblemError]
) -> None:
    fake.script.append(answer)
    with pytest.raises(raised) as caught:
        client.check(home_library="nowhere", card="1")
    assert caught.value.status == answer.status_code
    assert caught.value.body == answer.json()


def test_the_discovery_document_is_fetched_once(client: HubClient, fake: FakeHub) -> None:
    for _ in range(3):
        client.check(home_library="rmit", card="2111")
    assert len(fake.calls("/.well-known/openid-configuration")) == 1
    assert client.metadata().token_endpoint == f"{ISSUER}/token"


def test_a_discovery_document_for_another_issuer_is_refused(fake: FakeHub) -> None:
    with (
        fake.http() as http,
        HubClient("https://other.test", CLIENT_ID, CLIENT_SECRET, http=http) as hub,
        pytest.raises(DiscoveryError, match="issuer"),
    ):
        hub.check(home_library="rmit", card="2111")


def test_check_many_sends_batches_of_100_and_keeps_the_order(
    client: HubClient, fake: FakeHub
) -> None:
    cards = [f"2111{n:06d}" for n in range(250)]  # cards ending in 9 are unknown
    results = client.check_many(
        [
            {"home_library": "rmit", "card": c} if n % 2 else CheckRequest("rmit", c)
            for n, c in enumerate(cards)
        ]  # fmt: skip
    )
    batches = fake.calls("/api/v1/eligibility/batch")
    assert [len(body(b)["requests"]) for b in batches] == [100, 100, 50]
    assert [r["card"] for b in batches for r in body(b)["requests"]] == cards
    assert len(results) == 250
    for card, result in zip(cards, results, strict=True):
        if card.endswith("9"):
            assert isinstance(result, UnknownCard) and result.status == 404
        else:
            assert isinstance(result, Decision) and result.eligible


def test_check_many_of_nothing_asks_nothing(client: HubClient, fake: FakeHub) -> None:
    assert client.check_many([]) == []
    assert fake.calls("/api/v1/eligibility/batch") == []


def test_check_many_checks_every_request_before_sending_any(
    client: HubClient, fake: FakeHub
) -> None:
    with pytest.raises(ValueError):
        client.check_many([CheckRequest("rmit", "1"), {"home_library": "rmit"}])
    assert fake.calls("/api/v1/eligibility/batch") == []


def test_a_batch_refused_whole_raises(client: HubClient, fake: FakeHub) -> None:
    fake.script.append(problem("invalid-request", 422))
    with pytest.raises(InvalidRequest):
        client.check_many([CheckRequest("rmit", "1")])


def test_a_batch_answer_of_the_wrong_length_is_an_error(client: HubClient, fake: FakeHub) -> None:
    fake.script.append(httpx.Response(200, json={"results": []}))
    with pytest.raises(HubError, match="0 results for 1 requests"):
        client.check_many([CheckRequest("rmit", "1")])


def test_the_async_client_takes_the_same_paths(fake: FakeHub) -> None:
    fake.script += [problem("home-library-unavailable", 503, retry_after=2),
                    httpx.Response(200, json=decision_json())]  # fmt: skip
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> tuple[Decision, list[Decision | ProblemError]]:
        async with (
            fake.async_http() as http,
            AsyncHubClient(ISSUER, CLIENT_ID, CLIENT_SECRET, http=http, sleep=sleep) as hub,
        ):
            one = await hub.check(home_library="rmit", card="2111")
            many = await hub.check_many([CheckRequest("rmit", "1"), CheckRequest("rmit", "9")])
            return one, many

    one, many = asyncio.run(main())
    assert one.eligible and waits == [2]
    assert isinstance(many[0], Decision) and isinstance(many[1], UnknownCard)
    assert len(fake.calls("/token")) == 1


def test_an_answer_that_is_not_a_decision_is_a_hub_error(client: HubClient, fake: FakeHub) -> None:
    fake.script.append(httpx.Response(200, json={"eligible": True}))
    with pytest.raises(HubError, match="not a decision"):
        client.check(home_library="rmit", card="1")
