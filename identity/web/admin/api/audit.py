"""The audit log, as the administrator asking may see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from identity.admin import auditlog
from identity.web.admin.api.auth import AUTH, ApiAdmin
from identity.web.admin.schemas import AuditEventOut
from identity.web.deps import SessionDep
from identity.web.fields import Day
from identity.web.problems import responses

router = APIRouter()


@router.get("/audit", summary="The audit log as you may see it, newest first",
            responses=responses(*AUTH))  # fmt: skip
def audit_log(
    session: SessionDep,
    admin: ApiAdmin,
    action: str = "",
    actor: str = "",
    library: str = "",
    since: Day | None = None,
    until: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> list[AuditEventOut]:
    """``library``: the events concerning that library (for a library administrator, within
    those about their own); ``offset``: past the newest so many."""
    filters = auditlog.Filters(action, actor, since, until, library.strip())
    found = auditlog.events(session=session, admin=admin, filters=filters, limit=limit,
                            offset=offset)  # fmt: skip
    return [AuditEventOut.of(e) for e in found]
