"""``POST /token`` (RFC 6749 3.2), ``POST /introspect`` (RFC 7662), ``POST /revoke`` (RFC 7009):
the form-posting endpoints, handed to Authlib through the one adapter. A parameter of the
endpoint's form sent twice is refused (RFC 6749 3.2: "parameters MUST NOT be included more than
once"), and others are ignored ("MUST ignore unrecognized request parameters"); anything
unexpected is ``server_error``, with the detail in the log and not in the answer.

Each request first syncs with what the database has changed (``HubServer.synced_async``), so
that what the server holds in memory may answer it. A client-credentials request whose client
and signing key are held is answered on the event loop, since it needs no database at all;
anything else runs in the thread pool."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from urllib.parse import unquote

from fastapi import APIRouter, Request, Security
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from identity.oauth.server import HubRequest, HubServer
from identity.store import database
from identity.web.oauth_docs import (
    CLIENT,
    IntrospectionOut,
    RevokedOut,
    TokenForm,
    TokenHintForm,
    TokenOut,
    answers,
    form_body,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["openid"], dependencies=[Security(CLIENT)])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BAD = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope"
UNKNOWN_CLIENT = "invalid_client: the client is unknown or its credentials are wrong"


@router.post(
    "/token",
    summary="Token endpoint (authorization code, refresh token, client credentials)",
    openapi_extra=form_body(TokenForm),
    response_model=None,
    responses=answers(TokenOut, "The tokens", {400: BAD, 401: UNKNOWN_CLIENT}),
)
async def token(request: Request) -> Response:
    server: HubServer = request.app.state.oauth
    return await _handle(request, server, TokenForm, server.create_token_response, inline=True)


@router.post(
    "/introspect",
    summary="Token introspection (RFC 7662)",
    openapi_extra=form_body(TokenHintForm),
    response_model=None,
    responses=answers(
        IntrospectionOut,
        "Whether the token is active, and what it is",
        {400: "invalid_request, unsupported_token_type", 401: UNKNOWN_CLIENT},
    ),
)
async def introspect(request: Request) -> Response:
    server: HubServer = request.app.state.oauth
    return await _handle(
        request,
        server,
        TokenHintForm,
        lambda r: server.create_endpoint_response("introspection", r),
    )


@router.post(
    "/revoke",
    summary="Token revocation (RFC 7009)",
    openapi_extra=form_body(TokenHintForm),
    response_model=None,
    responses=answers(
        RevokedOut,
        "Revoked, or unknown (RFC 7009 2.2): nothing to say either way",
        {
            400: "invalid_request, unsupported_token_type; invalid_grant: another client's token",
            401: UNKNOWN_CLIENT,
        },
    ),
)
async def revoke(request: Request) -> Response:
    server: HubServer = request.app.state.oauth
    return await _handle(
        request, server, TokenHintForm, lambda r: server.create_endpoint_response("revocation", r)
    )


async def _handle(
    request: Request,
    server: HubServer,
    fields: type[BaseModel],
    call: Callable[[HubRequest], Response],
    inline: bool = False,
) -> Response:
    basic = _basic_client_id(request.headers.get("authorization", ""))
    if basic is None:
        return _error("invalid_client", "The Basic credentials cannot be read.", 401)
    form = await request.form()
    oauth = HubRequest(request, form, server.issuer)
    repeated = sorted(k for k in fields.model_fields if len(oauth.payload.datalist.get(k, ())) > 1)
    if repeated:
        return _error("invalid_request", f"Parameter sent more than once: {', '.join(repeated)}")
    try:
        async with server.synced_async() as synced:
            client_id = basic or oauth.form.get("client_id", "")
            if (
                inline
                and synced
                and oauth.form.get("grant_type") == "client_credentials"
                and server.holds(client_id)
            ):
                response: Response = call(oauth)
            else:
                response = await run_in_threadpool(call, oauth)
    except Exception as exc:
        if database.unavailable(exc):
            raise  # answered 503 with Retry-After (identity.web.problems)
        log.exception("token endpoint failed")
        return _error("server_error", "The server could not answer; try again.", 500)
    response.headers.update(NO_STORE)
    return response


def _basic_client_id(header: str) -> str | None:
    """The client id of Basic credentials ("" if there are none), or None unless they are
    base64 of UTF-8 ``id:secret`` (RFC 7617): Authlib would fail on any other bytes with a
    server error."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        client_id, colon, _ = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(client_id) if colon else None


def _error(error: str, description: str, status: int = 400) -> Response:
    headers = {**NO_STORE, **({"WWW-Authenticate": "Basic"} if status == 401 else {})}
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )
