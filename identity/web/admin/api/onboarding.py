"""Onboarding without a shell, as JSON: a library's OAuth clients (register, new secret, revoke
tokens, remove: ``identity.admin.clients``), its administrators (invite by email, remove:
``identity.admin.links``) and its registry patrons (a CSV body, all or nothing:
``identity.patrons.registry_import``). Who may do what is ``rules.check_may_administer``; each
change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from identity import errors
from identity.admin import accounts, clients, links
from identity.agreements import rules
from identity.patrons import registry_import
from identity.store.database import transaction
from identity.store.models import OAuthClient, as_utc
from identity.web.admin import team
from identity.web.admin.api.auth import AUTH, ApiAdmin
from identity.web.admin.deps import engine_of, in_force, secret_of
from identity.web.deps import SessionDep, client_address
from identity.web.problems import responses

router = APIRouter()
CHANGE = (*AUTH, errors.NotPermitted, errors.NotFound)


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    library: str | None = Field(default=None, max_length=64,
                                description="yours, for a library administrator")  # fmt: skip
    kind: Literal["rp", "partner"]
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    public: bool = False
    card_number: bool = False


class ClientOut(BaseModel):
    client_id: str
    library: str
    kind: str
    public: bool
    scopes: list[str]
    redirect_uris: list[str]
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, row: OAuthClient) -> ClientOut:
        return cls(client_id=row.client_id, library=row.library, kind=row.kind,
                   public=row.secret_sha256 is None, scopes=list(row.scopes),
                   redirect_uris=list(row.redirect_uris), created_at=as_utc(row.created_at),
                   disabled=row.disabled_at is not None)  # fmt: skip


class Credentials(BaseModel):
    client_id: str
    client_secret: str | None = Field(description="shown this once; the hub keeps its hash")


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    library: str | None = Field(default=None, max_length=64,
                                description="none: a consortium administrator")  # fmt: skip


class AdministratorOut(BaseModel):
    email: str
    library: str | None
    totp: bool


class ImportOut(BaseModel):
    added: int
    updated: int
    not_in_file: int


@router.get("/clients", summary="The OAuth clients you manage", responses=responses(*AUTH))
def list_clients(
    session: SessionDep, admin: ApiAdmin, library: str | None = None
) -> list[ClientOut]:
    return [ClientOut.of(c) for c in clients.visible(session=session, admin=admin,
                                                     library=library)]  # fmt: skip


@router.post("/clients", status_code=201, summary="Register a client (its secret shown once)",
             responses=responses(*CHANGE, errors.InvalidRequest))  # fmt: skip
def register(request: Request, admin: ApiAdmin, body: ClientIn) -> Credentials:
    with transaction(engine_of(request)) as session:
        made = clients.register(
            session=session,
            admin=admin,
            library=body.library or admin.library or "",
            libraries=set(in_force(request, session).libraries),
            kind=body.kind,
            redirect_uris=body.redirect_uris,
            post_logout_redirect_uris=body.post_logout_redirect_uris,
            public=body.public,
            card_number=body.card_number,
        )
    return Credentials(client_id=made.client_id, client_secret=made.client_secret)


@router.post("/clients/{client_id}/rotate-secret", summary="A new secret; old tokens end",
             responses=responses(*CHANGE, errors.Conflict))  # fmt: skip
def rotate(request: Request, admin: ApiAdmin, client_id: str) -> Credentials:
    with transaction(engine_of(request)) as session:
        secret = clients.rotate_secret(session=session, admin=admin, client_id=client_id)
    return Credentials(client_id=client_id, client_secret=secret)


@router.post("/clients/{client_id}/revoke", status_code=204,
             summary="End every token the client holds, at once",
             responses=responses(*CHANGE))  # fmt: skip
def revoke(request: Request, admin: ApiAdmin, client_id: str) -> Response:
    with transaction(engine_of(request)) as session:
        clients.revoke_tokens(session=session, admin=admin, client_id=client_id)
    return Response(status_code=204)


@router.delete("/clients/{client_id}", status_code=204, summary="Remove a client",
               responses=responses(*CHANGE))  # fmt: skip
def remove_client(request: Request, admin: ApiAdmin, client_id: str) -> Response:
    with transaction(engine_of(request)) as session:
        clients.remove(session=session, admin=admin, client_id=client_id)
    return Response(status_code=204)


@router.get("/administrators", summary="The administrators you manage",
            responses=responses(*AUTH))  # fmt: skip
def list_administrators(session: SessionDep, admin: ApiAdmin) -> list[AdministratorOut]:
    return [
        AdministratorOut(
            email=a.email, library=a.library, totp=a.totp_secret_encrypted is not None
        )  # fmt: skip
        for a in accounts.accounts(session=session)
        if admin.consortium or a.library == admin.library
    ]


@router.post("/administrators", status_code=201,
             summary="Invite an administrator: an emailed link to choose a password",
             responses=responses(*CHANGE, errors.InvalidRequest, errors.Conflict))  # fmt: skip
def invite(request: Request, admin: ApiAdmin, body: InviteIn) -> AdministratorOut:
    if not team.mail_on(request):
        raise errors.Conflict(team.NO_MAIL)
    library = body.library if admin.consortium else (body.library or admin.library)
    # a library administrator naming another library is refused by ``rules``
    try:
        with transaction(engine_of(request)) as session:
            if library is not None and library not in in_force(request, session).libraries:
                raise errors.InvalidRequest(f"There is no library {library!r} in the agreements.")
            made = links.invite(session=session, inviter=admin, email=body.email,
                                library=library, secret=secret_of(request),
                                address=client_address(request))  # fmt: skip
    except accounts.AccountRefused as exc:
        raise errors.InvalidRequest(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    return AdministratorOut(email=made.email, library=made.library, totp=False)


@router.delete("/administrators/{email}", status_code=204, summary="Remove an administrator",
               responses=responses(*CHANGE, errors.Conflict))  # fmt: skip
def remove_administrator(request: Request, admin: ApiAdmin, email: str) -> Response:
    with transaction(engine_of(request)) as session:
        links.remove(session=session, admin=admin, email=email, address=client_address(request))
    return Response(status_code=204)


@router.post("/libraries/{library_id}/patrons", summary="Import registry patrons from CSV",
             openapi_extra={"requestBody": {"content": {"text/csv": {}}, "required": True}},
             responses=responses(*CHANGE, errors.InvalidRequest))  # fmt: skip
async def import_patrons(request: Request, admin: ApiAdmin, library_id: str) -> ImportOut:
    """The body is the CSV file (``Content-Type: text/csv``); every row is checked first and
    one bad row means nothing is imported (``invalid-request``, with ``rows``: each problem's
    line and reason)."""
    rules.check_may_administer(admin, library_id, "patrons")
    with Session(engine_of(request)) as session:
        libraries = in_force(request, session).libraries
    library = libraries.get(library_id)
    if library is None or library.connector.kind != "registry":
        raise errors.InvalidRequest(f"{library_id} is not a library whose patrons the hub "
                                    "holds (connector registry).")  # fmt: skip
    try:
        checked = registry_import.read_text(await request.body(), library)
    except registry_import.ImportRefused as exc:
        raise errors.InvalidRequest(f"The file cannot be imported: {exc}.") from None
    if checked.rejected or not checked.rows:
        rows = [{"line": line, "reason": reason} for line, reason in checked.rejected]
        raise errors.InvalidRequest(
            f"{len(rows)} rows have a problem; nothing was imported." if rows
            else "The file has no patrons; nothing was imported.", rows=rows)  # fmt: skip
    hashes = await anyio.to_thread.run_sync(registry_import.hash_pins, checked.rows)
    with transaction(engine_of(request)) as session:
        result = registry_import.import_rows(session=session, library=library_id,
                                             rows=checked.rows, hashes=hashes,
                                             actor=admin.actor)  # fmt: skip
    return ImportOut(added=result.added, updated=result.updated, not_in_file=result.not_in_file)
