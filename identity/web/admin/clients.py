"""``/admin/clients``: a library's OAuth clients (its lenders' web apps, its partner systems),
registered, given a new secret, their tokens revoked or removed from the web, as ``hub clients``
does (``identity.admin.clients``). A new secret is shown once, on the answer to the form that
made it (never stored or shown again); the page is not cached."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin import clients
from identity.admin.accounts import Admin
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, problem_page, secret_of

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
EXPIRED = "This page had expired. Please try again."
DONE = {
    "revoke": "Every token of {id} is revoked: its sign-ins and API access end now.",
    "remove": "Removed {id}: its requests are refused and its tokens ended.",
}


@router.get("/admin/clients")
def list_page(request: Request, admin: AdminDep, library: str = "") -> Response:
    return _list(request, admin, library=library)


@router.post("/admin/clients")
def register(
    request: Request,
    admin: AdminDep,
    csrf: FormText = "",
    library: FormText = "",
    kind: FormText = "",
    redirect_uris: FormText = "",
    post_logout_redirect_uris: FormText = "",
    public: FormText = "",
    card_number: FormText = "",
) -> Response:
    form = {"library": library, "kind": kind, "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris, "public": bool(public),
            "card_number": bool(card_number)}  # fmt: skip
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _list(request, admin, form=form, error=EXPIRED, status=400)
    library = library.strip() or admin.library or ""  # another's is refused by the rules
    try:
        with transaction(engine_of(request)) as session:
            made = clients.register(
                session=session,
                admin=admin,
                library=library,
                libraries=set(in_force(request, session).libraries),
                kind=kind,
                redirect_uris=redirect_uris.split(),
                post_logout_redirect_uris=post_logout_redirect_uris.split(),
                public=bool(public),
                card_number=bool(card_number),
            )
    except errors.Problem as problem:
        return _list(request, admin, form=form, error=problem.detail, status=problem.status)
    return _secret(request, admin, made.client_id, made.client_secret, registered=True)


@router.post("/admin/clients/{client_id}/{verb}")
def change(
    request: Request, admin: AdminDep, client_id: str, verb: str, csrf: FormText = ""
) -> Response:
    if verb not in ("rotate-secret", "revoke", "remove"):
        return problem_page(request, admin, errors.NotFound("There is no such action."))
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _list(request, admin, error=EXPIRED, status=400)
    try:
        with transaction(engine_of(request)) as session:
            if verb == "rotate-secret":
                secret = clients.rotate_secret(session=session, admin=admin, client_id=client_id)
            elif verb == "revoke":
                clients.revoke_tokens(session=session, admin=admin, client_id=client_id)
            else:
                clients.remove(session=session, admin=admin, client_id=client_id)
    except errors.Problem as problem:
        return _list(request, admin, error=problem.detail, status=problem.status)
    if verb == "rotate-secret":
        return _secret(request, admin, client_id, secret, registered=False)
    return RedirectResponse(f"/admin/clients?done={verb}&client={client_id}", status_code=303)


def _secret(
    request: Request, admin: Admin, client_id: str, secret: str | None, *, registered: bool
) -> Response:
    context = {"client_id": client_id, "client_secret": secret, "registered": registered}
    return page(request, "client_secret.html", context, admin=admin)


def _list(
    request: Request,
    admin: Admin,
    *,
    library: str = "",
    form: dict[str, object] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    with Session(engine_of(request)) as session:
        libraries = sorted(in_force(request, session).libraries)
        rows = clients.visible(session=session, admin=admin, library=library or None)
    done = request.query_params.get("done", "")
    notice = DONE[done].format(id=request.query_params.get("client", "")) if done in DONE else ""
    context = {
        "clients": rows,
        "libraries": libraries,
        "library": library,
        "form": form or {"kind": "rp", "library": library or admin.library or ""},
        "notice": notice,
        "error": error,
    }
    return page(request, "clients.html", context, admin=admin, status_code=status)
