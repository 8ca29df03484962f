"""``/admin/versions``: the published agreement versions; one version's files; a unified diff of
two; and one version exported as a single YAML file that ``hub agreements check`` accepts.
Every administrator may read them: a version is the whole consortium's published set."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session, col, select
from starlette.responses import Response

from identity.admin import versions
from identity.admin.accounts import Admin
from identity.models import AgreementVersion
from identity.web.admin.deps import AdminDep, engine_of, page

router = APIRouter(include_in_schema=False)


@router.get("/admin/versions")
def list_versions(request: Request, admin: AdminDep) -> Response:
    with Session(engine_of(request)) as session:
        found = list(
            session.exec(select(AgreementVersion).order_by(col(AgreementVersion.id).desc()))
        )
    return page(request, "versions.html", {"versions": found}, admin=admin)


@router.get("/admin/versions/{number}")
def show_version(request: Request, admin: AdminDep, number: int) -> Response:
    with Session(engine_of(request)) as session:
        version = session.get(AgreementVersion, number)
        previous = session.exec(
            select(AgreementVersion.id)
            .where(col(AgreementVersion.id) < number)
            .order_by(col(AgreementVersion.id).desc())
            .limit(1)
        ).first()
    if version is None:
        return _missing(request, admin, number)
    return page(request, "version.html", {"version": version, "previous": previous}, admin=admin)


@router.get("/admin/versions/{old}/diff/{new}")
def diff_versions(request: Request, admin: AdminDep, old: int, new: int) -> Response:
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
def export_version(request: Request, admin: AdminDep, number: int) -> Response:
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


def _missing(request: Request, admin: Admin, number: int) -> Response:
    context = {"title": "No such version", "message": f"There is no published version {number}."}
    return page(request, "problem.html", context, admin=admin, status_code=404)
