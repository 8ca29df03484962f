"""A running home ILS (pysip2) with the patron store of ``ils.py``, its login password in the
environment, and no pool or breaker carried from one test to the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from identity.patrons.connectors.sip2 import connector
from tests.identity.connectors.ils import PASSWORD, PASSWORD_ENV, PATRONS, Ils


@pytest.fixture(autouse=True)
def fresh_links() -> Iterator[None]:
    yield
    connector.forget()


@pytest.fixture
def ils(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    running = Ils({p.card: p for p in PATRONS}).start()
    yield running
    running.stop()
