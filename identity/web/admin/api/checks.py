"""Checks that change nothing: a change checked (and what it would flip) before it is made,
and a library's home system asked about a card."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

import policies
from identity import errors
from identity.admin import connections
from identity.admin.accounts import Admin
from identity.agreements import checks, whatif
from identity.web.admin.api.auth import AUTH, CHANGE, ApiAdmin
from identity.web.admin.deps import engine_of, in_force
from identity.web.admin.schemas import CheckIn, CheckOut, ConnectionIn, FlipOut, ProblemAt
from identity.web.deps import OAuthDep, SessionDep
from identity.web.problems import responses
from policies.warnings import introduced

router = APIRouter()


@router.post(
    "/check",
    summary="Check a change without making it, and what it would flip",
    responses=responses(*AUTH, errors.NotPermitted, errors.NotFound),
)
def check(request: Request, session: SessionDep, admin: ApiAdmin, body: CheckIn) -> CheckOut:
    """The validator's problems for the set with this change (none: ``valid``), and, when it is
    valid, the (lender, home, category) decisions it would flip, as for a patron in good
    standing on ``on``."""
    after, problems = checks.preview(session, admin, body.section, body.id, body.yaml)
    on = body.on or date.today()  # noqa: DTZ011
    now = in_force(request, session)
    flipped = [] if after is None else whatif.counted(session, now, after, on=on)
    return CheckOut(
        valid=not problems,
        problems=[ProblemAt.of(p) for p in problems],
        flips=[FlipOut.of(f) for f in flipped],
        warnings=[] if after is None else [ProblemAt.of(w) for w in introduced(now, after)],
    )


@router.post(
    "/libraries/{library_id}/test-connection",
    summary="Ask a library's home system about a card, or its identity provider",
    responses=responses(*CHANGE, errors.HomeLibraryUnavailable),
    response_model_exclude_unset=True,
)
async def test_connection(
    request: Request, admin: ApiAdmin, oauth: OAuthDep, library_id: str, body: ConnectionIn
) -> connections.Report | connections.IdentityProviderReport | connections.ProviderReport:
    """Asks the connector of the library's published entry, or of the entry in ``yaml`` (before
    it is saved), about ``card`` (no PIN), and says what the home system answered. For a
    library whose patrons sign in at its identity provider no card is asked about: for
    ``saml`` the IdP's metadata is fetched and verified, and what it says is shown; for
    ``oidc``, the provider's discovery and keys."""
    if not admin.consortium and admin.library != library_id:
        raise errors.NotPermitted(
            f"Library {library_id} is not yours: you can test only your own library's "
            f"connection ({admin.library})."
        )
    library = await run_in_threadpool(_library_for_test, request, admin, library_id, body.yaml)
    if library.connector.kind == "saml":
        settings = request.app.state.settings
        return await connections.ask_identity_provider(
            library=library, settings=settings, gates=oauth.gates
        )
    if library.connector.kind == "oidc":
        return await connections.ask_openid_provider(
            library=library, hub_issuer=oauth.issuer, gates=oauth.gates
        )
    if body.card is None:
        raise errors.InvalidRequest(f"Give a card number of {library_id} to ask about.")
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
            agreements, problems = checks.preview(session, admin, "libraries", library_id, text)
    if agreements is None:
        raise errors.InvalidAgreements(problems, detail="The library entry is not valid.")
    library = agreements.libraries.get(library_id)
    if library is None:
        raise errors.NotFound(f"There is no library {library_id}.")
    return library
