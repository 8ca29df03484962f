"""``/admin/patrons``: importing a registry library's patrons from an uploaded CSV file, as
``hub patrons import`` does and all or nothing: every row is checked first, and one bad row
means nothing is imported (the page lists each problem by line). A library administrator
imports their own library's patrons, a consortium administrator any registry library's
(``rules.check_may_administer``); the import is audited. The upload takes the admin body limit
(``HUB_MAX_ADMIN_BODY_BYTES``)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlmodel import Session
from starlette.responses import Response

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import rules
from identity.patrons import registry_import
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, secret_of

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
#: the problems listed on the page (all are counted)
SHOWN = 100


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
    try:
        with Session(engine_of(request)) as session:
            libraries = in_force(request, session).libraries
        rules.check_may_administer(admin, library, "patrons")
        if library not in libraries or libraries[library].connector.kind != "registry":
            raise errors.InvalidRequest(f"{library} is not a library whose patrons the hub "
                                        "holds (connector registry).")  # fmt: skip
        checked = registry_import.read_text(data, libraries[library])
    except registry_import.ImportRefused as exc:
        return _page(request, admin, library=library, status=422,
                     error=f"{file.filename}: {exc}; nothing imported.")  # fmt: skip
    except errors.Problem as problem:
        return _page(request, admin, library=library, error=problem.detail, status=problem.status)
    if checked.rejected or not checked.rows:
        count = len(checked.rejected)
        error = (f"{count} row{'s' if count != 1 else ''} of {file.filename} "
                 f"{'have' if count != 1 else 'has'} a problem; nothing was imported. "
                 "Correct the file and upload it again." if count
                 else f"{file.filename} has no patrons; nothing was imported.")  # fmt: skip
        return _page(request, admin, library=library, error=error, status=422,
                     problems=checked.rejected)  # fmt: skip
    hashes = await anyio.to_thread.run_sync(registry_import.hash_pins, checked.rows)
    with transaction(engine_of(request)) as session:
        result = registry_import.import_rows(session=session, library=library, rows=checked.rows,
                                             hashes=hashes, actor=admin.actor)  # fmt: skip
    return _page(request, admin, library=library, result=result, file=file.filename or "")


def _page(
    request: Request,
    admin: Admin,
    *,
    library: str = "",
    error: str = "",
    status: int = 200,
    problems: list[tuple[int, str]] | None = None,
    result: registry_import.Imported | None = None,
    file: str = "",
) -> Response:
    with Session(engine_of(request)) as session:
        found = in_force(request, session).libraries
    registry = sorted(name for name, lib in found.items() if lib.connector.kind == "registry"
                      and (admin.consortium or name == admin.library))  # fmt: skip
    context = {
        "registry": registry,
        "library": library or admin.library or "",
        "problems": (problems or [])[:SHOWN],
        "more": max(0, len(problems or []) - SHOWN),
        "result": result,
        "file": file,
        "error": error,
    }
    return page(request, "patrons.html", context, admin=admin, status_code=status)
