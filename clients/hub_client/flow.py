"""The SDK's conversations with the hub, written once without I/O ("sans-I/O").

A *flow* is a generator that yields what it needs done, an ``httpx.Request`` to send or a
``Sleep`` to wait, and is sent back the ``httpx.Response`` (a transport error is thrown into it
instead). ``run`` drives a flow with an ``httpx.Client`` and ``arun`` with an
``httpx.AsyncClient``: ``HubClient`` and ``AsyncHubClient`` share every step but these two.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Wait this long before the next step."""

    seconds: float


Step: TypeAlias = httpx.Request | Sleep
Flow: TypeAlias = Generator[Step, httpx.Response | None, T]


def send(request: httpx.Request) -> Flow[httpx.Response]:
    """The response to ``request`` (use with ``yield from``)."""
    response = yield request
    assert response is not None, "a request step is answered with a response"
    return response


def run(flow: Flow[T], http: httpx.Client, sleep: Callable[[float], None]) -> T:
    """Drive ``flow`` to its result with blocking I/O."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                sleep(step.seconds)
                step = flow.send(None)
                continue
            try:
                response = http.send(step)
            except httpx.TransportError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        flow.close()


async def arun(
    flow: Flow[T], http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[None]]
) -> T:
    """Drive ``flow`` to its result with ``asyncio`` I/O."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                await sleep(step.seconds)
                step = flow.send(None)
                continue
            try:
                response = await http.send(step)
            except httpx.TransportError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        flow.close()
