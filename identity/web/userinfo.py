"""``GET|POST /userinfo`` (OpenID Connect Core 5.3): the claims of the token's scope, with the
borrowing decision made again now (from what the home library said at sign-in)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Security
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from identity.agreements.publishing import InForce
from identity.oauth import claims, tokens
from identity.oauth.patron import Patron
from identity.oauth.server import HubServer
from identity.web.deps import InForceDep, OAuthDep
from identity.web.oauth_docs import ACCESS_TOKEN, UserInfoOut, answers

router = APIRouter(tags=["openid"], dependencies=[Security(ACCESS_TOKEN)])
ANSWERS = answers(
    UserInfoOut,
    "The claims of the token's scope",
    {401: "invalid_request: no Bearer token; invalid_token: unknown, expired or revoked"},
)


@router.get("/userinfo", summary="UserInfo (OpenID Connect)", operation_id="userinfo_get",
            response_model=None, responses=ANSWERS)  # fmt: skip
@router.post("/userinfo", summary="UserInfo (OpenID Connect)", operation_id="userinfo_post",
             response_model=None, responses=ANSWERS)  # fmt: skip
async def userinfo(request: Request, server: OAuthDep, in_force: InForceDep) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("invalid_request", "Send the access token as a Bearer token")
    found = await run_in_threadpool(_claims, server, in_force, token.strip())
    if found is None:
        return _unauthorized("invalid_token", "The access token is not valid")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


def _claims(server: HubServer, in_force: InForce, token: str) -> dict[str, Any] | None:
    with Session(server.engine) as session:
        row = tokens.bearer(session=session, token=token, scope="openid")
        if row is None or row.patron is None:
            return None
        client = server.query_client(row.client_id)
        if client is None:
            return None
        return claims.for_scope(
            patron=Patron.from_json(row.patron),
            scope=row.scope,
            sub=row.subject,
            lender=client.library,
            agreements=in_force.get(session=session),
            today=date.today(),
        )


def _unauthorized(error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="{error}", error_description="{description}"'},
    )
