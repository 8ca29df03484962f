"""The hub's public signing keys (RFC 7517 JWK Set, OpenID Connect Core 10.1.1), kept for as
long as the hub's ``Cache-Control: max-age`` allows, and fetched again at once when a token
names a key that is not among them: that is how a key rotation reaches a running client.

Those early fetches are rationed (a burst of ``FORCED_BURST``, then one per
``FORCED_EVERY_S``), so that tokens forged with made-up ``kid`` values cannot make a relying
party hammer the hub's key set."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from hub_client.errors import IdTokenError
from hub_client.flow import Flow
from hub_client.retry import Retry, with_retries

#: how long keys are kept when the hub does not say
DEFAULT_MAX_AGE_S = 300.0
FORCED_BURST = 3
FORCED_EVERY_S = 30.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class JwksCache:
    """The key set at ``uri``. ``fetches`` counts the times it was fetched."""

    def __init__(
        self,
        uri: str,
        *,
        max_age: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.uri = uri
        self.max_age = max_age
        self._clock = clock
        self._keys: dict[str | None, dict[str, Any]] = {}
        self._expires = float("-inf")
        self._forced = float(FORCED_BURST)  # early fetches allowed now (refills over time)
        self._forced_at = clock()
        self.fetches = 0

    def key(self, kid: str | None, retry: Retry) -> Flow[dict[str, Any]]:
        """The public JWK named ``kid`` (without a ``kid``: the only signing key there is).
        An unknown ``kid`` makes one fetch of the key set before ``IdTokenError``."""
        fresh = self._clock() < self._expires
        if not fresh or (kid not in self._keys and self._may_fetch_early()):
            yield from self.refresh(retry)
        if kid not in self._keys:
            raise IdTokenError("unknown_key", f"no key {kid!r} in the hub's JWKS at {self.uri}")
        return self._keys[kid]

    def _may_fetch_early(self) -> bool:
        now = self._clock()
        self._forced = min(FORCED_BURST, self._forced + (now - self._forced_at) / FORCED_EVERY_S)
        self._forced_at = now
        if self._forced < 1:
            return False
        self._forced -= 1
        return True

    def refresh(self, retry: Retry) -> Flow[None]:
        """Fetch the key set now."""
        response = yield from with_retries(httpx.Request("GET", self.uri), retry)
        self.fetches += 1
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise IdTokenError(
                "keys_unavailable", f"GET {self.uri} answered {response.status_code}"
            )
        signing = [
            k for k in body["keys"]
            if isinstance(k, dict) and k.get("kty") == "RSA" and k.get("use", "sig") == "sig"
        ]  # fmt: skip
        self._keys = {k.get("kid"): k for k in signing}
        if len(signing) == 1:
            self._keys[None] = signing[0]
        match = _MAX_AGE.search(response.headers.get("cache-control", ""))
        max_age = float(match.group(1)) if match else self.max_age
        self._expires = self._clock() + min(max_age, self.max_age)
