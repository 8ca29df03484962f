"""``/admin/administrators``: who administers the hub (a library administrator sees their own
library's), inviting an administrator (an emailed one-time link to choose a password) and
removing one, as ``identity.admin.links`` allows (``rules.check_may_administer``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin import accounts, links
from identity.admin.accounts import Admin
from identity.settings import Settings
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, secret_of
from identity.web.deps import client_address

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
CONSORTIUM = "(consortium)"
EXPIRED = "This page had expired. Please try again."
NO_MAIL = (
    "This hub sends no email (its operator has not set HUB_SMTP_HOST), so it cannot send an "
    "invitation: ask its operator to add the administrator with hub admin add."
)


def mail_on(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return bool(settings.smtp_host)


@router.get("/admin/administrators")
def list_page(request: Request, admin: AdminDep) -> Response:
    return _page(request, admin)


@router.post("/admin/administrators")
def invite(
    request: Request, admin: AdminDep, csrf: FormText = "", email: FormText = "",
    library: FormText = "",
) -> Response:  # fmt: skip
    form = {"email": email, "library": library}
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _page(request, admin, form=form, error=EXPIRED, status=400)
    if not mail_on(request):
        return _page(request, admin, form=form, error=NO_MAIL, status=409)
    # a library administrator's form names no library; one naming another is refused (rules)
    chosen = None if library == CONSORTIUM else (library.strip() or admin.library)
    try:
        with transaction(engine_of(request)) as session:
            if chosen is not None and chosen not in in_force(request, session).libraries:
                raise errors.InvalidRequest(f"There is no library {chosen!r} in the agreements.")
            made = links.invite(
                session=session,
                inviter=admin,
                email=email,
                library=chosen,
                secret=secret_of(request),
                address=client_address(request),
            )
    except accounts.AccountRefused as exc:
        return _page(request, admin, form=form, error=_sentence(str(exc)), status=422)
    except errors.Problem as problem:
        return _page(request, admin, form=form, error=problem.detail, status=problem.status)
    return RedirectResponse(f"/admin/administrators?invited={made.email}", status_code=303)


@router.post("/admin/administrators/remove")
def remove(
    request: Request, admin: AdminDep, csrf: FormText = "", email: FormText = ""
) -> Response:
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _page(request, admin, error=EXPIRED, status=400)
    try:
        with transaction(engine_of(request)) as session:
            links.remove(session=session, admin=admin, email=email,
                         address=client_address(request))  # fmt: skip
    except errors.Problem as problem:
        return _page(request, admin, error=problem.detail, status=problem.status)
    return RedirectResponse(f"/admin/administrators?removed={email.strip().lower()}",
                            status_code=303)  # fmt: skip


def _page(
    request: Request,
    admin: Admin,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    with Session(engine_of(request)) as session:
        everyone = accounts.accounts(session=session)
        libraries = sorted(in_force(request, session).libraries)
    shown = [a for a in everyone if admin.consortium or a.library == admin.library]
    context = {
        "accounts": shown,
        "libraries": libraries,
        "consortium": CONSORTIUM,
        "form": form or {"email": "", "library": ""},
        "invited": request.query_params.get("invited", ""),
        "mail_off": "" if mail_on(request) else NO_MAIL,
        "removed": request.query_params.get("removed", ""),
        "error": error,
    }
    return page(request, "administrators.html", context, admin=admin, status_code=status)


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."
