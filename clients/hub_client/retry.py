"""When to try a request again: a 429 or 503 answer (after the ``Retry-After`` it names, RFC
9110 section 10.2.3), or a connection that failed or timed out (after an exponential backoff
with jitter). Eligibility checks only read, so repeating one is safe."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from hub_client.errors import HubUnreachable
from hub_client.flow import Flow, Sleep, send

#: answers worth another try: rate limited, and (home library or hub) unavailable
RETRY_STATUSES = frozenset({429, 503})
#: transport errors worth another try; others (a bad URL, a proxy refusing) are not
TRANSIENT = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
#: errors after which the request certainly did not reach the hub
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class Retry:
    """How hard to try.

    ``max_retries`` further attempts after the first. A ``Retry-After`` is waited for exactly;
    one longer than ``max_wait`` seconds is not waited for at all: the error is raised at once
    (its ``retry_after`` says when to come back), since trying earlier would only be refused
    again. Without ``Retry-After``, attempt *n* (from 0) waits ``backoff * 2**n`` seconds, less
    up to half of that at random (``jitter`` returns a number in [0, 1)), at most ``max_wait``.
    """

    max_retries: int = 3
    max_wait: float = 30.0
    backoff: float = 0.5
    jitter: Callable[[], float] = random.random

    def wait(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before trying again after failed attempt ``attempt`` (from 0), or
        ``None`` to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        delay = self.backoff * 2.0**attempt
        return min(self.max_wait, delay - delay / 2 * self.jitter())


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The response's ``Retry-After`` in seconds (from delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def with_retries(
    request: httpx.Request,
    retry: Retry,
    transient: tuple[type[httpx.TransportError], ...] = TRANSIENT,
) -> Flow[httpx.Response]:
    """The response to ``request``, tried again as ``retry`` allows. The last 429 or 503 is
    returned for the caller to raise; a transport error that outlasts the retries raises
    ``HubUnreachable``. ``transient``: the transport errors worth trying again after (for a
    request that must not be sent twice, only those where it was never sent: ``NOT_SENT``)."""
    attempt = 0
    while True:
        try:
            response = yield from send(request)
        except httpx.TransportError as exc:
            wait = retry.wait(attempt, None) if isinstance(exc, transient) else None
            if wait is None:
                raise HubUnreachable(f"{request.method} {request.url}: {exc!r}") from exc
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            wait = retry.wait(attempt, retry_after(response))
            if wait is None:
                return response
        yield Sleep(wait)
        attempt += 1
