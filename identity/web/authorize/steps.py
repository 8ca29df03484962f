"""How ``/authorize`` runs a table of checks (``checks``): the ``Context`` the steps fill in, and
the steps that block (``Blocking``: they ask the database), which run in a worker thread, in
one trip with the blocking steps right after them, reading through one session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

import policies
from identity.agreements.publishing import InForce
from identity.oauth.grants.authorization_code import Consent
from identity.oauth.patron import Patron
from identity.oauth.server import HubRequest, HubServer


@dataclass
class Context:
    """One request to ``/authorize`` as the steps see it, filled in as they pass."""

    request: Request
    server: HubServer
    #: the agreements in force, as this app follows them
    in_force: InForce
    form: FormData = field(default_factory=FormData)
    oauth: HubRequest = field(init=False)
    #: the client's grant for this request (``authorization_request``)
    grant: Any = None
    # the sign-in form, as posted (``sign_in_form``) and as understood
    typed: str = ""
    pin: str = ""
    chosen: str = ""
    #: an email address typed instead of choosing a library that signs its patrons in itself
    email: str = ""
    agreements: policies.Agreements | None = None
    library: policies.Library | None = None
    card: str = ""
    attempt: int | None = None
    patron: Patron | None = None
    #: the patron's answer to come, from the consent page's ticket (``consent_ticket``)
    consent: Consent | None = None
    followed: bool = False
    #: the session the blocking steps of one trip read through (``run``)
    reading: Session | None = None

    def __post_init__(self) -> None:
        self.oauth = HubRequest(self.request, None, self.server.issuer)


@dataclass(frozen=True)
class Blocking:
    """A step that blocks (it asks the database): it runs in a worker thread, in one trip with
    the blocking steps right after it."""

    call: Callable[[Context], Response | None]


Step = Callable[[Context], Awaitable[Response | None]] | Blocking


async def run(steps: tuple[Step, ...], ctx: Context) -> Response:
    at = 0
    while at < len(steps):
        step = steps[at]
        if isinstance(step, Blocking):
            trip = []
            while at < len(steps) and isinstance(steps[at], Blocking):
                trip.append(steps[at])
                at += 1
            answer = await run_in_threadpool(_in_turn, trip, ctx)
        else:
            answer = await step(ctx)
            at += 1
        if answer is not None:
            return answer
    names = [s.call.__name__ if isinstance(s, Blocking) else s.__name__ for s in steps]
    raise AssertionError(f"no step of {names} answered")


def _in_turn(steps: list[Step], ctx: Context) -> Response | None:
    with Session(ctx.server.engine) as ctx.reading:  # a connection only once a step reads
        try:
            for step in steps:
                assert isinstance(step, Blocking)
                answer = step.call(ctx)
                if answer is not None:
                    return answer
            return None
        finally:
            ctx.reading = None
