"""``/admin/patrons``: importing a registry library's patrons from an uploaded CSV file, as
``hub patrons import`` does and all or nothing: every row is checked first, and one bad row
means nothing is imported (the page lists each problem by line). A file that is not a patron
CSV at all is refused at once; otherwise the upload starts an import job
(``identity.patrons.import_jobs``) and the browser is sent to its page,
``/admin/patrons/imports/{job}``, which shows its progress (refreshing itself while it runs)
and then its outcome. A library administrator imports their own library's patrons and sees
their imports, a consortium administrator any registry library's
(``rules.check_may_administer``); the import is audited. The upload takes the admin body limit
(``HUB_MAX_ADMIN_BODY_BYTES``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import rules
from identity.patrons import import_jobs, registry_import
from identity.store.models import PatronImport
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, problem_page, secret_of

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
#: the import's page: its one script from /static, which asks for the page again
PROGRESS_CSP = pages.HEADERS["Content-Security-Policy"].replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
)


@router.get("/admin/patrons")
def import_page(request: Request, admin: AdminDep) -> Response:
    return _page(request, admin)


@router.post("/admin/patrons")
async def import_post(
    request: Request,
    admin: AdminDep,
    file: Annotated[UploadFile, File()],
    library: FormText = "",
    csrf: FormText = "",
) -> Response:
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _page(request, admin, error="This page had expired. Please try again.", status=400)
    library = library.strip() or admin.library or ""  # another's is refused by the rules
    data = await file.read()
    name = file.filename or "the file"
    try:
        with Session(engine_of(request)) as session:
            libraries = in_force(request, session).libraries
            rules.check_may_administer(admin, library, "patrons")
            if library not in libraries or libraries[library].connector.kind != "registry":
                raise errors.InvalidRequest(f"{library} is not a library whose patrons the hub "
                                            "holds (connector registry).")  # fmt: skip
            running = import_jobs.running_for(session, library)
        if running:
            return _page(request, admin, library=library, status=409, running=running,
                         error=f"An import into {library} is running; upload this file again "
                         "when it has finished.")  # fmt: skip
        lines = await anyio.to_thread.run_sync(registry_import.parse, data)
    except registry_import.ImportRefused as exc:
        return _page(request, admin, library=library, status=422,
                     error=f"{name}: {exc}; nothing imported.")  # fmt: skip
    except errors.Problem as problem:
        return _page(request, admin, library=library, error=problem.detail, status=problem.status)
    runner: import_jobs.Runner = request.app.state.imports
    start = partial(runner.start, library=libraries[library], actor=admin.actor)
    job = await anyio.to_thread.run_sync(partial(start, file=name, lines=lines))
    return RedirectResponse(f"/admin/patrons/imports/{job}", status_code=303)


@router.get("/admin/patrons/imports/{job}")
def job_page(request: Request, admin: AdminDep, job: str, updates: str = "") -> Response:
    """The job's progress, then its outcome. While it runs the page updates itself: by a
    script, or without one by a meta refresh every 2 seconds (``?updates=off``: none)."""
    with Session(engine_of(request)) as session:
        found = session.get(PatronImport, job) if len(job) <= 43 else None
    if found is None:
        problem = errors.NotFound("There is no such import (they are kept 30 days).")
        return problem_page(request, admin, problem, title="No such import")
    try:
        rules.check_may_administer(admin, found.library, "patrons")
    except errors.Problem as problem:
        return problem_page(request, admin, problem)
    shown = import_jobs.seen(found)
    context = {
        "job": shown,
        "running": shown.state in import_jobs.RUNNING,
        "refresh": shown.state in import_jobs.RUNNING and updates != "off",
        "more": max(0, shown.rejected - len(shown.problems)),
        "error": _problem(shown),
    }
    return page(request, "patrons_import.html", context, admin=admin,
                headers={"Content-Security-Policy": PROGRESS_CSP})  # fmt: skip


def _problem(job: PatronImport) -> str:
    if job.state == "failed":
        return job.message or "The import failed; nothing was imported."
    if job.state != "refused":
        return ""
    if not job.rejected:
        return f"{job.file} has no patrons; nothing was imported."
    many = job.rejected != 1
    return (f"{job.rejected:,} row{'s' if many else ''} of {job.file} {'have' if many else 'has'} "
            "a problem; nothing was imported. Correct the file and upload it again.")  # fmt: skip


def _page(
    request: Request,
    admin: Admin,
    *,
    library: str = "",
    error: str = "",
    status: int = 200,
    running: str = "",
) -> Response:
    with Session(engine_of(request)) as session:
        found = in_force(request, session).libraries
        registry = sorted(name for name, lib in found.items() if lib.connector.kind == "registry"
                          and (admin.consortium or name == admin.library))  # fmt: skip
        recent = [import_jobs.seen(job) for job in import_jobs.recent(session, registry)]
    context = {
        "registry": registry,
        "recent": recent,
        "library": library or admin.library or "",
        "running": running,
        "error": error,
    }
    return page(request, "patrons.html", context, admin=admin, status_code=status)
