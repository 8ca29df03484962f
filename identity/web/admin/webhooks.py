"""``/admin/webhooks``: the delivery log of the webhooks that tell partner systems of each
published agreement version (``identity.agreements.webhooks``), for consortium administrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from identity import errors
from identity.agreements import webhooks
from identity.settings import Settings, webhook_urls
from identity.web.admin.deps import AdminDep, engine_of, page, problem_page

router = APIRouter(include_in_schema=False)


@router.get("/admin/webhooks")
def log_page(request: Request, admin: AdminDep) -> Response:
    if not admin.consortium:
        refused = errors.NotPermitted("Only a consortium administrator can see the webhooks.")
        return problem_page(request, admin, refused)
    settings: Settings = request.app.state.settings
    with Session(engine_of(request)) as session:
        rows = webhooks.deliveries(session=session)
    context = {"urls": webhook_urls(settings.webhook_urls), "deliveries": rows}
    return page(request, "webhooks.html", context, admin=admin)
