"""``/admin/audit``: the audit log as the signed-in administrator may see it (the rule is in
``identity.admin.auditlog``), filtered by action, actor and dates, and ``/admin/audit.csv``,
the same events as CSV."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from identity.admin import auditlog
from identity.admin.accounts import Admin
from identity.web.admin.deps import AdminDep, engine_of, page

router = APIRouter(include_in_schema=False)

SHOWN = 200  # the newest events shown on the page; the CSV has every one


@router.get("/admin/audit")
def audit_page(
    request: Request,
    admin: AdminDep,
    action: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    filters, problem = _filters(action, actor, since, until)
    context: dict[str, object] = {
        "form": {"action": action, "actor": actor, "since": since, "until": until},
        "error": problem,
        "csv_query": urlencode({"action": action, "actor": actor, "since": since, "until": until}),
        "shown": SHOWN,
    }
    with Session(engine_of(request)) as session:
        context["actions"] = auditlog.actions(session=session, admin=admin)
        if filters is None:
            context.update(events=[], total=0)
            return page(request, "audit.html", context, admin=admin, status_code=400)
        context["events"] = auditlog.events(
            session=session, admin=admin, filters=filters, limit=SHOWN
        )
        context["total"] = auditlog.count(session=session, admin=admin, filters=filters)
    return page(request, "audit.html", context, admin=admin)


@router.get("/admin/audit.csv")
def audit_csv(
    request: Request,
    admin: AdminDep,
    action: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    filters, problem = _filters(action, actor, since, until)
    if filters is None:
        return Response(problem + "\n", status_code=400, media_type="text/plain; charset=utf-8")
    return Response(
        _csv(request, admin, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="audit.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _csv(request: Request, admin: Admin, filters: auditlog.Filters) -> str:
    with Session(engine_of(request)) as session:
        return auditlog.to_csv(auditlog.events(session=session, admin=admin, filters=filters))


def _filters(
    action: str, actor: str, since: str, until: str
) -> tuple[auditlog.Filters | None, str]:
    days: list[date | None] = []
    for name, text in (("From", since), ("Until", until)):
        try:
            days.append(date.fromisoformat(text.strip()) if text.strip() else None)
        except ValueError:
            return None, f"{name}: enter a date like 2026-11-29, not {text!r}."
    if days[0] is not None and days[1] is not None and days[0] > days[1]:
        return None, "From must not be after Until."
    return auditlog.Filters(action.strip(), actor.strip(), days[0], days[1]), ""
