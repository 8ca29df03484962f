"""Fixtures of the SDK's tests: a fake hub (``fakehub.FakeHub``) and clients of it that never
really sleep, recording the waits they were asked for instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hub_client import HubClient, Retry

from tests.clients.fakehub import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeHub, SigningKey


@pytest.fixture(scope="session")
def signing_keys() -> list[SigningKey]:
    """Three RSA keys (made once: 2048-bit keys take a while)."""
    return [SigningKey.generate(f"key-{n}") for n in range(3)]


@pytest.fixture
def fake(signing_keys: list[SigningKey]) -> FakeHub:
    return FakeHub(keys=signing_keys[:1])


@pytest.fixture
def waits() -> list[float]:
    """The sleeps the client asked for."""
    return []


@pytest.fixture
def client(fake: FakeHub, waits: list[float]) -> Iterator[HubClient]:
    with (
        fake.http() as http,
        HubClient(
            ISSUER,
            CLIENT_ID,
            CLIENT_SECRET,
            http=http,
            sleep=waits.append,
            retry=Retry(jitter=lambda: 0.0),
        ) as hub,
    ):
        yield hub
