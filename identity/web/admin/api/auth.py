"""The admin API's bearer session, and the answers its routes declare."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from identity import errors
from identity.admin import sessions
from identity.admin.accounts import Admin
from identity.web.admin.deps import engine_of
from identity.web.admin.schemas import Pending
from identity.web.problems import responses

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="admin session",
    description="A token from POST /api/v1/admin/sessions, sent as Authorization: Bearer.",
)


def api_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Admin:
    token = credentials.credentials.strip() if credentials else ""
    with Session(engine_of(request)) as session:
        admin = sessions.resume(session=session, token=token)
    if admin is None:
        raise errors.Unauthorized(
            "Sign in with POST /api/v1/admin/sessions and send the token as a Bearer token "
            "(sessions end after 30 minutes unused).",
            sent=bool(token),
        )
    return admin


ApiAdmin = Annotated[Admin, Depends(api_admin)]
AUTH = (errors.Unauthorized, errors.InvalidRequest)
CHANGE = (*AUTH, errors.NotPermitted, errors.NotFound, errors.Conflict, errors.InvalidAgreements)
#: a change another party must approve is proposed, not published
PROPOSED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Proposed: it waits for the other parties' approval", "model": Pending}
}
CHANGE_ANSWERS = {**responses(*CHANGE), **PROPOSED}
