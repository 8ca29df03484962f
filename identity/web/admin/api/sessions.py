"""Sign in to the admin API, sign out, and who is signed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from identity import errors
from identity.admin import sessions, signin
from identity.store.database import transaction
from identity.web.admin.api.auth import AUTH, BEARER, ApiAdmin
from identity.web.admin.deps import engine_of
from identity.web.admin.schemas import MeOut, SessionOut, SignIn
from identity.web.deps import SettingsDep, client_address
from identity.web.problems import responses

router = APIRouter()


@router.post(
    "/sessions",
    status_code=201,
    summary="Sign in: a session token for the admin API",
    responses=responses(errors.Unauthorized, errors.InvalidRequest, errors.RateLimited),
)
def sign_in(body: SignIn, request: Request, settings: SettingsDep) -> SessionOut:
    try:
        token = signin.sign_in(
            engine=engine_of(request),
            settings=settings,
            email=body.email,
            password=body.password,
            code=body.code,
            address=client_address(request),
        )
    except signin.TooManyAttempts as exc:
        raise errors.RateLimited(
            "Too many sign-in attempts.", retry_after=exc.retry_after
        ) from None
    if token is None:
        raise errors.Unauthorized("The email address, password or code is not right.")
    return SessionOut(
        token=token,
        idle_timeout_s=int(sessions.IDLE.total_seconds()),
        lifetime_s=int(sessions.LIFETIME.total_seconds()),
    )


@router.delete("/sessions/current", status_code=204, responses=responses(*AUTH))
def sign_out(
    request: Request,
    admin: ApiAdmin,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Response:
    with transaction(engine_of(request)) as session:
        sessions.end(session=session, token=credentials.credentials.strip() if credentials else "")
    return Response(status_code=204)


@router.get("/me", summary="Who is signed in", responses=responses(*AUTH))
def me(admin: ApiAdmin) -> MeOut:
    return MeOut(email=admin.email, library=admin.library, consortium=admin.consortium)
