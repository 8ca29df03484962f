"""Published agreement versions: list, read with their files, diff, export as one YAML file,
roll back to (as a new version), and import a whole set as a new version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from identity import errors
from identity.agreements import changes, versions
from identity.store.database import transaction
from identity.store.models import AgreementVersion
from identity.web.admin.api.auth import AUTH, CHANGE, ApiAdmin
from identity.web.admin.deps import Number, engine_of, validating
from identity.web.admin.schemas import ImportIn, VersionOut, VersionWithFiles
from identity.web.deps import SessionDep, SettingsDep, client_address
from identity.web.problems import responses

router = APIRouter()


@router.get("/versions", summary="Published versions, newest first", responses=responses(*AUTH))
def list_versions(session: SessionDep, admin: ApiAdmin) -> list[VersionOut]:
    return [VersionOut.of(v) for v in versions.newest_first(session)]


@router.get("/versions/{number}", summary="One version with its files",
            responses=responses(*AUTH, errors.NotFound))  # fmt: skip
def get_version(session: SessionDep, admin: ApiAdmin, number: Number) -> VersionWithFiles:
    return VersionWithFiles.with_files(_version(session, number))


class DiffResponse(Response):
    media_type = "text/x-diff"


class YamlResponse(Response):
    media_type = "application/yaml"


def text_answer(
    media_type: str, description: str, schema: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of a 200 that is text of ``media_type``."""
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


#: what an exported version holds once read as YAML (each entry as in an agreement file)
AGREEMENT_FILE = {
    "type": "object",
    "required": ["libraries", "agreements"],
    "properties": {
        "libraries": {"type": "array", "items": {"type": "object"}},
        "agreements": {"type": "array", "items": {"type": "object"}},
    },
}


@router.get("/versions/{old}/diff/{new}", summary="A unified diff of two versions",
            response_class=DiffResponse,
            responses={**text_answer(DiffResponse.media_type, "The diff, old to new",
                                              {"type": "string"}),
                       **responses(*AUTH, errors.NotFound)})  # fmt: skip
def diff(session: SessionDep, admin: ApiAdmin, old: Number, new: Number) -> DiffResponse:
    text = versions.diff(_version(session, old), _version(session, new))
    return DiffResponse(text)


@router.get("/versions/{number}/export", summary="One version as a single YAML file",
            response_class=YamlResponse,
            responses={**text_answer(YamlResponse.media_type, "The agreement file",
                                              AGREEMENT_FILE),
                       **responses(*AUTH, errors.NotFound)})  # fmt: skip
def export(session: SessionDep, admin: ApiAdmin, number: Number) -> YamlResponse:
    text = versions.export(_version(session, number))
    return YamlResponse(text, media_type=f"{YamlResponse.media_type}; charset=utf-8")


@router.post("/versions/{number}/rollback", status_code=201,
             summary="Publish an old version again, as a new version",
             responses=responses(*CHANGE))  # fmt: skip
def rollback(request: Request, admin: ApiAdmin, number: Number) -> VersionOut:
    with transaction(engine_of(request)) as session:
        version = changes.rollback(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        return VersionOut.of(version)


@router.post("/versions", status_code=201, summary="Import a whole set as a new version",
             responses=responses(*CHANGE))  # fmt: skip
async def import_set(
    request: Request, admin: ApiAdmin, settings: SettingsDep, body: ImportIn
) -> VersionOut:
    files = [(f.name, f.text) for f in body.files]
    address = client_address(request)

    def publish() -> VersionOut:
        with transaction(engine_of(request)) as session:
            version = changes.import_set(session=session, admin=admin, files=files,
                                         note=body.note, address=address,
                                         limits=settings.agreement_limits())  # fmt: skip
            return VersionOut.of(version)

    return await validating(request, publish)


def _version(session: Session, number: int) -> AgreementVersion:
    version = session.get(AgreementVersion, number)
    if version is None:
        raise errors.NotFound(f"There is no published version {number}.")
    return version
