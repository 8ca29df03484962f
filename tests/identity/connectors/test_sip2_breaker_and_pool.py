"""The circuit breaker on a clock the test moves, and the pool's bookkeeping."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from identity.patrons.connectors.sip2.breaker import TRIAL_WAIT_S, Breaker
from identity.patrons.connectors.sip2.client import Connection
from identity.patrons.connectors.sip2.errors import (
    Busy,
    Dropped,
    NotSent,
    Unreachable,
)
from identity.patrons.connectors.sip2.pool import Pool


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
    assert breaker.remaining() == 30 and breaker.admit().wait == 30
    clock.now += 20
    assert breaker.remaining() == 10
    clock.now += 10
    assert breaker.remaining() is None  # cooled down: a call goes through again...
    assert breaker.admit().trial
    breaker.failed()
    assert breaker.remaining() == 30  # ...but the next failure reopens it at once
    clock.now += 30
    assert breaker.admit().trial
    breaker.succeeded()
    breaker.failed()
    breaker.failed()
    assert breaker.remaining() is None  # a success closed it: three failures again


def test_a_libraries_breaker_says_when_it_opens_and_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    breaker = Breaker(failures=2, cooldown_s=30, clock=clock, library="breaker-test")

    def gauge() -> float | None:
        return REGISTRY.get_sample_value("hub_connector_breaker_open", {"library": "breaker-test"})

    with caplog.at_level(logging.INFO, logger="hub.breaker"):
        breaker.failed()
        assert gauge() is None  # not opened yet
        breaker.failed()
        assert gauge() == 1
        clock.now += 30
        assert breaker.admit().trial
        breaker.failed()  # the trial failed: open again, said again
        clock.now += 30
        assert breaker.admit().trial
        breaker.succeeded()
        assert gauge() == 0
        breaker.succeeded()  # already closed: nothing to say
    said = [(r.msg["event"], r.msg["library"]) for r in caplog.records]  # type: ignore[index]
    assert said == [("breaker opened", "breaker-test")] * 2 + [("breaker closed", "breaker-test")]


def test_a_half_open_breaker_lets_exactly_one_caller_through() -> None:
    clock = Clock()
    breaker = Breaker(failures=1, cooldown_s=30, clock=clock)
    breaker.failed()
    clock.now += 30
    trial = breaker.admit()
    assert trial.wait is None and trial.trial
    for _ in range(5):  # everyone else is turned away at once while the trial is under way
        assert breaker.admit().wait == TRIAL_WAIT_S
    breaker.released(breaker.admit())  # a caller that was turned away ends nothing
    assert breaker.admit().wait == TRIAL_WAIT_S
    breaker.released(trial)  # the trial ended without a verdict (the hub was busy)
    second = breaker.admit()
    assert second.trial and breaker.admit().wait == TRIAL_WAIT_S
    breaker.succeeded()
    assert [breaker.admit().wait for _ in range(3)] == [None] * 3  # closed: all go through


class FakeConnection(Connection):
    def __init__(self, name: str, *, fit: bool = True) -> None:
        self.name, self.closed, self.reusable, self.fit = name, False, True, fit

    def idle_ok(self) -> bool:
        return self.fit

    def close(self) -> None:
        self.closed = True


def test_the_pool_reuses_connections_and_drops_broken_ones() -> None:
    clock = Clock()
    pool = Pool(size=2, max_idle_s=60, clock=clock)
    made: list[FakeConnection] = []

    def connect(deadline: float) -> Connection:
        made.append(FakeConnection(f"c{len(made)}"))
        return made[-1]

    def name(connection: Connection, deadline: float) -> str:
        assert isinstance(connection, FakeConnection)
        return connection.name

    assert pool.run(connect, name, wait_s=0.1, budget_s=1) == "c0"
    assert pool.run(connect, name, wait_s=0.1, budget_s=1) == "c0"

    def fails(connection: Connection, deadline: float) -> str:
        raise Unreachable("no answer")

    with pytest.raises(Unreachable):
        pool.run(connect, fails, wait_s=0.1, budget_s=1)
    assert made[0].closed and pool.idle == 0
    assert pool.run(connect, name, wait_s=0.1, budget_s=1) == "c1"

    def not_sent_once(connection: Connection, deadline: float) -> str:
        if name(connection, deadline) == "c1":
            raise NotSent("closed while idle")
        return name(connection, deadline)

    assert pool.run(connect, not_sent_once, wait_s=0.1, budget_s=1) == "c2"  # replaced at once
    clock.now += 61
    assert pool.run(connect, name, wait_s=0.1, budget_s=1) == "c3" and made[2].closed  # too old


def test_a_reused_connection_dropped_after_sending_is_not_retried() -> None:
    # the request may have reached the ILS (a PIN guess): it is never sent a second time
    pool = Pool(size=1)
    made: list[FakeConnection] = []

    def connect(deadline: float) -> Connection:
        made.append(FakeConnection(f"c{len(made)}"))
        return made[-1]

    def dropped(connection: Connection, deadline: float) -> str:
        assert isinstance(connection, FakeConnection)
        if connection.name == "c0" and len(made) == 1 and pool.idle == 0 and calls:
            raise Dropped("the ILS closed the connection")
        calls.append(connection.name)
        return connection.name

    calls: list[str] = []
    assert pool.run(connect, dropped, wait_s=0.1, budget_s=1) == "c0"
    with pytest.raises(Dropped):
        pool.run(connect, dropped, wait_s=0.1, budget_s=1)
    assert calls == ["c0"] and len(made) == 1 and made[0].closed


def test_taking_skips_idle_connections_that_are_not_fit() -> None:
    pool = Pool(size=3)
    fit, stale = FakeConnection("fit"), FakeConnection("stale", fit=False)

    def inner(connection: Connection, deadline: float) -> None:
        pool.run(lambda d: fit, lambda c, d: None, wait_s=0.1, budget_s=1)

    pool.run(lambda d: stale, inner, wait_s=0.1, budget_s=1)  # both pooled, "stale" last
    assert pool.idle == 2

    def name(connection: Connection, deadline: float) -> str:
        assert isinstance(connection, FakeConnection)
        return connection.name

    assert pool.run(lambda d: FakeConnection("new"), name, wait_s=0.1, budget_s=1) == "fit"
    assert stale.closed and not fit.closed


def test_connections_that_needed_a_resend_or_outlive_their_pool_are_not_pooled() -> None:
    pool = Pool(size=2)
    doubtful = FakeConnection("resent")
    doubtful.reusable = False
    pool.run(lambda d: doubtful, lambda c, d: None, wait_s=0.1, budget_s=1)
    assert doubtful.closed and pool.idle == 0

    in_use = FakeConnection("in use")

    def replaced_meanwhile(connection: Connection, deadline: float) -> None:
        pool.close()  # new settings for the library: this pool is orphaned

    pool.run(lambda d: in_use, replaced_meanwhile, wait_s=0.1, budget_s=1)
    assert in_use.closed and pool.idle == 0


def test_a_full_pool_makes_callers_wait_then_busy() -> None:
    pool = Pool(size=1)

    def nested(connection: Connection, deadline: float) -> None:
        with pytest.raises(Busy, match="all 1 connections to the ILS are busy"):
            pool.run(lambda d: FakeConnection("d"), lambda c, d: None, wait_s=0.05, budget_s=1)

    pool.run(lambda d: FakeConnection("c"), nested, wait_s=0.1, budget_s=1)
