"""What ``HubClient`` and ``AsyncHubClient`` share: their state (discovery, token and key
caches) and every conversation with the hub as a flow (``hub_client.flow``). The two classes
only drive these flows with their own kind of I/O."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

import httpx

from hub_client.discovery import DiscoveryCache, Metadata
from hub_client.errors import HubError, ProblemError, from_response, problem
from hub_client.flow import Flow
from hub_client.idtoken import verify_flow
from hub_client.jwks import JwksCache
from hub_client.models import CheckRequest, Decision
from hub_client.retry import Retry, retry_after, with_retries
from hub_client.tokens import TokenCache

ELIGIBILITY = "/api/v1/eligibility"
BATCH = "/api/v1/eligibility/batch"
#: the most requests one batch call may carry
BATCH_SIZE = 100


class Core:
    """One partner client of one hub, without I/O."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        retry: Retry,
        scope: str | None = "eligibility",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer
        self.client_id = client_id
        self.retry = retry
        self.discovery = DiscoveryCache(issuer, clock=clock)
        self.tokens = TokenCache(client_id, client_secret, scope=scope, clock=clock)
        self.jwks: JwksCache | None = None
        self._clock = clock

    def metadata(self) -> Flow[Metadata]:
        return self.discovery.get(self.retry)

    def call(self, path: str, body: Mapping[str, Any]) -> Flow[Any]:
        """POST ``body`` to the API at ``path`` with the client's token, retried as ``retry``
        allows, with one new token if the API refuses the one held (401). Returns the JSON
        answer, or raises the problem as its exception."""
        metadata = yield from self.metadata()
        url = self.issuer.rstrip("/") + path
        for renewed in (False, True):
            token = yield from self.tokens.get(metadata.token_endpoint, self.retry)
            request = httpx.Request(
                "POST",
                url,
                json=body,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            response = yield from with_retries(request, self.retry)
            if response.status_code == 401 and not renewed:
                self.tokens.forget(token)
                continue
            if response.is_success:
                try:
                    return response.json()
                except ValueError:
                    status = response.status_code
                    raise HubError(f"POST {url} answered {status}, not JSON") from None
            raise from_response(response, retry_after(response))
        raise AssertionError("unreachable: the second attempt returns or raises")

    def check(self, request: CheckRequest) -> Flow[Decision]:
        return decision((yield from self.call(ELIGIBILITY, request.to_json())))

    def check_many(
        self, requests: Iterable[CheckRequest | Mapping[str, Any]]
    ) -> Flow[list[Decision | ProblemError]]:
        # every request is checked before the first is sent
        todo = [CheckRequest.of(r) for r in requests]
        results: list[Decision | ProblemError] = []
        chunks = iter(todo)
        while chunk := list(islice(chunks, BATCH_SIZE)):
            answer = yield from self.call(BATCH, {"requests": [r.to_json() for r in chunk]})
            results.extend(batch_results(answer, len(chunk)))
        return results

    def verify(
        self, token: str, *, audience: str, nonce: str | None, access_token: str | None
    ) -> Flow[dict[str, Any]]:
        metadata = yield from self.metadata()
        if self.jwks is None or self.jwks.uri != metadata.jwks_uri:
            self.jwks = JwksCache(metadata.jwks_uri, clock=self._clock)
        return (
            yield from verify_flow(
                token,
                issuer=metadata.issuer,
                audience=audience,
                nonce=nonce,
                jwks_cache=self.jwks,
                retry=self.retry,
                access_token=access_token,
            )
        )


def decision(data: Any) -> Decision:
    """The decision in an answer; ``HubError`` if it is not one."""
    try:
        return Decision.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HubError(f"the hub answered something that is not a decision: {exc!r}") from None


def batch_results(answer: Any, expected: int) -> list[Decision | ProblemError]:
    """The items of a batch answer, in request order: a ``Decision`` or a ``ProblemError``."""
    items = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != expected:
        count = len(items) if isinstance(items, list) else "no"
        raise HubError(f"the batch answer has {count} results for {expected} requests")
    out: list[Decision | ProblemError] = []
    for item in items:
        if not isinstance(item, dict):
            raise HubError(f"a batch result is not an object: {item!r}")
        if item.get("status") == 200:
            out.append(decision(item.get("decision")))
        else:
            status = item.get("status")
            found = item.get("problem") or {}
            wait = found.get("retry_after") if isinstance(found, dict) else None
            out.append(problem(found, status=status, retry_after=wait))
    return out
