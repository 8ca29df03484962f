"""429 and 503 are tried again after their ``Retry-After``; failed connections after a
backoff; and not forever."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hub_client import (
    HomeLibraryUnavailable,
    HubClient,
    HubUnreachable,
    ProblemError,
    RateLimited,
    Retry,
)
from hub_client.retry import retry_after

from tests.clients.fakehub import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeHub, problem

ASK = "/api/v1/eligibility"


def test_429_waits_for_its_retry_after(
    client: HubClient, fake: FakeHub, waits: list[float]
) -> None:
    fake.script += [problem("rate-limited", 429, retry_after=7)]
    assert client.check(home_library="rmit", card="1").eligible
    assert waits == [7.0] and len(fake.calls(ASK)) == 2


def test_503_waits_for_each_retry_after(
    client: HubClient, fake: FakeHub, waits: list[float]
) -> None:
    fake.script += [problem("home-library-unavailable", 503, retry_after=n) for n in (1, 2, 3)]
    assert client.check(home_library="rmit", card="1").eligible
    assert waits == [1.0, 2.0, 3.0] and len(fake.calls(ASK)) == 4


def test_after_three_retries_the_problem_is_raised(
    client: HubClient, fake: FakeHub, waits: list[float]
) -> None:
    fake.script += [problem("home-library-unavailable", 503, retry_after=5)] * 4
    with pytest.raises(HomeLibraryUnavailable) as caught:
        client.check(home_library="rmit", card="1")
    assert caught.value.retry_after == 5.0
    assert waits == [5.0, 5.0, 5.0] and len(fake.calls(ASK)) == 4


def test_a_retry_after_longer_than_max_wait_is_raised_at_once(
    client: HubClient, fake: FakeHub, waits: list[float]
) -> None:
    fake.script += [problem("rate-limited", 429, retry_after=31)]
    with pytest.raises(RateLimited) as caught:
        client.check(home_library="rmit", card="1")
    assert caught.value.retry_after == 31.0 and waits == [] and len(fake.calls(ASK)) == 1


def test_without_retry_after_the_backoff_doubles_with_jitter(fake: FakeHub) -> None:
    fake.script += [httpx.Response(503)] * 3
    waits: list[float] = []
    retry = Retry(backoff=0.5, jitter=lambda: 0.5)  # waits 3/4 of the full backoff
    with (
        fake.http() as http,
        HubClient(
            ISSUER, CLIENT_ID, CLIENT_SECRET, http=http, sleep=waits.append, retry=retry
        ) as hub,
    ):
        assert hub.check(home_library="rmit", card="1").eligible
    assert waits == [0.375, 0.75, 1.5]


def test_other_problems_are_not_retried(
    client: HubClient, fake: FakeHub, waits: list[float]
) -> None:
    fake.script += [httpx.Response(500, text="oops")]
    with pytest.raises(ProblemError) as caught:
        client.check(home_library="rmit", card="1")
    assert caught.value.status == 500 and waits == []


def test_a_hub_that_cannot_be_reached_is_tried_again_then_unreachable(fake: FakeHub) -> None:
    refused = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal refused
        if request.url.path == ASK and refused < 4:
            refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return fake.handle(request)

    waits: list[float] = []
    retry = Retry(jitter=lambda: 0.0)
    with (
        httpx.Client(transport=httpx.MockTransport(handle)) as http,
        HubClient(
            ISSUER, CLIENT_ID, CLIENT_SECRET, http=http, sleep=waits.append, retry=retry
        ) as hub,
    ):
        with pytest.raises(HubUnreachable, match="connection refused"):
            hub.check(home_library="rmit", card="1")
        assert waits == [0.5, 1.0, 2.0]
        assert hub.check(home_library="rmit", card="1").eligible  # the fifth try gets through


def test_the_token_endpoint_is_retried_too(fake: FakeHub) -> None:
    answers = [problem("rate-limited", 429, retry_after=1)]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token" and answers:
            return answers.pop()
        return fake.handle(request)

    waits: list[float] = []
    with (
        httpx.Client(transport=httpx.MockTransport(handle)) as http,
        HubClient(ISSUER, CLIENT_ID, CLIENT_SECRET, http=http, sleep=waits.append) as hub,
    ):
        assert hub.check(home_library="rmit", card="1").eligible
    assert waits == [1.0]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 22 Nov 2026 09:30:10 GMT", 10.0),
        ("soon", None),
        ("", None),
        ("\u00b2", None),
    ],  # a superscript two is a digit to str.isdigit, not to HTTP
)
def test_retry_after_is_seconds_or_a_date(header: str, seconds: float | None) -> None:
    response = httpx.Response(503, headers=[(b"Retry-After", header.encode("latin-1"))])
    assert retry_after(response, now=datetime(2026, 11, 22, 9, 30, tzinfo=UTC)) == seconds
