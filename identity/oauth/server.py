"""The authorization server: Authlib's ``AuthorizationServer`` with one thin Starlette adapter
(what Authlib's ``integrations/flask_oauth2`` does for Flask), and the wiring of grants and
endpoints.

Authlib is synchronous: a route reads the request body (``await request.form()``), builds a
``HubRequest`` with *every* value of repeated parameters (so duplicate-parameter checks see
them), and runs Authlib in the thread pool, or on the event loop when all it needs is in
memory. Clients, signing keys and revoked client-credentials tokens are kept in memory
(``identity.oauth.caches``) for requests that have synced with the database's changes
(``synced``); every other read opens its own short database session.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from joserfc.jwk import KeySet
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.agreements.publishing import InForce
from identity.oauth import signing_keys, tokens
from identity.oauth.caches import FRESH, Cache
from identity.oauth.claims import SCOPES
from identity.oauth.client import Client
from identity.oauth.endpoints.end_session import EndSession
from identity.oauth.endpoints.introspection import Introspection
from identity.oauth.endpoints.revocation import Revocation
from identity.oauth.grants.authorization_code import AuthorizationCodeGrant
from identity.oauth.grants.client_credentials import ClientCredentialsGrant
from identity.oauth.grants.openid import OpenIDCode
from identity.oauth.grants.pkce import S256Required
from identity.oauth.grants.refresh_token import RefreshTokenGrant
from identity.patrons.connectors.gates import Gates
from identity.settings import Settings
from identity.store.changes import Changes
from identity.store.database import transaction
from identity.store.models import OAuthClient, RevokedToken, utcnow


class HubPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class HubRequest(OAuth2Request):  # type: ignore[misc]
    """An ``OAuth2Request`` from a Starlette request whose form has already been read."""

    def __init__(self, request: Request, form: FormData | None, issuer: str) -> None:
        # the URL as the issuer names it (behind a proxy, the hub sees its own address)
        url = issuer + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        super().__init__(request.method, url, headers=request.headers)
        self.starlette = request
        query: QueryParams = request.query_params
        posted = [(k, v) for k, v in (form.multi_items() if form else []) if isinstance(v, str)]
        self._args = dict(reversed(query.multi_items()))
        self._form = dict(reversed(posted))
        self.form_pairs = posted
        self.payload = HubPayload([*query.multi_items(), *posted])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class HubServer(_AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server, wired to the hub's settings, database and home-library
    gates.

    ``in_force`` is the app's set of agreements in force (``app.state.in_force``), held here
    only for Authlib's grant code: the OpenID claims of the ID token, made at token time
    (``grants.openid.OpenIDCode.generate_user_info``). Endpoints take the set in force as
    their own dependency (``identity.web.deps.InForceDep``), not through this server.
    """

    def __init__(self, *, settings: Settings, engine: Engine, in_force: InForce) -> None:
        super().__init__(scopes_supported=SCOPES)
        self.settings = settings
        self.engine = engine
        self.in_force = in_force
        #: the turns at each home library (``identity.patrons.connectors.gates``)
        self.gates = Gates(queue=settings.home_library_queue, wait_s=settings.home_library_wait_s)
        self.issuer = settings.issuer
        self.secret = settings.secret()
        self._keys: dict[str, signing_keys.PrivateKey] = {}
        self._keys_guard = threading.Lock()
        # a read of what changed waits no longer than a connection to the database may take
        self.changes = Changes(engine, wait_s=settings.database_connect_timeout_s + 1)
        self.clients: Cache[str, Client] = Cache()
        self.keysets: Cache[str, KeySet] = Cache()  # an algorithm: its active key; "public"
        self.revoked: Cache[str, frozenset[str]] = Cache()  # "jti": every revoked one
        self.changes.on_change("clients", self.clients.forget)
        self.changes.on_change("keys", self.keysets.forget)
        self.changes.on_change("revocations", self.revoked.forget)
        self.register_grant(AuthorizationCodeGrant, [S256Required(), OpenIDCode(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)
        self.register_endpoint(EndSession)

    # --- what Authlib asks of a framework integration --------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        """The client, unless it is unknown or disabled."""
        client = self.clients.get(client_id, lambda: self._read_client(client_id))
        return None if client is None or client.disabled else client

    def _read_client(self, client_id: str) -> Client | None:
        with Session(self.engine) as session:
            row = session.get(OAuthClient, client_id)
            if row is None:
                return None
            session.expunge(row)
            return Client(row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Store a sign-in's tokens. A client-credentials token is not stored: it is refused
        by its client's epoch or a row in ``revoked_token`` (``identity.oauth.client_tokens``)."""
        jti = token.pop("_jti")
        if request.user is None:
            return
        client: Client = request.client
        tokens.save(
            engine=self.engine,
            token=token,
            client=client,
            grantee=request.user,
            jti=jti,
            refresh_lifetime_s=self.settings.refresh_lifetime_s,
        )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # routes build the HubRequest (they must await the body first)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            response: Response = JSONResponse(body, status_code=status)
            for name, value in headers:
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        return Response(body or b"", status_code=status, headers=dict(headers))

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        """Every ``invalid_client`` is a 401 with ``WWW-Authenticate: Basic`` (RFC 6749 5.2
        allows it always and requires it after an Authorization header), so that a client
        whose credentials fail gets the same answer whichever way it sent them."""
        if isinstance(error, InvalidClientError):
            error.status_code = 401
        response: Response = super().handle_error_response(request, error)
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook for framework signals: the hub has none."""

    # --- tokens and keys --------------------------------------------------------------------

    def generate_token(  # Authlib's token generator hook, taken over whole
        self,
        grant_type: str,
        client: Client,
        user: tokens.Grantee | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        grantee = user or tokens.Grantee(sub=client.client_id, family="", lender=client.library)
        lifetime = self.settings.token_lifetime_s
        access, jti = tokens.access_token(
            keyset=self.signing_keyset(signing_keys.ACCESS_ALG),
            issuer=self.issuer,
            client_id=client.client_id,
            grantee=grantee,
            scope=scope or "",
            lifetime_s=lifetime,
            now=int(time.time()),
            epoch=client.epoch if user is None else None,
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": lifetime,
            "scope": scope or "",
            "_jti": jti,  # taken out again by save_token, before the response is written
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def signing_keyset(self, alg: str = signing_keys.ALG) -> KeySet:
        """The private key signing with ``alg`` now, alone in a set (joserfc then writes its
        ``kid``): RS256 for ID tokens, ES256 for access tokens."""
        keyset = self.keysets.get(alg, lambda: self._read_signing_keyset(alg))
        assert keyset is not None
        return keyset

    def _read_signing_keyset(self, alg: str) -> KeySet:
        with Session(self.engine) as session:
            current = signing_keys.active(session=session, alg=alg)
        if current is None:
            raise RuntimeError("no signing key: the app was not prepared")
        with self._keys_guard:
            key = self._keys.get(current.kid)
            if key is None:
                key = self._keys[current.kid] = signing_keys.private_key(current, self.secret)
        return KeySet([key])

    def public_keyset(self) -> KeySet:
        """Every public key the hub has signed with (tokens signed by a key retired long ago
        have expired, which their own ``exp`` says)."""
        keyset = self.keysets.get("public", self._read_public_keyset)
        assert keyset is not None
        return keyset

    def _read_public_keyset(self) -> KeySet:
        with Session(self.engine) as session:
            return KeySet.import_key_set({"keys": signing_keys.public_jwks(session=session)})

    def is_revoked(self, jti: str) -> bool:
        """Whether the client-credentials token ``jti`` was revoked (RFC 7009)."""
        if not FRESH.get():
            with Session(self.engine) as session:
                return session.get(RevokedToken, jti) is not None
        revoked = self.revoked.get("jti", self._read_revoked)
        return revoked is not None and jti in revoked

    def _read_revoked(self) -> frozenset[str]:
        with Session(self.engine) as session:
            return tokens.revoked_jtis(session=session, now=utcnow())

    # --- what the database has changed ------------------------------------------------------

    @contextmanager
    def synced(self) -> Iterator[bool]:
        """(Blocking, in a worker thread.) Within the block, the caches are used if every
        change committed before it was seen; the database is read otherwise."""
        reset = FRESH.set(self.changes.sync())
        try:
            yield FRESH.get()
        finally:
            FRESH.reset(reset)

    @asynccontextmanager
    async def synced_async(self) -> AsyncIterator[bool]:
        """``synced`` for a route on the event loop (worker threads it starts inherit it)."""
        reset = FRESH.set(await self.changes.synced())
        try:
            yield FRESH.get()
        finally:
            FRESH.reset(reset)

    def holds(self, client_id: str) -> bool:
        """Whether a client-credentials token for ``client_id`` can be made from memory alone
        (the client and the signing key are held, and the request has synced)."""
        return (
            self.clients.held(client_id) is not None
            and self.keysets.held(signing_keys.ACCESS_ALG) is not None
        )

    def close(self) -> None:
        self.changes.close()

    def published_jwks(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            return signing_keys.jwks(
                session=session, lifetime=timedelta(seconds=self.settings.token_lifetime_s)
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with transaction(self.engine) as session:
            yield session
