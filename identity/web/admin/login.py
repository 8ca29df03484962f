"""``/admin/login``, ``/admin/logout`` and ``/admin``, the administrators' home page.

Sign-in checks the CSRF token and that email and password are given, then signs in with
``identity.admin.signin`` (guessing limits, password, TOTP). Every failure gets one message,
which does not say what was wrong.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity.admin import auditlog, sessions, signin
from identity.agreements import queries
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import AdminAccount
from identity.web import pages
from identity.web.admin.deps import AdminDep, cookie_name, engine_of, page, safe_next, secret_of
from identity.web.deps import client_address

router = APIRouter(include_in_schema=False)

WRONG = "The email address, password or code is not right. Check them and try again."
EXPIRED = "This page had expired. Please sign in again."

FormText = Annotated[str, Form()]


@router.get("/admin")
def home(request: Request, admin: AdminDep) -> Response:
    """What waits for this administrator, and the latest changes they may see."""
    with Session(engine_of(request)) as session:
        context = {
            "awaiting": queries.awaiting_me(session, admin),
            "mine": [p for p in queries.proposals(session, admin)
                     if p.proposer_library == admin.library and not admin.consortium],
            "recent": auditlog.events(session=session, admin=admin, limit=10,
                                      filters=auditlog.Filters()),
        }  # fmt: skip
    return page(request, "home.html", context, admin=admin)


@router.get("/admin/login")
def login(request: Request, next: str = "") -> Response:
    return _login_page(request, next=next)


@router.post("/admin/login")
def login_post(
    request: Request,
    email: FormText = "",
    password: FormText = "",
    code: FormText = "",
    csrf: FormText = "",
    next: FormText = "",
) -> Response:
    secret = secret_of(request)
    email = email.strip().lower()
    if not pages.csrf_ok(secret, request, csrf):
        return _login_page(request, next=next, email=email, error=EXPIRED, status_code=400)
    if not email or not password:
        error = "Enter your email address and password."
        return _login_page(request, next=next, email=email, error=error, status_code=400)
    settings: Settings = request.app.state.settings
    address = client_address(request)
    try:
        token = signin.sign_in(
            engine=engine_of(request),
            settings=settings,
            email=email,
            password=password,
            code=code,
            address=address,
        )
    except signin.TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after / 60))
        error = f"Too many sign-in attempts. Please try again in about {minutes} minutes."
        return _login_page(
            request,
            next=next,
            email=email,
            error=error,
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if token is None:
        return _login_page(request, next=next, email=email, error=WRONG, status_code=400)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        cookie_name(request),
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/admin/logout")
def logout(request: Request, admin: AdminDep, csrf: FormText = "") -> Response:
    if not pages.csrf_ok(secret_of(request), request, csrf):
        error = "This page had expired. Please try signing out again."
        return page(request, "home.html", {"error": error}, admin=admin, status_code=400)
    address = client_address(request)
    with transaction(engine_of(request)) as session:
        sessions.end(session=session, token=request.cookies.get(cookie_name(request), ""))
        account = session.get(AdminAccount, admin.id)
        if account is not None:
            signin.record(session, "admin.sign-out", account, address)
    response = RedirectResponse("/admin/login?signed_out=1", status_code=303)
    response.delete_cookie(
        cookie_name(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _login_page(
    request: Request,
    *,
    next: str,
    email: str = "",
    error: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "next": safe_next(next),
        "email": email,
        "error": error,
        "signed_out": request.query_params.get("signed_out") == "1",
        "password_set": request.query_params.get("password_set") == "1",
    }
    return page(request, "login.html", context, status_code=status_code, headers=headers)
