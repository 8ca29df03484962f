"""The admin API, ``/api/v1/admin/...``: what the ``/admin`` pages do, as JSON for scripts.

An administrator signs in with ``POST /api/v1/admin/sessions`` (email, password, TOTP code:
the same checks and guessing limits as the sign-in page) and sends the token it returns as
``Authorization: Bearer``. A bearer token is never sent by a browser on its own, so these
endpoints need no CSRF token; the session ends at ``DELETE /api/v1/admin/sessions/current``, after
30 minutes unused or 12 hours.

Entries are written as in agreement files: a change sends ``{"yaml": ...}``, a one-entry file
(``libraries:`` or ``agreements:`` with one item), and is checked by the same loader as ``hub
agreements check``; problems come back as ``invalid-agreements`` with file, line and column.
Who may change what is decided in ``identity.agreements.changes``, for the pages and this API alike.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.openapi.models import Example
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

import policies
from identity import errors
from identity.admin import auditlog, connections, sessions, signin
from identity.admin.accounts import Admin
from identity.agreements import changes, entries, versions, whatif
from identity.store.database import transaction
from identity.store.models import AgreementVersion
from identity.web.admin.deps import Number, engine_of, in_force, validating
from identity.web.admin.schemas import (
    EXAMPLES,
    Approved,
    AuditEventOut,
    CheckIn,
    CheckOut,
    ConnectionIn,
    Decided,
    EntryIn,
    EntryOut,
    EntryWithYaml,
    FlipOut,
    ImportIn,
    MeOut,
    Pending,
    ProblemAt,
    ProposalOut,
    ProposalWithFlips,
    Published,
    Section,
    SessionOut,
    SignIn,
    VersionOut,
    VersionWithFiles,
)
from identity.web.deps import OAuthDep, SessionDep, SettingsDep, client_address
from identity.web.fields import Day
from identity.web.problems import responses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="admin session",
    description="A token from POST /api/v1/admin/sessions, sent as Authorization: Bearer.",
)


def api_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Admin:
    token = credentials.credentials.strip() if credentials else ""
    with Session(engine_of(request)) as session:
        admin = sessions.resume(session=session, token=token)
    if admin is None:
        raise errors.Unauthorized(
            "Sign in with POST /api/v1/admin/sessions and send the token as a Bearer token "
            "(sessions end after 30 minutes unused).",
            sent=bool(token),
        )
    return admin


ApiAdmin = Annotated[Admin, Depends(api_admin)]
AUTH = (errors.Unauthorized, errors.InvalidRequest)
CHANGE = (*AUTH, errors.NotPermitted, errors.NotFound, errors.Conflict, errors.InvalidAgreements)
#: a change another party must approve is proposed, not published
PROPOSED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Proposed: it waits for the other parties' approval", "model": Pending}
}
CHANGE_ANSWERS = {**responses(*CHANGE), **PROPOSED}


def entry_body(section: Section) -> Any:
    """``EntryIn`` with the example of ``section``."""
    example: Example = {"summary": f"A new {section} entry", "value": EXAMPLES[section]}
    return Body(openapi_examples={"new": example})


# --- sessions ------------------------------------------------------------------------------


@router.post(
    "/sessions",
    status_code=201,
    summary="Sign in: a session token for the admin API",
    responses=responses(errors.Unauthorized, errors.InvalidRequest, errors.RateLimited),
)
def sign_in(body: SignIn, request: Request, settings: SettingsDep) -> SessionOut:
    try:
        token = signin.sign_in(
            engine=engine_of(request),
            settings=settings,
            email=body.email,
            password=body.password,
            code=body.code,
            address=client_address(request),
        )
    except signin.TooManyAttempts as exc:
        raise errors.RateLimited(
            "Too many sign-in attempts.", retry_after=exc.retry_after
        ) from None
    if token is None:
        raise errors.Unauthorized("The email address, password or code is not right.")
    return SessionOut(
        token=token,
        idle_timeout_s=int(sessions.IDLE.total_seconds()),
        lifetime_s=int(sessions.LIFETIME.total_seconds()),
    )


@router.delete("/sessions/current", status_code=204, responses=responses(*AUTH))
def sign_out(
    request: Request,
    admin: ApiAdmin,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Response:
    with transaction(engine_of(request)) as session:
        sessions.end(session=session, token=credentials.credentials.strip() if credentials else "")
    return Response(status_code=204)


@router.get("/me", summary="Who is signed in", responses=responses(*AUTH))
def me(admin: ApiAdmin) -> MeOut:
    return MeOut(email=admin.email, library=admin.library, consortium=admin.consortium)


# --- libraries and agreements ----------------------------------------------------------------


def _entry_routes(section: Section, path: str) -> None:
    singular = "library" if section == "libraries" else "agreement"
    example = entry_body(section)

    @router.get(f"/{path}", summary=f"List the {section} in force", responses=responses(*AUTH),
                name=f"list_{section}")  # fmt: skip
    def list_entries(
        session: SessionDep, admin: ApiAdmin, library: str | None = None
    ) -> list[EntryOut]:
        found = changes.visible_entries(session, admin, section, library)
        return [EntryOut.of(admin, section, e) for e in found]

    @router.get(f"/{path}/{{entry_id}}", summary=f"One {singular}, with its YAML",
                responses=responses(*AUTH, errors.NotFound), name=f"get_{singular}")  # fmt: skip
    def get_entry(session: SessionDep, admin: ApiAdmin, entry_id: str) -> EntryWithYaml:
        _, files = changes.current_files(session)
        found = entries.find(files, section, entry_id)
        if found is None:
            raise errors.NotFound(f"There is no {singular} {entry_id}.")
        listed = EntryOut.of(admin, section, found).model_dump()
        return EntryWithYaml(**listed, yaml=entries.editable(files, section, entry_id))

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


@router.post(
    "/check",
    summary="Check a change without making it, and what it would flip",
    responses=responses(*AUTH, errors.NotPermitted, errors.NotFound),
)
def check(request: Request, session: SessionDep, admin: ApiAdmin, body: CheckIn) -> CheckOut:
    """The validator's problems for the set with this change (none: ``valid``), and, when it is
    valid, the (lender, home, category) decisions it would flip, as for a patron in good
    standing on ``on``."""
    after, problems = changes.preview(session, admin, body.section, body.id, body.yaml)
    on = body.on or date.today()  # noqa: DTZ011
    flipped = [] if after is None else whatif.counted(session, in_force(request, session),
                                                      after, on=on)  # fmt: skip
    return CheckOut(
        valid=not problems,
        problems=[ProblemAt.of(p) for p in problems],
        flips=[FlipOut.of(f) for f in flipped],
    )


@router.post(
    "/libraries/{library_id}/test-connection",
    summary="Ask a library's home system about a card",
    responses=responses(*CHANGE, errors.HomeLibraryUnavailable),
    response_model_exclude_unset=True,
)
async def test_connection(
    request: Request, admin: ApiAdmin, oauth: OAuthDep, library_id: str, body: ConnectionIn
) -> connections.Report:
    """Asks the connector of the library's published entry, or of the entry in ``yaml`` (before
    it is saved), about ``card`` (no PIN), and says what the home system answered."""
    if not admin.consortium and admin.library != library_id:
        raise errors.NotPermitted(
            f"Library {library_id} is not yours: you can test only your own library's "
            f"connection ({admin.library})."
        )
    library = await run_in_threadpool(_library_for_test, request, admin, library_id, body.yaml)
    return await connections.ask_about_card(
        library=library, card=body.card, gates=oauth.gates, engine=engine_of(request)
    )


def _library_for_test(
    request: Request, admin: Admin, library_id: str, text: str | None
) -> policies.Library:
    with Session(engine_of(request)) as session:
        if text is None:
            agreements: policies.Agreements | None = in_force(request, session)
            problems: list[policies.Problem] = []
        else:
            agreements, problems = changes.preview(session, admin, "libraries", library_id, text)
    if agreements is None:
        raise errors.InvalidAgreements(problems, detail="The library entry is not valid.")
    library = agreements.libraries.get(library_id)
    if library is None:
        raise errors.NotFound(f"There is no library {library_id}.")
    return library


# --- proposals -------------------------------------------------------------------------------


@router.get("/proposals", summary="Proposals you can see", responses=responses(*AUTH))
def list_proposals(
    session: SessionDep,
    admin: ApiAdmin,
    status: Literal["pending", "published", "rejected", "withdrawn", "all"] = "pending",
    library: str | None = None,
) -> list[ProposalOut]:
    found = changes.proposals(
        session, admin, status=None if status == "all" else status, library=library
    )
    return [ProposalOut.of(admin, p) for p in found]


@router.get(
    "/proposals/{number}",
    summary="One proposal, with what it would flip",
    responses=responses(*AUTH, errors.NotFound),
)
def get_proposal(
    request: Request, session: SessionDep, admin: ApiAdmin, number: Number
) -> ProposalWithFlips:
    proposal = changes.get_proposal(session, admin, number)
    on = date.today()  # noqa: DTZ011
    flips = whatif.of_proposal(session, proposal, in_force(request, session), on=on)
    listed = ProposalOut.of(admin, proposal).model_dump()
    return ProposalWithFlips(**listed, flips=[FlipOut.of(f) for f in flips])


@router.post("/proposals/{number}/approve", summary="Approve for your library",
             responses=responses(*CHANGE))  # fmt: skip
def approve(request: Request, admin: ApiAdmin, number: Number) -> Approved:
    with transaction(engine_of(request)) as session:
        outcome = changes.approve(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        assert outcome.proposal is not None
        return Approved(
            proposal=ProposalOut.of(admin, outcome.proposal),
            version=outcome.version.id if outcome.version else None,
        )


@router.post("/proposals/{number}/reject", summary="Reject", responses=responses(*CHANGE))
def reject(request: Request, admin: ApiAdmin, number: Number) -> Decided:
    with transaction(engine_of(request)) as session:
        proposal = changes.reject(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        return Decided(proposal=ProposalOut.of(admin, proposal))


@router.post("/proposals/{number}/withdraw", summary="Withdraw your library's proposal",
             responses=responses(*CHANGE))  # fmt: skip
def withdraw(request: Request, admin: ApiAdmin, number: Number) -> Decided:
    with transaction(engine_of(request)) as session:
        proposal = changes.withdraw(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        return Decided(proposal=ProposalOut.of(admin, proposal))


# --- versions and audit ----------------------------------------------------------------------


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


@router.get("/audit", summary="The audit log as you may see it, newest first",
            responses=responses(*AUTH))  # fmt: skip
def audit_log(
    session: SessionDep,
    admin: ApiAdmin,
    action: str = "",
    actor: str = "",
    since: Day | None = None,
    until: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[AuditEventOut]:
    filters = auditlog.Filters(action, actor, since, until)
    found = auditlog.events(session=session, admin=admin, filters=filters, limit=limit)
    return [AuditEventOut.of(e) for e in found]


def _version(session: Session, number: int) -> AgreementVersion:
    version = session.get(AgreementVersion, number)
    if version is None:
        raise errors.NotFound(f"There is no published version {number}.")
    return version


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
