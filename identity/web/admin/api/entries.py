"""Libraries and agreements: list, read (with the YAML of the entry), add, change and remove;
a change is published, or proposed when another party must approve it (202)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.openapi.models import Example

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import changes, entries, minifile, queries
from identity.store.database import transaction
from identity.web.admin.api.auth import AUTH, CHANGE_ANSWERS, ApiAdmin
from identity.web.admin.deps import engine_of
from identity.web.admin.schemas import (
    EXAMPLES,
    EntryIn,
    EntryOut,
    EntryWithYaml,
    Pending,
    ProposalOut,
    Published,
    Section,
)
from identity.web.deps import SessionDep, client_address
from identity.web.problems import responses

router = APIRouter()


def entry_body(section: Section) -> Any:
    """``EntryIn`` with the example of ``section``."""
    example: Example = {"summary": f"A new {section} entry", "value": EXAMPLES[section]}
    return Body(openapi_examples={"new": example})


def _entry_routes(section: Section, path: str) -> None:
    singular = "library" if section == "libraries" else "agreement"
    example = entry_body(section)

    @router.get(f"/{path}", summary=f"List the {section} in force", responses=responses(*AUTH),
                name=f"list_{section}")  # fmt: skip
    def list_entries(
        session: SessionDep, admin: ApiAdmin, library: str | None = None
    ) -> list[EntryOut]:
        found = queries.visible_entries(session, admin, section, library)
        return [EntryOut.of(admin, section, e) for e in found]

    @router.get(f"/{path}/{{entry_id}}", summary=f"One {singular}, with its YAML",
                responses=responses(*AUTH, errors.NotFound), name=f"get_{singular}")  # fmt: skip
    def get_entry(session: SessionDep, admin: ApiAdmin, entry_id: str) -> EntryWithYaml:
        _, files = queries.current_files(session)
        found = entries.find(files, section, entry_id)
        if found is None:
            raise errors.NotFound(f"There is no {singular} {entry_id}.")
        listed = EntryOut.of(admin, section, found).model_dump()
        return EntryWithYaml(**listed, yaml=minifile.editable(files, section, entry_id))

    @router.post(f"/{path}", summary=f"Add a {singular} (published, or proposed)",
                 status_code=201, responses=CHANGE_ANSWERS, name=f"add_{singular}")  # fmt: skip
    def add_entry(
        request: Request, admin: ApiAdmin, response: Response, body: EntryIn = example
    ) -> Published | Pending:
        return _change(request, admin, response, section, None, body.yaml, body.note)

    @router.put(f"/{path}/{{entry_id}}", summary=f"Change a {singular} (published, or proposed)",
                responses=CHANGE_ANSWERS, name=f"change_{singular}")  # fmt: skip
    def change_entry(
        request: Request,
        admin: ApiAdmin,
        entry_id: str,
        response: Response,
        body: EntryIn = example,
    ) -> Published | Pending:
        return _change(request, admin, response, section, entry_id, body.yaml, body.note)

    @router.delete(f"/{path}/{{entry_id}}", summary=f"Remove a {singular} (or propose to)",
                   responses=CHANGE_ANSWERS, name=f"remove_{singular}")  # fmt: skip
    def remove_entry(
        request: Request,
        admin: ApiAdmin,
        entry_id: str,
        response: Response,
        note: Annotated[str, Query(max_length=changes.NOTE_LIMIT)] = "",
    ) -> Published | Pending:
        return _change(request, admin, response, section, entry_id, None, note or None)


_entry_routes("libraries", "libraries")
_entry_routes("agreements", "agreements")


def _change(
    request: Request,
    admin: Admin,
    response: Response,
    section: Section,
    entry_id: str | None,
    text: str | None,
    note: str | None,
) -> Published | Pending:
    with transaction(engine_of(request)) as session:
        outcome = changes.change(
            session=session,
            admin=admin,
            section=section,
            entry_id=entry_id,
            text=text,
            note=note,
            address=client_address(request),
        )
        if outcome.version is not None:
            assert outcome.version.id is not None
            response.status_code = 201 if entry_id is None else 200
            return Published(version=outcome.version.id)
        assert outcome.proposal is not None
        response.status_code = 202
        return Pending(proposal=ProposalOut.of(admin, outcome.proposal))
