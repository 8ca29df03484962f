"""``/admin/account``: the signed-in administrator's own account, and setting up an
authenticator app (TOTP) for it: a new secret is shown with its ``otpauth://`` address, and is
required from the next sign-in once a code from the app shows that it works
(``accounts.enable_totp``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity.admin import accounts
from identity.admin.accounts import Admin
from identity.store.database import transaction
from identity.store.models import AdminAccount
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, page, secret_of
from identity.web.deps import client_address

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]


@router.get("/admin/account")
def account_page(request: Request, admin: AdminDep) -> Response:
    return _page(request, admin)


@router.post("/admin/account/totp")
def totp(
    request: Request, admin: AdminDep, csrf: FormText = "", offer: FormText = "",
    code: FormText = "",
) -> Response:  # fmt: skip
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _page(request, admin, error="This page had expired. Please try again.", status=400)
    if not offer:  # the first step: a new secret to put in the app
        return _page(request, admin, offer=accounts.totp_offer(admin, secret_of(request)))
    try:
        with transaction(engine_of(request)) as session:
            accounts.enable_totp(session=session, admin=admin, offer=offer, code=code,
                                 secret=secret_of(request),
                                 address=client_address(request))  # fmt: skip
    except accounts.AccountRefused as exc:
        again = ("", "", offer)  # the app has the secret already: the code again
        error = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        return _page(request, admin, offer=again, error=error, status=400)
    return RedirectResponse("/admin/account?totp=on", status_code=303)


def _page(
    request: Request,
    admin: Admin,
    *,
    offer: tuple[str, str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    with Session(engine_of(request)) as session:
        account = session.get(AdminAccount, admin.id)
        has_totp = account is not None and account.totp_secret_encrypted is not None
    context = {
        "has_totp": has_totp,
        "offer": offer,
        "turned_on": request.query_params.get("totp") == "on",
        "error": error,
    }
    return page(request, "account.html", context, admin=admin, status_code=status)
