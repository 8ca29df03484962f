"""``/admin/versions``: the published agreement versions; one version's files; a unified diff of
two; one version exported as a single YAML file that ``hub agreements check`` accepts. Every
administrator may read them: a version is the whole consortium's published set. A consortium
administrator may also roll back to a version (published again as a new one) and import files
as a new version (``identity.agreements.changes``), each first shown with what it would change
and made by a second request that confirms it (``identity.agreements.confirming``)."""

from __future__ import annotations

from base64 import b64decode, b64encode
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import changes, confirming, versions
from identity.settings import Settings
from identity.store.database import lock, transaction
from identity.store.models import AgreementVersion
from identity.web import pages
from identity.web.admin.deps import (
    AdminDep,
    Number,
    engine_of,
    page,
    problem_page,
    secret_of,
    validating,
)
from identity.web.deps import client_address

FormText = Annotated[str, Form()]
EXPIRED = "This page had expired. Please try again."
STALE = (
    "The agreements in force changed since you were shown what this does. Nothing was "
    "published: here is what it does now."
)

router = APIRouter(include_in_schema=False)


@router.get("/admin/versions")
def list_versions(request: Request, admin: AdminDep) -> Response:
    return _list(request, admin)


def _list(
    request: Request, admin: Admin, *, error: str = "", problems: object = (), status: int = 200
) -> Response:
    with Session(engine_of(request)) as session:
        found = versions.newest_first(session)
    context = {"versions": found, "error": error, "problems": problems}
    return page(request, "versions.html", context, admin=admin, status_code=status)


@router.post("/admin/versions/import")
async def import_files(
    request: Request,
    admin: AdminDep,
    files: Annotated[list[UploadFile], File()],
    note: FormText = "",
    csrf: FormText = "",
) -> Response:
    """What publishing the uploaded YAML files as the whole new set would change, to confirm
    (consortium administrators): nothing is published yet."""
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _list(request, admin, error=EXPIRED, status=400)
    sources: list[tuple[str, str]] = []
    for upload in files:
        data = await upload.read()
        try:
            sources.append((upload.filename or "upload.yaml", data.decode("utf-8-sig")))
        except UnicodeDecodeError:
            return _list(request, admin, error=f"{upload.filename} is not UTF-8 text.", status=422)
    return await _import(request, admin, sources, note, confirm="")


@router.post("/admin/versions/import/confirm")
async def confirm_import(
    request: Request,
    admin: AdminDep,
    name: Annotated[list[str], Form()],
    text: Annotated[list[str], Form()],
    note: FormText = "",
    csrf: FormText = "",
    confirm: FormText = "",
) -> Response:
    """Publish the files shown with their what-if (each text in base64, so that the browser
    changes none of its line endings), if ``confirm`` still matches the set in force."""
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _list(request, admin, error=EXPIRED, status=400)
    try:
        sources = [
            (n, b64decode(t, validate=True).decode()) for n, t in zip(name, text, strict=True)
        ]
    except ValueError:
        return _list(request, admin, error="The files were not sent back whole: import them again.",
                     status=400)  # fmt: skip
    return await _import(request, admin, sources, note, confirm=confirm)


async def _import(
    request: Request, admin: Admin, sources: list[tuple[str, str]], note: str, *, confirm: str
) -> Response:
    address, secret = client_address(request), secret_of(request)
    settings: Settings = request.app.state.settings
    limits = settings.agreement_limits()

    def publish() -> int | confirming.Preview | None:
        with transaction(engine_of(request)) as session:
            lock(session, "agreements")  # so that what was confirmed is what is replaced
            if not confirming.confirmed(session, secret, "import", sources, confirm):
                return confirming.import_set(session, admin, sources, secret=secret,
                                             on=date.today(), limits=limits)  # noqa: DTZ011  # fmt: skip
            version = changes.import_set(session=session, admin=admin, files=sources,
                                         note=note.strip() or None, address=address,
                                         limits=limits)  # fmt: skip
            return version.id

    try:
        done = await validating(request, publish)
    except errors.Problem as problem:
        return _refused(request, admin, problem)
    if isinstance(done, confirming.Preview):
        encoded = [(n, b64encode(t.encode()).decode()) for n, t in sources]
        context = {"kind": "import", "preview": done, "files": encoded, "note": note}
        return _confirm_page(request, admin, context, stale=bool(confirm))
    return RedirectResponse(f"/admin/versions/{done}", status_code=303)


@router.post("/admin/versions/{number}/rollback")
def rollback(
    request: Request, admin: AdminDep, number: Number, csrf: FormText = "", confirm: FormText = ""
) -> Response:
    """Without ``confirm``, what rolling back to version ``number`` would change, to confirm;
    with it (still matching the set in force), the rollback."""
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _list(request, admin, error=EXPIRED, status=400)
    address, secret = client_address(request), secret_of(request)
    try:
        with transaction(engine_of(request)) as session:
            lock(session, "agreements")
            old, preview = confirming.rollback(session, admin, number, secret=secret,
                                               on=date.today())  # noqa: DTZ011  # fmt: skip
            files = [(f["name"], f["text"]) for f in old.files]
            if not confirming.confirmed(session, secret, "rollback", files, confirm):
                context = {"kind": "rollback", "preview": preview, "version": old}
                return _confirm_page(request, admin, context, stale=bool(confirm))
            version = changes.rollback(session=session, admin=admin, number=number,
                                       address=address)  # fmt: skip
            made = version.id
    except errors.Problem as problem:
        return _refused(request, admin, problem)
    return RedirectResponse(f"/admin/versions/{made}", status_code=303)


def _confirm_page(
    request: Request, admin: Admin, context: dict[str, object], *, stale: bool
) -> Response:
    """The what-if of a rollback or an import, with the form that confirms it; ``stale``: a
    confirmation came for a set no longer in force (409), shown what it does now."""
    error = STALE if stale else ""
    return page(request, "confirm.html", {**context, "error": error}, admin=admin,
                status_code=409 if stale else 200)  # fmt: skip


@router.get("/admin/versions/{number}")
def show_version(request: Request, admin: AdminDep, number: Number) -> Response:
    with Session(engine_of(request)) as session:
        version = session.get(AgreementVersion, number)
        previous = session.exec(
            select(AgreementVersion.id)
            .where(col(AgreementVersion.id) < number)
            .order_by(col(AgreementVersion.id).desc())
            .limit(1)
        ).first()
        newest = session.exec(select(func.max(AgreementVersion.id))).one()
    if version is None:
        return _missing(request, admin, number)
    context = {"version": version, "previous": previous, "current": newest == number}
    return page(request, "version.html", context, admin=admin)


@router.get("/admin/versions/{old}/diff/{new}")
def diff_versions(request: Request, admin: AdminDep, old: Number, new: Number) -> Response:
    with Session(engine_of(request)) as session:
        before, after = session.get(AgreementVersion, old), session.get(AgreementVersion, new)
    if before is None:
        return _missing(request, admin, old)
    if after is None:
        return _missing(request, admin, new)
    text = versions.diff(before, after)
    context = {"old": before, "new": after, "lines": text.splitlines()}
    return page(request, "diff.html", context, admin=admin)


@router.get("/admin/versions/{number}/export")
def export_version(request: Request, admin: AdminDep, number: Number) -> Response:
    with Session(engine_of(request)) as session:
        version = session.get(AgreementVersion, number)
    if version is None:
        return _missing(request, admin, number)
    return Response(
        versions.export(version),
        media_type="application/yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="agreements-version-{number}.yaml"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _refused(request: Request, admin: Admin, problem: errors.Problem) -> Response:
    """The list of versions again, saying why nothing was published (with the files'
    problems), in the problem's status; a page of its own when there is no such version."""
    if isinstance(problem, errors.NotFound):
        return problem_page(request, admin, problem, title="No such version")
    if isinstance(problem, errors.InvalidAgreements):
        error = "Nothing was published: the files have problems."
        return _list(request, admin, error=error, problems=problem.problems, status=422)
    return _list(request, admin, error=problem.detail, status=problem.status)


def _missing(request: Request, admin: Admin, number: int) -> Response:
    missing = errors.NotFound(f"There is no published version {number}.")
    return _refused(request, admin, missing)
