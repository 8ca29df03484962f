"""``HubClient`` (blocking) and ``AsyncHubClient`` (``asyncio``): a partner library system's
client of the eligibility API. Both drive the same flows (``hub_client.core``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date
from types import TracebackType
from typing import Any, Self

import httpx

from hub_client.core import Core
from hub_client.discovery import Metadata
from hub_client.errors import ProblemError
from hub_client.flow import arun, run
from hub_client.models import CheckRequest, Decision
from hub_client.retry import Retry

Request = CheckRequest | Mapping[str, Any]


class HubClient:
    """A partner client of the hub at ``issuer``, with its client credentials.

    The discovery document and the access token (client credentials grant, scope
    ``eligibility``) are fetched when first needed and kept: the token until shortly before it
    expires, or until the API refuses it (401), when one new token is fetched and the call made
    again. A 429 or 503 answer is tried again after its ``Retry-After``, and a failed connection
    after a backoff, as ``retry`` says (``Retry()``: three more tries, waiting at most 30 s).

    Use it as a context manager, or call ``close()``. Pass ``http`` to use your own
    ``httpx.Client`` (timeouts, proxies, TLS); it is then yours to close.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        retry: Retry | None = None,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._core = Core(issuer, client_id, client_secret, retry=retry or Retry())
        self._own = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep

    @property
    def issuer(self) -> str:
        return self._core.issuer

    def metadata(self) -> Metadata:
        """The hub's OpenID Provider metadata (fetched once, then kept an hour)."""
        return run(self._core.metadata(), self._http, self._sleep)

    def check(
        self,
        *,
        home_library: str | None = None,
        card: str | None = None,
        patron: str | None = None,
        material: str | None = None,
        on: date | str | None = None,
    ) -> Decision:
        """May your library lend to this patron? Identify them by ``home_library`` and
        ``card``, or by ``patron``: the ``sub`` your library received when they signed in.
        ``material`` is the kind asked for (``None``: any), ``on`` the day (``None``: today).

        Returns the ``Decision`` (eligible or not, with terms and reasons). Raises a
        ``ProblemError`` subclass: ``UnknownLibrary``, ``UnknownCard``, ``UnknownPatron``,
        ``HomeLibraryUnavailable`` (after the retries), ``RateLimited``, ``Forbidden``,
        ``Unauthorized``, ``InvalidRequest``; ``TokenError`` if the credentials are refused;
        ``HubUnreachable`` if the hub cannot be reached.
        """
        request = CheckRequest(home_library, card, patron, material, on)
        return run(self._core.check(request), self._http, self._sleep)

    def check_many(self, requests: Iterable[Request]) -> list[Decision | ProblemError]:
        """Check many patrons at once (``CheckRequest``s, or mappings with the keywords of
        ``check``), 100 to a call of the batch API. Returns one item per request, in order: its
        ``Decision``, or the ``ProblemError`` for that request alone (e.g. ``UnknownCard``),
        which is returned, not raised. An error of a whole call is raised as in ``check``.
        """
        return run(self._core.check_many(requests), self._http, self._sleep)

    def verify_id_token(
        self,
        token: str,
        *,
        audience: str,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """The claims of an ID token the hub issued to ``audience`` (a relying party's client
        id), verified as ``hub_client.verify_id_token`` does, with the hub's keys kept by this
        client (fetched again when a token names a new key). Raises ``IdTokenError``."""
        flow = self._core.verify(token, audience=audience, nonce=nonce, access_token=access_token)
        return run(flow, self._http, self._sleep)

    def close(self) -> None:
        """Close the HTTP client, if this client made it."""
        if self._own:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncHubClient:
    """``HubClient`` for ``asyncio``: the same methods, to be awaited. Concurrent calls share
    the token and keys (two calls may each fetch a token the first time: harmless)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        retry: Retry | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._core = Core(issuer, client_id, client_secret, retry=retry or Retry())
        self._own = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._sleep = sleep

    @property
    def issuer(self) -> str:
        return self._core.issuer

    async def metadata(self) -> Metadata:
        """See ``HubClient.metadata``."""
        return await arun(self._core.metadata(), self._http, self._sleep)

    async def check(
        self,
        *,
        home_library: str | None = None,
        card: str | None = None,
        patron: str | None = None,
        material: str | None = None,
        on: date | str | None = None,
    ) -> Decision:
        """See ``HubClient.check``."""
        request = CheckRequest(home_library, card, patron, material, on)
        return await arun(self._core.check(request), self._http, self._sleep)

    async def check_many(self, requests: Iterable[Request]) -> list[Decision | ProblemError]:
        """See ``HubClient.check_many``."""
        return await arun(self._core.check_many(requests), self._http, self._sleep)

    async def verify_id_token(
        self,
        token: str,
        *,
        audience: str,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """See ``HubClient.verify_id_token``."""
        flow = self._core.verify(token, audience=audience, nonce=nonce, access_token=access_token)
        return await arun(flow, self._http, self._sleep)

    async def aclose(self) -> None:
        """Close the HTTP client, if this client made it."""
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
