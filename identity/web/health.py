"""``GET /healthz`` and ``GET /readyz`` (docs/operations.md, Health checks).

``/healthz``: the process answers, for a liveness check. It asks nothing of the database: a
database that cannot be reached is answered 503 by the endpoints that need it, and restarting
the hub would not help.

``/readyz``: this process can serve, for a load balancer's or an orchestrator's readiness
check: the database answers, its schema is at the revision this hub needs (or past it: during a
rolling upgrade, an instance not yet restarted stays ready after ``hub db upgrade``), an
agreement set is published and read, and there is a key to sign with. Otherwise 503 with
``Retry-After`` and the reason in one sentence.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from identity.oauth import signing_keys
from identity.store import database, migrate

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str  # ready | not ready
    reason: str | None = None
    agreements_version: int | None = None


@router.get("/healthz")
def health() -> Health:
    return Health(status="ok")


NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "Not ready: the reason, and Retry-After", "model": Readiness}
}


@router.get("/readyz", response_model=Readiness, responses=NOT_READY)
def ready(request: Request) -> JSONResponse:
    state = request.app.state
    retry_after = str(state.settings.database_retry_after_s)
    try:
        reason, version = _unready(state)
    except Exception as exc:
        if not database.unavailable(exc):
            raise
        reason, version = "the database cannot be reached", None
    if reason is not None:
        body = Readiness(status="not ready", reason=reason, agreements_version=version)
        headers = {"Retry-After": retry_after, "Cache-Control": "no-store"}
        return JSONResponse(body.model_dump(), status_code=503, headers=headers)
    body = Readiness(status="ready", agreements_version=version)
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


def _unready(state: Any) -> tuple[str | None, int | None]:
    """Why this process cannot serve (None: it can), and the agreement version it holds."""
    if not state.preparation.run():
        return "the database is being prepared", None
    engine = state.engine
    at = migrate.current(engine)
    if at != _head() and (at is None or at in _known()):  # behind; one unknown is a newer hub's
        return f"the database is at revision {at}, the hub needs {_head()}", None
    with Session(engine) as session:
        state.in_force.get(session=session)
        version = state.in_force.version
        if not version:
            return "no agreement set is published yet", version
        if signing_keys.active(session=session) is None:
            return "there is no signing key", version
    return None, version


@cache
def _head() -> str | None:
    return migrate.head()


@cache
def _known() -> frozenset[str]:
    return migrate.revisions()
