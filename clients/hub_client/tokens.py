"""The client credentials grant (RFC 6749 section 4.4): a partner's access token, kept until
shortly before it expires, and renewed sooner if the API says it is no longer good (a 401)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from hub_client.errors import TokenError
from hub_client.flow import Flow
from hub_client.retry import Retry, with_retries

#: renew this many seconds before the token expires (or at half its life, if that is sooner)
EARLY_S = 30.0


def basic_auth(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` header of ``client_secret_basic``: each part form-encoded first
    (RFC 6749 section 2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def token_response(response: httpx.Response) -> dict[str, object]:
    """The token endpoint's JSON answer (RFC 6749 section 5.1), or ``TokenError`` (5.2)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and "access_token" in body:
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        raise TokenError(body["error"], None if description is None else str(description),
                         response.status_code)  # fmt: skip
    raise TokenError(
        "invalid_response",
        f"the token endpoint answered {response.status_code} {response.text[:200]!r}",
        response.status_code,
    )


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


class TokenCache:
    """One client's access token: fetched when first needed, kept until ``EARLY_S`` seconds
    before it expires."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = "eligibility",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._clock = clock
        self._token: _Token | None = None

    def get(self, token_endpoint: str, retry: Retry) -> Flow[str]:
        """The access token, fetched anew if there is none or it is about to expire."""
        now = self._clock()
        if self._token is not None and now < self._token.renew_at:
            return self._token.value
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        request = httpx.Request(
            "POST",
            token_endpoint,
            data=form,
            headers={
                "Authorization": basic_auth(self.client_id, self._secret),
                "Accept": "application/json",
            },
        )
        body = token_response((yield from with_retries(request, retry)))
        if str(body.get("token_type", "")).lower() != "bearer":
            raise TokenError("invalid_response", f"token_type {body.get('token_type')!r}")
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 300.0
        self._token = _Token(str(body["access_token"]), now + lifetime - min(EARLY_S, lifetime / 2))
        return self._token.value

    def forget(self, value: str) -> None:
        """Drop ``value`` (refused by the API), unless another call already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None
