"""``/admin/desk``: desk tools for a home library's staff (``identity.admin.desk``). Staff pick
the library (from those they may serve) and type a card: its recent sign-in attempts and its
lock, with "Clear the lock". The card is posted (with the CSRF token), never put in the
address, so it stays out of access logs and browser history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import Response

import policies
from identity import errors
from identity.admin import desk
from identity.admin.accounts import Admin
from identity.security.guessing_limits import Limits
from identity.settings import Settings
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, secret_of
from identity.web.deps import client_address

FormText = Annotated[str, Form()]
EXPIRED = "This page had expired. Please try again."

router = APIRouter(include_in_schema=False)


def choices(admin: Admin, agreements: policies.Agreements) -> list[tuple[str, str]]:
    """The libraries ``admin`` may serve at the desk (and see lookups of), as (id, name), by
    name: every library for a consortium administrator, else their own."""
    found = agreements.libraries
    mine = [lib for lib in found.values() if admin.consortium or lib.id == admin.library]
    return [(lib.id, lib.name) for lib in sorted(mine, key=lambda lib: lib.name.casefold())]


@router.get("/admin/desk")
def desk_page(request: Request, admin: AdminDep) -> Response:
    return _show(request, admin, library=admin.library or "", typed="")


@router.post("/admin/desk")
def look_up(request: Request, admin: AdminDep, library: FormText = "", card: FormText = "",
            csrf: FormText = "") -> Response:  # fmt: skip
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _show(request, admin, library=library, typed=card, error=EXPIRED, status=400)
    return _show(request, admin, library=library, typed=card, looking=True)


@router.post("/admin/desk/unlock")
def unlock(request: Request, admin: AdminDep, library: FormText = "", card: FormText = "",
           csrf: FormText = "") -> Response:  # fmt: skip
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _show(request, admin, library=library, typed=card, error=EXPIRED, status=400)
    try:
        with transaction(engine_of(request)) as session:
            lib, number = desk.read(in_force(request, session), admin, library, card)
            desk.clear_lock(session, admin, library=lib, card=number, secret=secret_of(request),
                            limits=_limits(request), address=client_address(request))  # fmt: skip
    except errors.Problem as problem:
        return _show(request, admin, library=library, typed=card, error=problem.detail,
                     status=problem.status)  # fmt: skip
    return _show(request, admin, library=library, typed=card, looking=True, cleared=True)


def _limits(request: Request) -> Limits:
    settings: Settings = request.app.state.settings
    return Limits.parse(settings.guesses_per_card, settings.guesses_per_address)


def _show(
    request: Request,
    admin: Admin,
    *,
    library: str,
    typed: str,
    looking: bool = False,
    cleared: bool = False,
    error: str = "",
    status: int = 200,
) -> Response:
    library = admin.library or library
    found: desk.Card | None = None
    with Session(engine_of(request)) as session:
        agreements = in_force(request, session)
        if looking and not error:
            try:
                lib, number = desk.read(agreements, admin, library, typed)
                found = desk.look(session, agreements, library=lib, card=number,
                                  secret=secret_of(request), limits=_limits(request))  # fmt: skip
            except errors.Problem as problem:
                error, status = problem.detail, problem.status
    context = {
        "libraries": choices(admin, agreements),
        "library": library,
        "card": typed,
        "found": found,
        "cleared": cleared,
        "error": error,
        "field_error": bool(error) and error != EXPIRED,
    }
    return page(request, "desk.html", context, admin=admin, status_code=status)
