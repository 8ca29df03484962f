"""Who is signed in (``AdminDep``), the session cookie, and the page helper every admin page
uses. A page asked for without a live session answers 303 to ``/admin/login?next=...``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi import Path as InPath
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

import policies
from identity import errors
from identity.admin import sessions
from identity.admin.accounts import Admin
from identity.settings import Settings
from identity.web import pages
from identity.web.deps import get_in_force

COOKIE = "hub_admin"
#: whole agreement sets (imports) are validated this many at a time, in threads of their own
VALIDATORS = 1
T = TypeVar("T")
STYLESHEET = Path(__file__).parent / "admin.css"


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page, and back here afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def cookie_name(request: Request) -> str:
    return f"__Host-{COOKIE}" if request.url.scheme == "https" else COOKIE


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def validating(request: Request, work: Callable[[], T]) -> T:
    """``work()`` (validating and publishing a whole agreement set: seconds for a large one) in
    a worker thread of a pool of its own, ``VALIDATORS`` threads: never on the event loop, and
    never holding the threads that serve every other request."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "validators", None)
    if limiter is None:
        limiter = request.app.state.validators = anyio.CapacityLimiter(VALIDATORS)
    return await anyio.to_thread.run_sync(work, limiter=limiter)


def secret_of(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret()


def current_admin(request: Request) -> Admin:
    token = request.cookies.get(cookie_name(request), "")
    with Session(engine_of(request)) as session:
        admin = sessions.resume(session=session, token=token)
    if admin is None:
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return admin


AdminDep = Annotated[Admin, Depends(current_admin)]
#: proposal and version numbers in paths (the database's integer: a larger one is refused, 422)
Number = Annotated[int, InPath(ge=1, le=2_147_483_647)]


def in_force(request: Request, session: Session) -> policies.Agreements:
    """The published set, as the running hub already holds it (``publishing.InForce``)."""
    return get_in_force(request).get(session=session)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: only a path of this hub's admin pages, never elsewhere."""
    if path and path.startswith("/admin") and "\\" not in path and not path.startswith("//"):
        return path
    return "/admin"


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    admin: Admin | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return pages.render(
        request,
        f"admin/{template}",
        {**context, "admin": admin},
        secret=secret_of(request),
        status_code=status_code,
        headers=headers,
    )


def problem_page(
    request: Request, admin: Admin, problem: errors.Problem, *, title: str = ""
) -> HTMLResponse:
    """A page of its own for ``problem``, in its status: how the admin pages show a problem that
    leaves no form to show again (no such entry, proposal or version). A problem with a form
    (refused, in conflict, not valid) is shown on that form by the page that has it."""
    context = {"title": title or problem.title, "message": problem.detail}
    return page(request, "problem.html", context, admin=admin, status_code=problem.status)


def install(app: FastAPI) -> None:
    async def on_sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        query = urlencode({"next": exc.next_path})
        return RedirectResponse(f"/admin/login?{query}", status_code=303)

    app.add_exception_handler(SignInRequired, on_sign_in_required)

    @app.get("/admin/admin.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(STYLESHEET, media_type="text/css")
