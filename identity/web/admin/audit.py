"""``/admin/audit``: the audit log as the signed-in administrator may see it (the rule is in
``identity.admin.auditlog``), filtered by action, actor, library and dates, a page of events at
a time, each event's before and after shown as what changed (``identity.admin.auditdiff``); and
``/admin/audit.csv``, every event that passes the filters, as CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from identity.admin import auditdiff, auditlog
from identity.admin.accounts import Admin
from identity.web.admin.deps import AdminDep, engine_of, in_force, page
from identity.web.admin.desk import choices

router = APIRouter(include_in_schema=False)

PER_PAGE = 25  # events on one page; the CSV has every one


@router.get("/admin/audit")
def audit_page(
    request: Request,
    admin: AdminDep,
    action: str = "",
    actor: str = "",
    library: str = "",
    since: str = "",
    until: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    library = "" if admin.library else library
    filters, problem = _filters(action, actor, library, since, until)
    query = {"action": action, "actor": actor, "library": library, "since": since,
             "until": until}  # fmt: skip
    context: dict[str, object] = {
        "form": query,
        "error": problem,
        "csv_query": urlencode(query),
        "page": page_number,
    }
    with Session(engine_of(request)) as session:
        context["actions"] = auditlog.actions(session=session, admin=admin)
        context["libraries"] = [] if admin.library else choices(admin, in_force(request, session))
        if filters is None:
            context.update(events=[], total=0, pages=0)
            return page(request, "audit.html", context, admin=admin, status_code=400)
        total = auditlog.count(session=session, admin=admin, filters=filters)
        found = auditlog.events(session=session, admin=admin, filters=filters, limit=PER_PAGE,
                                offset=(page_number - 1) * PER_PAGE)  # fmt: skip
    pages = max(1, -(-total // PER_PAGE))
    context.update(
        events=[(event, auditdiff.change(event.before, event.after)) for event in found],
        total=total,
        pages=pages,
        first=(page_number - 1) * PER_PAGE + 1,
        newer=_page_link(query, page_number - 1) if page_number > 1 else "",
        older=_page_link(query, page_number + 1) if page_number < pages else "",
    )
    return page(request, "audit.html", context, admin=admin)


@router.get("/admin/audit.csv")
def audit_csv(
    request: Request,
    admin: AdminDep,
    action: str = "",
    actor: str = "",
    library: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    filters, problem = _filters(action, actor, "" if admin.library else library, since, until)
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


def _page_link(query: dict[str, str], number: int) -> str:
    kept = {name: value for name, value in query.items() if value}
    return "/admin/audit?" + urlencode({**kept, "page": number})


def _csv(request: Request, admin: Admin, filters: auditlog.Filters) -> str:
    with Session(engine_of(request)) as session:
        return auditlog.to_csv(auditlog.events(session=session, admin=admin, filters=filters))


def _filters(
    action: str, actor: str, library: str, since: str, until: str
) -> tuple[auditlog.Filters | None, str]:
    days: list[date | None] = []
    for name, text in (("From", since), ("Until", until)):
        try:
            days.append(date.fromisoformat(text.strip()) if text.strip() else None)
        except ValueError:
            return None, f"{name}: enter a date like 2026-11-29, not {text!r}."
    if days[0] is not None and days[1] is not None and days[0] > days[1]:
        return None, "From must not be after Until."
    filters = auditlog.Filters(action.strip(), actor.strip(), days[0], days[1], library.strip())
    return filters, ""
