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
    since: Day | None = None,
    until: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[AuditEventOut]:
    filters = auditlog.Filters(action, actor, since, until)
    found = auditlog.events(session=session, admin=admin, filters=filters, limit=limit)
    return [AuditEventOut.of(e) for e in found]
