"""Choosing a password without being signed in, through an emailed one-time link
(``identity.admin.links``): ``/admin/password/forgot`` asks for one (the answer is the same
whether or not the address is an administrator's), ``/admin/password/{token}`` chooses the
password (an invitation's link too). These pages take the small body limit of the sign-in
page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity.admin import links
from identity.settings import Settings
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import engine_of, page, secret_of
from identity.web.deps import client_address

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
EXPIRED = "This page had expired. Please try again."


@router.get("/admin/password/forgot")
def forgot(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    context = {"sent": False, "email": "", "mail_off": not settings.smtp_host}
    return page(request, "password_forgot.html", context)


@router.post("/admin/password/forgot")
def forgot_post(request: Request, csrf: FormText = "", email: FormText = "") -> Response:
    if not pages.csrf_ok(secret_of(request), request, csrf):
        context = {"sent": False, "email": email, "error": EXPIRED}
        return page(request, "password_forgot.html", context, status_code=400)
    with transaction(engine_of(request)) as session:
        links.request_reset(session=session, email=email, secret=secret_of(request),
                            address=client_address(request))  # fmt: skip
    return page(request, "password_forgot.html", {"sent": True, "email": email.strip()})


@router.get("/admin/password/{token}")
def choose(request: Request, token: str) -> Response:
    return _choose(request, token)


@router.post("/admin/password/{token}")
def choose_post(
    request: Request, token: str, csrf: FormText = "", password: FormText = "",
    again: FormText = "",
) -> Response:  # fmt: skip
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _choose(request, token, error=EXPIRED, status=400)
    if password != again:
        return _choose(request, token, error="The two passwords are not the same.", status=400)
    try:
        with transaction(engine_of(request)) as session:
            links.set_password(session=session, token=token, password=password,
                               address=client_address(request))  # fmt: skip
    except links.LinkRefused as exc:
        return _choose(request, token, error=str(exc), status=400)
    return RedirectResponse("/admin/login?password_set=1", status_code=303)


def _choose(request: Request, token: str, *, error: str = "", status: int = 200) -> Response:
    with Session(engine_of(request)) as session:
        try:
            account = links.account_of(session=session, token=token)
        except links.LinkRefused as exc:
            context = {"email": "", "gone": str(exc), "minimum": links.PASSWORD_MIN}
            return page(request, "password_choose.html", context, status_code=404)
        context = {"email": account.email, "gone": "", "error": error,
                   "minimum": links.PASSWORD_MIN}  # fmt: skip
    return page(request, "password_choose.html", context, status_code=status)
