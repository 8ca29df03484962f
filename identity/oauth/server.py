"""The authorization server: Authlib's ``AuthorizationServer`` with one thin Starlette adapter
(what Authlib's ``integrations/flask_oauth2`` does for Flask), and the wiring of grants and
endpoints.

Authlib is synchronous: a route reads the request body (``await request.form()``), builds a
``HubRequest`` with *every* value of repeated parameters (so duplicate-parameter checks see
them), and runs Authlib in the thread pool. Each callback opens its own short database session.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
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
from identity.store.database import transaction
from identity.store.models import OAuthClient


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
        #: the key that signs, held by this process (``signing_keys.ActiveKey``)
        self.active_key = signing_keys.ActiveKey(engine, self.secret)
        self.register_grant(AuthorizationCodeGrant, [S256Required(), OpenIDCode(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)
        self.register_endpoint(EndSession)

    # --- what Authlib asks of a framework integration --------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        with Session(self.engine) as session:
            row = session.get(OAuthClient, client_id)
            if row is None:
                return None
            session.expunge(row)
            return Client(row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        client: Client = request.client
        grantee = request.user or tokens.Grantee(
            sub=client.client_id, family=tokens.new_family(), lender=client.library
        )
        tokens.save(
            engine=self.engine,
            token=token,
            client_id=client.client_id,
            grantee=grantee,
            jti=token.pop("_jti"),
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
            keyset=self.signing_keyset(),
            issuer=self.issuer,
            client_id=client.client_id,
            grantee=grantee,
            scope=scope or "",
            lifetime_s=lifetime,
            now=int(time.time()),
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

    def signing_keyset(self) -> KeySet:
        """The active private key, alone in a set (joserfc then writes its ``kid``)."""
        return self.active_key.keyset()

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
