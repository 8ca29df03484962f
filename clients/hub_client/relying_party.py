"""Signing patrons in to a lender's web app through the hub: the OpenID Connect authorization
code flow (Core 3.1) with PKCE S256 (RFC 7636), ``state`` and ``nonce``, and the authorization
response's ``iss`` checked (RFC 9207)::

    rp = RelyingParty(ISSUER, CLIENT_ID, CLIENT_SECRET, "https://lender.example/callback")
    url, pending = rp.start()          # keep ``pending`` in the patron's session; redirect to url
    ...
    sign_in = rp.finish(request_url, pending)   # on the callback
    sign_in.claims["name"], sign_in.borrowing    # verified claims; the hub's decision
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from hub_client.discovery import DiscoveryCache, Metadata
from hub_client.errors import AccessDenied, AuthorizationError, IdTokenError, InvalidCallback
from hub_client.flow import Flow, arun, run
from hub_client.idtoken import verify_flow
from hub_client.jwks import JwksCache
from hub_client.models import Decision
from hub_client.retry import NOT_SENT, Retry, with_retries
from hub_client.tokens import basic_auth, token_response

SCOPE = "openid profile membership borrowing"


def pkce_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Pending:
    """What ``finish`` needs to know about a sign-in that ``start`` began. Keep it where only
    this browser's session can reach it (``dataclasses.asdict`` / ``Pending(**d)`` to store
    it); use it once."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class SignIn:
    """A finished sign-in: the ID token's verified ``claims`` and the tokens."""

    claims: dict[str, Any]
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int | None
    scope: str | None

    @property
    def sub(self) -> str:
        """The patron's identifier at your library (pairwise: other lenders get another)."""
        return str(self.claims["sub"])

    @property
    def borrowing(self) -> Decision | None:
        """The hub's decision for your library (scope ``borrowing``), if asked for."""
        data = self.claims.get("borrowing")
        return None if data is None else Decision.from_json(data)


class _Flows:
    """The relying party's steps, without I/O."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        scope: str,
        retry: Retry,
    ):
        self.issuer, self.client_id, self.redirect_uri, self.scope = (
            issuer, client_id, redirect_uri, scope,
        )  # fmt: skip
        self._secret = client_secret
        self.retry = retry
        self.discovery = DiscoveryCache(issuer)
        self.jwks: JwksCache | None = None

    def start(self, extra: Mapping[str, str]) -> Flow[tuple[str, Pending]]:
        metadata = yield from self.discovery.get(self.retry)
        pending = Pending(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # 86 characters of [A-Za-z0-9-_]
        )
        fixed = {"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge",
                 "code_challenge_method"}  # fmt: skip
        if fixed & set(extra):
            raise ValueError(f"start() sets these itself: {', '.join(sorted(fixed & set(extra)))}")
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pkce_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
            **extra,
        }
        endpoint = metadata.authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", pending

    def finish(self, callback: str | Mapping[str, str], pending: Pending) -> Flow[SignIn]:
        metadata = yield from self.discovery.get(self.retry)
        code = self._authorization_code(metadata, callback, pending)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        headers = {"Accept": "application/json"}
        if self._secret is None:
            form["client_id"] = self.client_id  # a public client (RFC 6749 section 4.1.3)
        else:
            headers["Authorization"] = basic_auth(self.client_id, self._secret)
        request = httpx.Request("POST", metadata.token_endpoint, data=form, headers=headers)
        # a code is good once: sent again after a lost answer, it would revoke what it got
        body = token_response((yield from with_retries(request, self.retry, NOT_SENT)))
        id_token, access_token = body.get("id_token"), str(body["access_token"])
        if not isinstance(id_token, str):
            raise IdTokenError("malformed", "the token response has no id_token")
        if self.jwks is None or self.jwks.uri != metadata.jwks_uri:
            self.jwks = JwksCache(metadata.jwks_uri)
        claims = yield from verify_flow(
            id_token,
            issuer=metadata.issuer,
            audience=self.client_id,
            nonce=pending.nonce,
            jwks_cache=self.jwks,
            retry=self.retry,
            access_token=access_token,
        )
        refresh, expires_in, scope = (body.get(k) for k in ("refresh_token", "expires_in", "scope"))
        return SignIn(
            claims=claims,
            id_token=id_token,
            access_token=access_token,
            refresh_token=None if refresh is None else str(refresh),
            expires_in=expires_in if isinstance(expires_in, int) else None,
            scope=None if scope is None else str(scope),
        )

    def _authorization_code(
        self, metadata: Metadata, callback: str | Mapping[str, str], pending: Pending
    ) -> str:
        """The code in the callback, once it is known to answer our request (in this order:
        ``state``, ``iss``, then ``error``)."""
        params = _params(callback)
        if not hmac.compare_digest(params.get("state", "").encode(), pending.state.encode()):
            raise InvalidCallback("the callback's state is not the one this sign-in sent")
        iss = params.get("iss")
        if iss is None and metadata.sends_iss:
            raise InvalidCallback("the callback has no iss, and the hub always sends one")
        if iss is not None and iss != metadata.issuer:
            raise InvalidCallback(f"the callback is from issuer {iss!r}, not {metadata.issuer!r}")
        if "error" in params:
            cls = AccessDenied if params["error"] == "access_denied" else AuthorizationError
            raise cls(params["error"], params.get("error_description"))
        if not params.get("code"):
            raise InvalidCallback("the callback has neither a code nor an error")
        return params["code"]


def _params(callback: str | Mapping[str, str]) -> dict[str, str]:
    if not isinstance(callback, str):
        return dict(callback)
    params = parse_qs(urlsplit(callback).query, keep_blank_values=True)
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise InvalidCallback(f"the callback repeats {', '.join(repeated)}")
    return {name: values[0] for name, values in params.items()}


class RelyingParty:
    """A lender's web app signing patrons in through the hub at ``issuer``.

    ``client_secret`` is ``None`` for a public client (PKCE alone protects the code).
    ``redirect_uri`` must be one registered for the client (``hub clients add --kind rp
    --redirect-uri ...``). ``scope`` is what to ask for; ``borrowing`` brings the hub's
    decision for your library into the ID token.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        scope: str = SCOPE,
        retry: Retry | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._flows = _Flows(
            issuer, client_id, client_secret, redirect_uri, scope, retry or Retry()
        )
        self._own = http is None
        self._http = http if http is not None else httpx.Client(timeout=10.0)
        self._sleep = sleep

    def start(self, **extra: str) -> tuple[str, Pending]:
        """A new sign-in: the URL to send the patron's browser to, and the ``Pending`` to keep
        in their session for ``finish``. ``extra`` adds request parameters (e.g.
        ``prompt="login"``)."""
        return run(self._flows.start(extra), self._http, self._sleep)

    def finish(self, callback: str | Mapping[str, str], pending: Pending) -> SignIn:
        """Finish the sign-in that ``pending`` began, from the URL the hub redirected the
        browser to (or its query parameters): checks ``state`` and ``iss``, exchanges the code
        with the PKCE verifier, and verifies the ID token (signature, ``iss``, ``aud``, ``exp``,
        ``nonce``, ``at_hash``).

        Raises ``InvalidCallback`` (not an answer to this sign-in: do not retry it),
        ``AccessDenied`` or ``AuthorizationError`` (the hub said ``error=``), ``TokenError``
        (the code was refused, e.g. used twice) or ``IdTokenError``.
        """
        return run(self._flows.finish(callback, pending), self._http, self._sleep)

    def close(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._own:
            self._http.close()


class AsyncRelyingParty:
    """``RelyingParty`` for ``asyncio``: the same methods, to be awaited."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        scope: str = SCOPE,
        retry: Retry | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._flows = _Flows(
            issuer, client_id, client_secret, redirect_uri, scope, retry or Retry()
        )
        self._own = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=10.0)
        self._sleep = sleep

    async def start(self, **extra: str) -> tuple[str, Pending]:
        """See ``RelyingParty.start``."""
        return await arun(self._flows.start(extra), self._http, self._sleep)

    async def finish(self, callback: str | Mapping[str, str], pending: Pending) -> SignIn:
        """See ``RelyingParty.finish``."""
        return await arun(self._flows.finish(callback, pending), self._http, self._sleep)

    async def aclose(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._own:
            await self._http.aclose()
