"""The circuit breaker on a clock the test moves, and the pool's bookkeeping."""

from __future__ import annotations

import pytest

from identity.connectors.sip2.breaker import Breaker
from identity.connectors.sip2.client import Connection
from identity.connectors.sip2.errors import Dropped, Unreachable
from identity.connectors.sip2.pool import Pool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_three_failures_in_a_row() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, cooldown_s=30, clock=clock)
    failed, succeeded = breaker.failed, breaker.succeeded
    for event in (failed, failed, succeeded, failed, failed):
        event()
    assert breaker.remaining() is None  # a success in between starts the count again
    breaker.failed()
    assert breaker.remaining() == 30
    clock.now += 20
    assert breaker.remaining() == 10
    clock.now += 10
    assert breaker.remaining() is None  # cooled down: calls go through again...
    breaker.failed()
    assert breaker.remaining() == 30  # ...but the next failure reopens it at once
    clock.now += 30
    breaker.succeeded()
    breaker.failed()
    breaker.failed()
    assert breaker.remaining() is None  # a success closed it: three failures again


class FakeConnection(Connection):
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def test_the_pool_reuses_connections_and_drops_broken_ones() -> None:
    clock = Clock()
    pool = Pool(size=2, max_idle_s=60, clock=clock)
    made: list[FakeConnection] = []

    def connect() -> Connection:
        made.append(FakeConnection(f"c{len(made)}"))
        return made[-1]

    def name(connection: Connection) -> str:
        assert isinstance(connection, FakeConnection)
        return connection.name

    assert pool.run(connect, name, wait_s=0.1) == "c0"
    assert pool.run(connect, name, wait_s=0.1) == "c0"

    def fails(connection: Connection) -> str:
        raise Unreachable("no answer")

    with pytest.raises(Unreachable):
        pool.run(connect, fails, wait_s=0.1)
    assert made[0].closed and pool.idle == 0
    assert pool.run(connect, name, wait_s=0.1) == "c1"

    def dropped_once(connection: Connection) -> str:
        if name(connection) == "c1":
            raise Dropped("closed while idle")
        return name(connection)

    assert pool.run(connect, dropped_once, wait_s=0.1) == "c2"  # replaced at once
    clock.now += 61
    assert pool.run(connect, name, wait_s=0.1) == "c3" and made[2].closed  # idle too long


def test_a_full_pool_makes_callers_wait_then_fail() -> None:
    pool = Pool(size=1)

    def nested(connection: Connection) -> None:
        with pytest.raises(Unreachable, match="all 1 connections to the ILS are busy"):
            pool.run(lambda: FakeConnection("d"), lambda d: None, wait_s=0.05)

    pool.run(lambda: FakeConnection("c"), nested, wait_s=0.1)
