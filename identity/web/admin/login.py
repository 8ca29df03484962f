"""``/admin/login``, ``/admin/logout`` and ``/admin``, the administrators' home page.

Sign-in, in order: CSRF token; email and password given; the guessing limits for the account
(``guessing.card_key(secret, "admin", email)``) and the address, counted before the password is
checked; password (an unknown email costs the same hash verification) and, for an account with
TOTP, a code not used before. Every failure gets one message, which does not say what was
wrong. Success starts a new server-side session and is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session, select
from starlette.responses import RedirectResponse, Response

from identity import audit, guessing
from identity.admin import accounts, sessions
from identity.db import transaction
from identity.models import AdminAccount
from identity.settings import Settings
from identity.web import pages
from identity.web.admin.deps import (
    AdminDep,
    cookie_name,
    engine_of,
    page,
    safe_next,
    secret_of,
)

router = APIRouter(include_in_schema=False)

WRONG = "The email address, password or code is not right. Check them and try again."
EXPIRED = "This page had expired. Please sign in again."

FormText = Annotated[str, Form()]


@router.get("/admin")
def home(request: Request, admin: AdminDep) -> Response:
    return page(request, "home.html", {}, admin=admin)


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
    engine = engine_of(request)
    settings: Settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    limits = guessing.Limits.parse(settings.guesses_per_card, settings.guesses_per_address)
    try:
        attempt = guessing.begin(
            engine=engine,
            key=guessing.card_key(secret, "admin", email),
            address=address,
            limits=limits,
        )
    except guessing.TooManyAttempts as exc:
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
    token = None
    try:
        with transaction(engine) as session:
            account = accounts.authenticate(
                session=session, email=email, password=password, code=code, secret=secret
            )
            if account is not None:
                token = sessions.start(session=session, account=account)
                _record(session, "admin.sign-in", account, address)
            else:
                known = session.exec(select(AdminAccount).where(AdminAccount.email == email))
                for refused in known:  # failures of a real account are worth knowing about
                    _record(session, "admin.sign-in-refused", refused, address)
    finally:
        guessing.finish(engine=engine, attempt=attempt, success=token is not None)
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
    address = request.client.host if request.client else "unknown"
    with transaction(engine_of(request)) as session:
        sessions.end(session=session, token=request.cookies.get(cookie_name(request), ""))
        account = session.get(AdminAccount, admin.id)
        if account is not None:
            _record(session, "admin.sign-out", account, address)
    response = RedirectResponse("/admin/login?signed_out=1", status_code=303)
    response.delete_cookie(
        cookie_name(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _record(session: Session, action: str, account: AdminAccount, address: str) -> None:
    audit.record(
        session=session,
        actor=f"admin:{account.email}",
        action=action,
        subject=f"admin:{account.email}",
        after={"library": account.library},
        address=address,
    )


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
    }
    return page(request, "login.html", context, status_code=status_code, headers=headers)
