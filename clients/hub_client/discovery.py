"""OpenID Provider metadata (OpenID Connect Discovery 1.0 section 4), fetched once and kept
for ``max_age`` seconds. The document must name the issuer it was fetched from (section 4.3)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from hub_client.errors import DiscoveryError
from hub_client.flow import Flow
from hub_client.retry import Retry, with_retries

WELL_KNOWN = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Metadata:
    """The endpoints the SDK uses, and the whole document in ``raw``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    raw: dict[str, Any]

    @property
    def sends_iss(self) -> bool:
        """The hub puts ``iss`` in its authorization responses (RFC 9207 section 3)."""
        return self.raw.get("authorization_response_iss_parameter_supported") is True

    @classmethod
    def from_json(cls, issuer: str, data: Any) -> Metadata:
        """Metadata from the discovery document, checked against the expected ``issuer``."""
        if not isinstance(data, dict):
            raise DiscoveryError("the discovery document is not a JSON object")
        if data.get("issuer") != issuer:
            raise DiscoveryError(
                f"the discovery document is for issuer {data.get('issuer')!r}, not {issuer!r}"
            )
        try:
            return cls(
                issuer=issuer,
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                userinfo_endpoint=data.get("userinfo_endpoint"),
                raw=data,
            )
        except KeyError as missing:
            raise DiscoveryError(f"the discovery document lacks {missing}") from None


class DiscoveryCache:
    """The metadata of one issuer, fetched when first needed and again after ``max_age``."""

    def __init__(
        self, issuer: str, *, max_age: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ):
        self.issuer = issuer  # compared exactly (section 4.3); only the URL drops a final "/"
        self.max_age = max_age
        self._clock = clock
        self._value: tuple[Metadata, float] | None = None

    def get(self, retry: Retry) -> Flow[Metadata]:
        """The metadata, fetched if not held or too old."""
        now = self._clock()
        if self._value is not None and now - self._value[1] < self.max_age:
            return self._value[0]
        request = httpx.Request("GET", self.issuer.rstrip("/") + WELL_KNOWN)
        response = yield from with_retries(request, retry)
        if response.status_code != 200:
            raise DiscoveryError(f"GET {request.url} answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise DiscoveryError(f"GET {request.url} did not answer JSON") from None
        metadata = Metadata.from_json(self.issuer, data)
        self._value = (metadata, now)
        return metadata
