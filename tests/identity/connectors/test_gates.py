"""Turns at a home library (``identity.patrons.connectors.gates``): how many are asked at once,
how many wait and how long, and that the waiting and the asking take nothing from the shared
pool."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import anyio.to_thread
import pytest

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.gates import (
    REGISTRY_CONCURRENCY,
    Gate,
    Gates,
    Limits,
)
from tests.identity.connectors.ils import library


def test_a_gate_asks_so_many_at_once_lets_so_many_wait_so_long_and_refuses_the_rest() -> None:
    release = threading.Event()
    running = 0
    most = 0
    outcomes: list[tuple[str, float]] = []
    shared: list[int] = []

    def ask() -> str:  # a home library that answers when told to
        nonlocal running, most
        running += 1
        most = max(most, running)
        release.wait(5)
        running -= 1
        return "answered"

    async def one(gate: Gate, started: float) -> None:
        try:
            outcomes.append((await gate.run(ask), time.monotonic() - started))
        except HomeLibraryUnavailable as exc:
            assert exc.retry_after == 1
            outcomes.append((str(exc).split(": ", 1)[1][:10], time.monotonic() - started))

    async def main() -> None:
        gate = Gate("slow", Limits(concurrency=2, queue=3, wait_s=0.3))
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one, gate, started)
            await anyio.sleep(0.1)
            # two are asked, in the gate's own threads: the shared pool is untouched
            shared.append(anyio.to_thread.current_default_thread_limiter().borrowed_tokens)
            await anyio.sleep(0.4)  # the three waiting have given up
            release.set()

    anyio.run(main)
    assert shared == [0] and most == 2
    by = {what: sorted(round(s, 1) for w, s in outcomes if w == what) for what, _ in outcomes}
    assert by["answered"] == [0.5, 0.5]
    assert by["2 question"] == [0.0, 0.0, 0.0]  # "2 questions are being asked and 3 waiting"
    assert by["no turn wi"] == [0.3, 0.3, 0.3]  # "no turn within 0.3 s"


def test_a_gate_gives_the_turn_to_the_next_in_line_when_a_call_ends() -> None:
    order: list[int] = []

    async def main() -> None:
        gate = Gate("quick", Limits(concurrency=1, queue=5, wait_s=5))

        async def one(n: int) -> None:
            def ask() -> int:
                time.sleep(0.02)
                return n

            order.append(await gate.run(ask))

        async with anyio.create_task_group() as group:
            for n in range(5):
                group.start_soon(one, n)
                await anyio.sleep(0.001)

    anyio.run(main)
    assert order == [0, 1, 2, 3, 4]


def test_the_limits_follow_the_library_and_the_settings() -> None:
    gates = Gates(queue=16, wait_s=5.0)
    sip2 = library(1, connections=3, timeout_s=2)
    assert gates.limits(sip2) == Limits(concurrency=3, queue=16, wait_s=2)
    assert gates.limits(library(1, timeout_s=30)) == Limits(8, 16, 5.0)  # connections: 8
    registry = policies.Library(id="reg", name="Registry", connector={"kind": "registry"})
    assert gates.limits(registry) == Limits(REGISTRY_CONCURRENCY, 16, 5.0)

    async def main() -> None:
        first = gates.gate(sip2)
        assert gates.gate(sip2) is first
        assert gates.gate(library(1, connections=4, timeout_s=2)) is not first  # a new gate

    anyio.run(main)


@pytest.mark.parametrize("connections", [0, 33, 2.5, "8"])
def test_connections_is_a_whole_number_from_1_to_32(connections: Any) -> None:
    with pytest.raises(ValueError, match="connections"):
        library(1, connections=connections)


def test_a_request_that_goes_away_while_it_waits_leaves_no_turn_behind() -> None:
    release = threading.Event()
    answered: list[str] = []

    async def main() -> None:
        gate = Gate("slow", Limits(concurrency=1, queue=2, wait_s=5))
        async with anyio.create_task_group() as group:
            group.start_soon(gate.run, lambda: release.wait(5))
            await anyio.sleep(0.05)
            with anyio.CancelScope() as gone:  # e.g. the client hung up
                gone.cancel()
                await gate.run(lambda: answered.append("never"))
            assert gate.waiting == 0
            async with anyio.create_task_group() as waiting:  # cancelled in line
                waiting.start_soon(gate.run, lambda: answered.append("never"))
                await anyio.sleep(0.05)
                assert gate.waiting == 1
                waiting.cancel_scope.cancel()
            assert gate.waiting == 0 and gate.busy == 1
            release.set()
        answered.append(await gate.run(lambda: "next"))
        assert gate.busy == 0

    anyio.run(main)
    assert answered == ["next"]
