"""The admin API, ``/api/v1/admin/...``: what the ``/admin`` pages do, as JSON for scripts.

An administrator signs in with ``POST /api/v1/admin/sessions`` (email, password, TOTP code:
the same checks and guessing limits as the sign-in page) and sends the token it returns as
``Authorization: Bearer``. A bearer token is never sent by a browser on its own, so these
endpoints need no CSRF token; the session ends at ``DELETE /api/v1/admin/sessions/current``, after
30 minutes unused or 12 hours.

Entries are written as in agreement files: a change sends ``{"yaml": ...}``, a one-entry file
(``libraries:`` or ``agreements:`` with one item), and is checked by the same loader as ``hub
agreements check``; problems come back as ``invalid-agreements`` with file, line and column.
Who may change what is decided in ``identity.admin.changes``, for the pages and this API alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import Example
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

import policies
from identity import cards, errors
from identity.admin import auditlog, changes, entries, sessions, signin, versions, whatif
from identity.admin.accounts import Admin
from identity.connectors import HomeLibraryUnavailable
from identity.connectors.select import connector_for
from identity.db import transaction
from identity.models import AgreementVersion, Proposal, as_utc
from identity.oauth.server import HubServer
from identity.settings import Settings
from identity.web.admin.deps import Number, engine_of, validating
from identity.web.deps import client_address
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
Section = changes.Section
AUTH = (errors.Unauthorized, errors.InvalidRequest)
CHANGE = (*AUTH, errors.NotPermitted, errors.NotFound, errors.Conflict, errors.InvalidAgreements)
#: a change another party must approve is proposed, not published
PROPOSED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Proposed: it waits for the other parties' approval"}
}
CHANGE_ANSWERS = {**responses(*CHANGE), **PROPOSED}


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    code: str = Field(
        default="", max_length=16, description="the TOTP code, if the account has one"
    )


class EntryIn(BaseModel):
    """One entry as a one-entry agreement file, and a note for the version or proposal."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(max_length=200_000)
    note: str | None = Field(default=None, max_length=500)


#: an entry of each section, as the document's example of a change
EXAMPLES: dict[Section, dict[str, Any]] = {
    "agreements": {
        "yaml": "agreements:\n  - id: monash-latrobe-alumni\n    kind: bilateral\n"
                "    lender: monash\n    borrowers_from: [latrobe]\n    categories: [alumni]\n"
                "    terms: {max_items: 2, loan_days: 14}\n",
        "note": "Alumni of La Trobe may borrow at Monash",
    },
    "libraries": {
        "yaml": "libraries:\n  - id: acu\n    name: Australian Catholic University Library\n"
                "    card_prefixes: [\"2888\"]\n    categories: {UG: undergraduate}\n",
        "note": "ACU joins the network",
    },
}  # fmt: skip


def entry_body(section: Section) -> Any:
    """``EntryIn`` with the example of ``section``."""
    example: Example = {"summary": f"A new {section} entry", "value": EXAMPLES[section]}
    return Body(openapi_examples={"new": example})


class CheckIn(EntryIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**EXAMPLES["agreements"], "section": "agreements"}]}
    )

    section: Literal["libraries", "agreements"]
    id: str | None = Field(default=None, description="the entry changed; absent for a new one")
    on: Day | None = Field(default=None, description="the day the what-if decides on (today)")


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card: str = Field(min_length=1, max_length=4 * cards.MAX_CARD, description="read as at sign-in")
    yaml: str | None = Field(
        default=None, max_length=200_000, description="test these settings, not the published"
    )


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=50_000_000)


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[FileIn] = Field(min_length=1)
    note: str | None = Field(default=None, max_length=500)


# --- sessions ------------------------------------------------------------------------------


@router.post(
    "/sessions",
    status_code=201,
    summary="Sign in: a session token for the admin API",
    responses=responses(errors.Unauthorized, errors.InvalidRequest, errors.RateLimited),
)
def sign_in(body: SignIn, request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    address = client_address(request)
    try:
        token = signin.sign_in(
            engine=engine_of(request),
            settings=settings,
            email=body.email,
            password=body.password,
            code=body.code,
            address=address,
        )
    except signin.TooManyAttempts as exc:
        raise errors.RateLimited(
            "Too many sign-in attempts.", retry_after=exc.retry_after
        ) from None
    if token is None:
        raise errors.Unauthorized("The email address, password or code is not right.")
    return {
        "token": token,
        "token_type": "Bearer",
        "idle_timeout_s": int(sessions.IDLE.total_seconds()),
        "lifetime_s": int(sessions.LIFETIME.total_seconds()),
    }


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
def me(admin: ApiAdmin) -> dict[str, Any]:
    return {"email": admin.email, "library": admin.library, "consortium": admin.consortium}


# --- libraries and agreements ----------------------------------------------------------------


def _entry_routes(section: Section, path: str) -> None:
    singular = "library" if section == "libraries" else "agreement"
    example = entry_body(section)

    @router.get(f"/{path}", summary=f"List the {section} in force", responses=responses(*AUTH),
                name=f"list_{section}")  # fmt: skip
    def list_entries(request: Request, admin: ApiAdmin, library: str | None = None) -> Any:
        with Session(engine_of(request)) as session:
            found = changes.visible_entries(session, admin, section, library)
        return [_entry_out(admin, section, e) for e in found]

    @router.get(f"/{path}/{{entry_id}}", summary=f"One {singular}, with its YAML",
                responses=responses(*AUTH, errors.NotFound), name=f"get_{singular}")  # fmt: skip
    def get_entry(request: Request, admin: ApiAdmin, entry_id: str) -> Any:
        with Session(engine_of(request)) as session:
            _, files = changes.current_files(session)
        found = entries.find(files, section, entry_id)
        if found is None:
            raise errors.NotFound(f"There is no {singular} {entry_id}.")
        return {
            **_entry_out(admin, section, found),
            "yaml": entries.editable(files, section, entry_id),
        }

    @router.post(f"/{path}", summary=f"Add a {singular} (published, or proposed)",
                 status_code=201, responses=CHANGE_ANSWERS, name=f"add_{singular}")  # fmt: skip
    def add_entry(
        request: Request, admin: ApiAdmin, response: Response, body: EntryIn = example
    ) -> Any:
        return _change(request, admin, response, section, None, body.yaml, body.note)

    @router.put(f"/{path}/{{entry_id}}", summary=f"Change a {singular} (published, or proposed)",
                responses=CHANGE_ANSWERS, name=f"change_{singular}")  # fmt: skip
    def change_entry(
        request: Request,
        admin: ApiAdmin,
        entry_id: str,
        response: Response,
        body: EntryIn = example,
    ) -> Any:
        return _change(request, admin, response, section, entry_id, body.yaml, body.note)

    @router.delete(f"/{path}/{{entry_id}}", summary=f"Remove a {singular} (or propose to)",
                   responses=CHANGE_ANSWERS, name=f"remove_{singular}")  # fmt: skip
    def remove_entry(
        request: Request,
        admin: ApiAdmin,
        entry_id: str,
        response: Response,
        note: Annotated[str, Query(max_length=changes.NOTE_LIMIT)] = "",
    ) -> Any:
        return _change(request, admin, response, section, entry_id, None, note or None)


_entry_routes("libraries", "libraries")
_entry_routes("agreements", "agreements")


@router.post(
    "/check",
    summary="Check a change without making it, and what it would flip",
    responses=responses(*AUTH, errors.NotPermitted, errors.NotFound),
)
def check(request: Request, admin: ApiAdmin, body: CheckIn) -> dict[str, Any]:
    """The validator's problems for the set with this change (none: ``valid``), and, when it is
    valid, the (lender, home, category) decisions it would flip, as for a patron in good
    standing on ``on``."""
    with Session(engine_of(request)) as session:
        try:
            after, problems = changes.preview(session, admin, body.section, body.id, body.yaml)
        except (changes.NotFound, changes.ChangeRefused) as exc:
            raise to_problem(exc) from None
        on = body.on or date.today()  # noqa: DTZ011
        flipped = [] if after is None else flips_of(request, session, after, on)
    return {
        "valid": not problems,
        "problems": [_problem(p) for p in problems],
        "flips": [_flip(f) for f in flipped],
    }


@router.post(
    "/libraries/{library_id}/test-connection",
    summary="Ask a library's home system about a card",
    responses=responses(*CHANGE, errors.HomeLibraryUnavailable),
)
async def test_connection(
    request: Request, admin: ApiAdmin, library_id: str, body: ConnectionIn
) -> dict[str, Any]:
    """Asks the connector of the library's published entry, or of the entry in ``yaml`` (before
    it is saved), about ``card`` (no PIN), and says what the home system answered."""
    if not admin.consortium and admin.library != library_id:
        raise errors.NotPermitted(
            f"Library {library_id} is not yours: you can test only your own library's "
            f"connection ({admin.library})."
        )
    try:
        library = await run_in_threadpool(_library_for_test, request, admin, library_id, body.yaml)
    except (changes.NotFound, changes.ChangeRefused) as exc:
        raise to_problem(exc) from None
    return await connection_report(request, library, body.card)


async def connection_report(
    request: Request, library: policies.Library, card: str
) -> dict[str, Any]:
    """What ``library``'s connector says about ``card`` (raises HomeLibraryUnavailable, or
    InvalidRequest for text that is not a card of the library: it is not asked about). The
    connector is asked in a connection test's turn (``Gates.test``), not in the shared pool."""
    try:
        card = cards.read_card(card, library)
    except cards.NotACard as exc:
        pattern = f" (its card_pattern is {library.card_pattern})" if library.card_pattern else ""
        raise errors.InvalidRequest(f"{exc}{pattern} The home system was not asked.") from None
    settings = library.connector
    report: dict[str, Any] = {
        "library": library.id,
        "connector": settings.kind,
        "where": f"{settings.host}:{settings.port}" if settings.kind == "sip2" else "the hub",
        "card": card,
    }
    server: HubServer = request.app.state.oauth
    engine = engine_of(request)
    try:
        holder = await server.gates.test(
            library, lambda: connector_for(library, engine).lookup(card)
        )
    except HomeLibraryUnavailable as exc:
        raise errors.HomeLibraryUnavailable(
            f"{library.id}'s home system did not answer: {exc}", retry_after=exc.retry_after
        ) from None
    if holder is None:
        return {**report, "reachable": True, "found": False}
    return {
        **report,
        "reachable": True,
        "found": True,
        "name": holder.name,
        "ils_category": holder.category,
        "category": library.hub_category(holder.category),
        "expires": holder.expires,
        "fines": str(holder.fines),
        "flags": sorted(holder.flags),
    }


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
        raise errors.InvalidAgreements(
            "The library entry is not valid.", problems=[_problem(p) for p in problems]
        )
    library = agreements.libraries.get(library_id)
    if library is None:
        raise errors.NotFound(f"There is no library {library_id}.")
    return library


# --- proposals -------------------------------------------------------------------------------


@router.get("/proposals", summary="Proposals you can see", responses=responses(*AUTH))
def list_proposals(
    request: Request,
    admin: ApiAdmin,
    status: Literal["pending", "published", "rejected", "withdrawn", "all"] = "pending",
    library: str | None = None,
) -> list[dict[str, Any]]:
    with Session(engine_of(request)) as session:
        found = changes.proposals(
            session, admin, status=None if status == "all" else status, library=library
        )
    return [proposal_out(admin, p) for p in found]


@router.get(
    "/proposals/{number}",
    summary="One proposal, with what it would flip",
    responses=responses(*AUTH, errors.NotFound),
)
def get_proposal(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    with Session(engine_of(request)) as session:
        proposal = _proposal(session, admin, number)
        out = proposal_out(admin, proposal)
        out["flips"] = [_flip(f) for f in proposal_flips(request, session, proposal)]
    return out


@router.post("/proposals/{number}/approve", summary="Approve for your library",
             responses=responses(*CHANGE))  # fmt: skip
def approve(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    with _changing(request) as (session, address):
        outcome = changes.approve(session=session, admin=admin, number=number, address=address)
        assert outcome.proposal is not None
        return {
            "proposal": proposal_out(admin, outcome.proposal),
            "version": outcome.version.id if outcome.version else None,
        }


@router.post("/proposals/{number}/reject", summary="Reject", responses=responses(*CHANGE))
def reject(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    with _changing(request) as (session, address):
        proposal = changes.reject(session=session, admin=admin, number=number, address=address)
        return {"proposal": proposal_out(admin, proposal)}


@router.post("/proposals/{number}/withdraw", summary="Withdraw your library's proposal",
             responses=responses(*CHANGE))  # fmt: skip
def withdraw(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    with _changing(request) as (session, address):
        proposal = changes.withdraw(session=session, admin=admin, number=number, address=address)
        return {"proposal": proposal_out(admin, proposal)}


# --- versions and audit ----------------------------------------------------------------------


@router.get("/versions", summary="Published versions, newest first", responses=responses(*AUTH))
def list_versions(request: Request, admin: ApiAdmin) -> list[dict[str, Any]]:
    with Session(engine_of(request)) as session:
        return [_version_out(v) for v in versions.newest_first(session)]


@router.get("/versions/{number}", summary="One version with its files",
            responses=responses(*AUTH, errors.NotFound))  # fmt: skip
def get_version(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    version = _version(request, number)
    return {**_version_out(version), "files": version.files}


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
def diff(request: Request, admin: ApiAdmin, old: Number, new: Number) -> DiffResponse:
    text = versions.diff(_version(request, old), _version(request, new))
    return DiffResponse(text)


@router.get("/versions/{number}/export", summary="One version as a single YAML file",
            response_class=YamlResponse,
            responses={**text_answer(YamlResponse.media_type, "The agreement file",
                                              AGREEMENT_FILE),
                       **responses(*AUTH, errors.NotFound)})  # fmt: skip
def export(request: Request, admin: ApiAdmin, number: Number) -> YamlResponse:
    text = versions.export(_version(request, number))
    return YamlResponse(text, media_type=f"{YamlResponse.media_type}; charset=utf-8")


@router.post("/versions/{number}/rollback", status_code=201,
             summary="Publish an old version again, as a new version",
             responses=responses(*CHANGE))  # fmt: skip
def rollback(request: Request, admin: ApiAdmin, number: Number) -> dict[str, Any]:
    with _changing(request) as (session, address):
        version = changes.rollback(session=session, admin=admin, number=number, address=address)
        return _version_out(version)


@router.post("/versions", status_code=201, summary="Import a whole set as a new version",
             responses=responses(*CHANGE))  # fmt: skip
async def import_set(request: Request, admin: ApiAdmin, body: ImportIn) -> dict[str, Any]:
    files = [(f.name, f.text) for f in body.files]
    settings: Settings = request.app.state.settings

    def publish() -> dict[str, Any]:
        with _changing(request) as (session, address):
            version = changes.import_set(session=session, admin=admin, files=files,
                                         note=body.note, address=address,
                                         limits=settings.agreement_limits())  # fmt: skip
            return _version_out(version)

    return await validating(request, publish)


@router.get("/audit", summary="The audit log as you may see it, newest first",
            responses=responses(*AUTH))  # fmt: skip
def audit_log(
    request: Request,
    admin: ApiAdmin,
    action: str = "",
    actor: str = "",
    since: Day | None = None,
    until: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    filters = auditlog.Filters(action, actor, since, until)
    with Session(engine_of(request)) as session:
        found = auditlog.events(session=session, admin=admin, filters=filters, limit=limit)
    return [
        {
            "id": e.id,
            "at": as_utc(e.at).isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "address": e.address,
            "before": e.before,
            "after": e.after,
            "hash": e.hash,
        }
        for e in found
    ]


# --- shared with the pages -------------------------------------------------------------------


def proposal_out(admin: Admin, proposal: Proposal) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "status": proposal.status,
        "section": proposal.section,
        "target": proposal.target,
        "action": proposal.action,
        "proposed_by": proposal.proposed_by,
        "proposer_library": proposal.proposer_library,
        "created_at": as_utc(proposal.created_at).isoformat(timespec="seconds"),
        "note": proposal.note,
        "parties": sorted(changes.split_names(proposal.parties)),
        "awaiting": sorted(changes.split_names(proposal.awaiting)),
        "yaml": proposal.text,
        "before": proposal.before,
        "after": proposal.after,
        "decided_by": proposal.decided_by,
        "decided_at": as_utc(proposal.decided_at).isoformat(timespec="seconds")
        if proposal.decided_at
        else None,
        "version": proposal.version,
        "you_may": {
            "approve": changes.may_decide(admin, proposal),
            "reject": changes.may_decide(admin, proposal),
            "withdraw": changes.may_withdraw(admin, proposal),
        },
    }


def proposal_flips(request: Request, session: Session, proposal: Proposal) -> list[whatif.Flip]:
    """What a pending proposal would flip if approved now (nothing, once it is decided or when
    it no longer applies to the set in force)."""
    if proposal.status != "pending":
        return []
    entry_id = proposal.target if proposal.before is not None else None
    try:
        after, _ = changes.check(
            session, changes.section_of(proposal.section), entry_id, proposal.text
        )
    except changes.NotFound:
        return []
    if after is None:
        return []
    return flips_of(request, session, after, date.today())  # noqa: DTZ011


def flips_of(
    request: Request, session: Session, after: policies.Agreements, on: date
) -> list[whatif.Flip]:
    """The decisions ``after`` flips against the set in force, with their patron counts."""
    before = in_force(request, session)
    return whatif.count_patrons(session, whatif.flips(before, after, on=on), after, before=before)


def in_force(request: Request, session: Session) -> policies.Agreements:
    """The published set, as the running hub already holds it (``publishing.InForce``)."""
    server: HubServer = request.app.state.oauth
    return server.in_force.get(session=session)


def _flip(flip: whatif.Flip) -> dict[str, Any]:
    return {
        "lender": flip.lender,
        "home_library": flip.home,
        "category": flip.category,
        "change": flip.kind,
        "before": _decision(flip.before),
        "after": _decision(flip.after),
        "patrons": flip.patrons,
    }


def _decision(decision: policies.Decision) -> dict[str, Any]:
    out = decision.to_dict()
    out.pop("decided_at", None)
    return out


def _problem(problem: policies.Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "message": problem.message,
    }


def _entry_out(admin: Admin, section: Section, entry: entries.Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "file": entry.file,
        "parties": sorted(changes.parties(section, entry.data)),
        "you_may_edit": changes.may_touch(admin, section, entry.data, entry.data),
        "entry": jsonable_encoder(entry.data),
    }


def _version_out(version: AgreementVersion) -> dict[str, Any]:
    return {
        "version": version.id,
        "published_at": as_utc(version.published_at).isoformat(timespec="seconds"),
        "published_by": version.published_by,
        "note": version.note,
        "sha256": version.sha256,
        "libraries": version.libraries,
        "agreements": version.agreements,
        "files": [f["name"] for f in version.files],
    }


def _version(request: Request, number: int) -> AgreementVersion:
    with Session(engine_of(request)) as session:
        version = session.get(AgreementVersion, number)
    if version is None:
        raise errors.NotFound(f"There is no published version {number}.")
    return version


def _proposal(session: Session, admin: Admin, number: int) -> Proposal:
    try:
        return changes.get_proposal(session, admin, number)
    except changes.NotFound as exc:
        raise errors.NotFound(str(exc)) from None


def _change(
    request: Request,
    admin: Admin,
    response: Response,
    section: Section,
    entry_id: str | None,
    text: str | None,
    note: str | None,
) -> dict[str, Any]:
    with _changing(request) as (session, address):
        outcome = changes.change(
            session=session,
            admin=admin,
            section=section,
            entry_id=entry_id,
            text=text,
            note=note,
            address=address,
        )
        if outcome.version is not None:
            response.status_code = 201 if entry_id is None else 200
            return {"status": "published", "version": outcome.version.id}
        assert outcome.proposal is not None
        response.status_code = 202
        return {"status": "pending", "proposal": proposal_out(admin, outcome.proposal)}


@contextmanager
def _changing(request: Request) -> Iterator[tuple[Session, str]]:
    """A write transaction and the client's address; the exceptions of
    ``identity.admin.changes`` roll it back and become the API's problems."""
    address = client_address(request)
    try:
        with transaction(engine_of(request)) as session:
            yield session, address
    except (
        changes.ChangeRefused,
        changes.NotFound,
        changes.Conflict,
        changes.ChangeInvalid,
    ) as exc:
        raise to_problem(exc) from None


def to_problem(exc: Exception) -> errors.Problem:
    """The API's problem for an exception of ``identity.admin.changes`` (others unchanged)."""
    if isinstance(exc, changes.ChangeRefused):
        return errors.NotPermitted(str(exc))
    if isinstance(exc, changes.NotFound):
        return errors.NotFound(str(exc))
    if isinstance(exc, changes.Conflict):
        return errors.Conflict(str(exc))
    if isinstance(exc, changes.ChangeInvalid):
        found = [_problem(p) for p in exc.problems]
        return errors.InvalidAgreements(
            f"{exc.count:,} problem(s): nothing was published.", problems=found
        )
    raise TypeError(f"not a change's exception: {exc!r}")
