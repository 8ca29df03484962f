"""``/authorize``: the authorization endpoint (RFC 6749 3.1, OpenID Connect Core 3.1.2) and the
pages a patron sees there. The pipeline, in order:

| step | on failure |
|---|---|
| client known, redirect URI registered exactly | error page (never a redirect) |
| response type, scope, PKCE S256, nonce, prompt | redirect with ``error`` and ``iss`` |
| (POST) CSRF token | the form again, "start again" |
| (POST login) home library known, card and PIN given | the form again, saying what is missing |
| (POST login) a card of that library (``cards.read_card``) | the form again, saying so |
| (POST login) guessing limits for the card and the address | 429 page with Retry-After |
| (POST login) the home library checks card and PIN | unreachable: 503 page; wrong: one message |
| (POST consent) the login step's ticket: this request, this browser, unanswered | start again |
| decision ``allow`` | redirect with ``code``, ``state``, ``iss`` (RFC 9207) |
| decision ``deny`` | redirect with ``error=access_denied`` |

The OAuth parameters stay in the query string of every form's ``action``, so both posts are
checked again from scratch. Nothing about the patron is kept between the two posts except the
ticket, which is encrypted and lives ten minutes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import unicodedata
from datetime import date
from typing import Any
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from cryptography.fernet import InvalidToken
from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

import policies
from identity.oauth import claims
from identity.oauth.patron import Patron
from identity.oauth.server import HubRequest, HubServer
from identity.patrons import cards
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.factory import connector_for
from identity.security import derived_keys, guessing_limits
from identity.store.database import transaction
from identity.store.models import SpentTicket, utcnow
from identity.web import pages
from identity.web.deps import OAuthDep, client_address

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

TICKET_TTL_S = 600
WRONG = "The card number and PIN do not match. Check both and try again."


@router.get("/authorize")
async def authorize(request: Request, server: OAuthDep) -> Response:
    oauth = HubRequest(request, None, server.issuer)
    grant, refused = await _grant(server, oauth)
    if refused is not None:
        return refused
    await _follow_agreements(server)
    return _login_page(request, server, grant, find=request.query_params.get("find", ""))


@router.post("/authorize")
async def authorize_post(request: Request, server: OAuthDep) -> Response:
    form = await request.form()
    oauth = HubRequest(request, None, server.issuer)
    grant, refused = await _grant(server, oauth)
    if refused is not None:
        return refused
    await _follow_agreements(server)
    if not pages.csrf_ok(server.secret, request, _field(form, pages.CSRF_FIELD)):
        return _login_page(
            request, server, grant, error="This page had expired. Please sign in again."
        )
    if "decision" in form:
        return await _consent(request, server, oauth, grant, form)
    return await _login(request, server, grant, form)


# --- the steps --------------------------------------------------------------------------


async def _grant(server: HubServer, oauth: HubRequest) -> tuple[Any, Response | None]:
    repeated = sorted(k for k, v in oauth.starlette.query_params.multi_items() if k and
                      len(oauth.starlette.query_params.getlist(k)) > 1)  # fmt: skip
    if repeated:
        return None, _bad_link(oauth.starlette, server, f"{repeated[0]} given more than once")
    try:
        grant = await run_in_threadpool(server.get_consent_grant, oauth, None)
    except OAuth2Error as error:
        return None, _refuse(oauth.starlette, server, error)
    except ValueError:  # Authlib refuses to quote some malformed values in its error text
        return None, _bad_link(oauth.starlette, server, "a parameter has characters not allowed")
    return grant, None


async def _login(request: Request, server: HubServer, grant: Any, form: FormData) -> Response:
    typed = (_field(form, "card") or "").strip()
    pin = _field(form, "pin") or ""
    chosen = _field(form, "library") or ""
    agreements = _agreements(server)
    library = agreements.libraries.get(chosen) if chosen else agreements.library_for_card(typed)
    again = {"card": typed[: 4 * cards.MAX_CARD], "library": chosen}
    if library is None:
        problem = (
            "Choose your home library from the list."
            if chosen or not typed
            else "Choose your home library: the card number does not say which it is."
        )
        return _login_page(request, server, grant, error=problem, field="library", **again)
    if not typed:
        return _login_page(request, server, grant, error="Enter your card number.", **again)
    try:
        card = cards.read_card(typed, library)
    except cards.NotACard as exc:
        return _login_page(request, server, grant, error=str(exc), **again)
    if not pin:  # refused here, before any home library is asked
        return _login_page(request, server, grant, error="Enter your PIN.", field="pin", **again)

    address = client_address(request)
    key = guessing_limits.card_key(server.secret, library.id, card)
    limits = guessing_limits.Limits.parse(
        server.settings.guesses_per_card, server.settings.guesses_per_address
    )
    try:
        attempt = await run_in_threadpool(
            lambda: guessing_limits.begin(
                engine=server.engine, key=key, address=address, limits=limits
            )
        )
    except guessing_limits.TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after / 60))
        message = (
            f"Too many sign-in attempts. Please try again in about {minutes} minutes, or ask "
            "staff at the desk."
        )
        return _wait_page(request, server, "Too many attempts", message, 429, exc.retry_after)
    success = unanswered = False
    try:
        holder = await server.gates.run(
            library, lambda: connector_for(library, server.engine).authenticate(card, pin)
        )
        success = holder is not None
    except HomeLibraryUnavailable as exc:
        unanswered = True
        log.warning("home library unavailable: %s", exc)
        message = (
            f"{library.name} cannot check cards just now. Please try again in a few minutes; "
            "nothing has been recorded against your card."
        )
        title = "Your library cannot be reached"
        return _wait_page(request, server, title, message, 503, exc.retry_after)
    finally:
        await run_in_threadpool(
            lambda: guessing_limits.finish(
                engine=server.engine, attempt=attempt, success=success, unanswered=unanswered
            )
        )
    if holder is None:
        return _login_page(request, server, grant, error=WRONG, field="card", **again)
    patron = Patron.signed_in(holder, library.hub_category(holder.category), int(time.time()))
    return _consent_page(request, server, grant, patron, agreements)


async def _consent(
    request: Request, server: HubServer, oauth: HubRequest, grant: Any, form: FormData
) -> Response:
    patron = _read_ticket(server, request, _field(form, "ticket") or "")
    if patron is None:
        return _login_page(
            request, server, grant, error="This page had expired. Please sign in again."
        )
    user = patron if _field(form, "decision") == "allow" else None
    response: Response = await run_in_threadpool(
        server.create_authorization_response, oauth, user, grant
    )
    return _with_issuer(server, response)


# --- pages ------------------------------------------------------------------------------


def _login_page(
    request: Request,
    server: HubServer,
    grant: Any,
    *,
    error: str | None = None,
    field: str = "card",
    card: str = "",
    library: str = "",
    find: str = "",
) -> Response:
    agreements = _agreements(server)
    everyone = sorted(agreements.libraries.values(), key=lambda lib: lib.name.lower())
    listed = everyone
    if find:
        wanted = unicodedata.normalize("NFC", find.strip()[:200]).lower()
        listed = [lib for lib in listed if wanted in lib.name.lower() or wanted in lib.id]
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "find"]
    keyboards = {lib.id: cards.keyboard(lib) for lib in everyone}
    # before a library is chosen: a numeric keyboard only if every library's cards (PINs) are
    # numbers; the page's script switches them as the patron chooses
    unchosen = tuple(
        "numeric" if everyone and all(k[i] == "numeric" for k in keyboards.values()) else "text"
        for i in (0, 1)
    )
    card_mode, pin_mode = keyboards.get(library, unchosen)
    return _page(
        request,
        server,
        "login.html",
        {
            "lender": _lender_name(agreements, grant.request.client.library),
            "libraries": listed,
            "find": find,
            "oauth_params": params,
            "action": f"/authorize?{urlencode(params)}",
            "error": error,
            "error_field": field if error else None,
            "card": card,
            "library": library,
            "keyboards": keyboards,
            "unchosen": unchosen,
            "card_mode": card_mode,
            "pin_mode": pin_mode,
        },
        status_code=400 if error else 200,
        headers={"Content-Security-Policy": pages.SIGN_IN_CSP},
    )


def _consent_page(
    request: Request,
    server: HubServer,
    grant: Any,
    patron: Patron,
    agreements: policies.Agreements,
) -> Response:
    client = grant.request.client
    scope = grant.request.scope or ""
    shown = claims.for_scope(
        patron=patron,
        scope=scope,
        sub="",
        lender=client.library,
        agreements=agreements,
        today=date.today(),
    )
    shown.pop("sub")
    params = list(request.query_params.multi_items())
    return _page(
        request,
        server,
        "consent.html",
        {
            "lender": _lender_name(agreements, client.library),
            "claims": shown,
            "identifier": "openid" in scope.split(),
            "ticket": _write_ticket(server, request, patron),
            "action": f"/authorize?{urlencode(params)}",
        },
    )


def _page(
    request: Request,
    server: HubServer,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return pages.render(
        request,
        template,
        context,
        secret=server.secret,
        status_code=status_code,
        headers=headers,
    )


# --- helpers ----------------------------------------------------------------------------


def _wait_page(
    request: Request, server: HubServer, title: str, message: str, status: int, retry_after: int
) -> Response:
    context = {"title": title, "message": message}
    headers = {"Retry-After": str(retry_after)}
    return _page(request, server, "problem.html", context, status_code=status, headers=headers)


def _refuse(request: Request, server: HubServer, error: OAuth2Error) -> Response:
    """An authorization error: back to the client if its redirect URI was verified, else a page
    for the person in front of the browser (RFC 6749 4.1.2.1)."""
    status, body, headers = error()
    if error.redirect_uri:
        return _with_issuer(server, server.handle_response(status, body, headers))
    return _bad_link(request, server, error.description or error.error)


def _bad_link(request: Request, server: HubServer, problem: str) -> Response:
    context = {
        "title": "This sign-in link is not valid",
        "message": "The library system that sent you here made a mistake in the link "
        f"({problem}). Go back and try again, or ask staff.",
    }
    return _page(request, server, "problem.html", context, status_code=400)


def _with_issuer(server: HubServer, response: Response) -> Response:
    """RFC 9207: every authorization response carries ``iss``."""
    location = response.headers.get("location")
    if location:
        response.headers["location"] = add_params_to_uri(location, [("iss", server.issuer)])
    return response


async def _follow_agreements(server: HubServer) -> None:
    """Bring the set in force up to date, in a worker thread (``InForce.get``)."""

    def follow() -> None:
        with Session(server.engine) as session:
            server.in_force.get(session=session)

    await run_in_threadpool(follow)


def _agreements(server: HubServer) -> policies.Agreements:
    """The set in force as this process holds it, read without the database (the handler
    followed it first), so that pages are made on the event loop without blocking it."""
    return server.in_force.held()


def _lender_name(agreements: policies.Agreements, library: str) -> str:
    found = agreements.libraries.get(library)
    return found.name if found else library


def _field(form: FormData, name: str) -> str | None:
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return values[0] if len(values) == 1 else None  # a repeated field is no answer


def _fingerprint(request: Request) -> str:
    """What a consent ticket is bound to: this authorization request, in this browser."""
    cookie = request.cookies.get(pages.csrf_cookie(request), "")
    return hashlib.sha256(f"{request.url.query}\n{cookie}".encode()).hexdigest()


def _write_ticket(server: HubServer, request: Request, patron: Patron) -> str:
    """The patron as the home library described them, encrypted, for the consent post."""
    data = {"id": secrets.token_urlsafe(24), "request": _fingerprint(request),
            "patron": patron.to_json()}  # fmt: skip
    return (
        derived_keys.fernet(server.secret, "consent ticket")
        .encrypt(json.dumps(data).encode())
        .decode()
    )


def _read_ticket(server: HubServer, request: Request, ticket: str) -> Patron | None:
    """The patron of a genuine ticket, for this request and browser, not yet answered; the
    ticket is spent by reading it, whatever the answer."""
    try:
        data = json.loads(
            derived_keys.fernet(server.secret, "consent ticket").decrypt(
                ticket.encode(), ttl=TICKET_TTL_S
            )
        )
    except (InvalidToken, ValueError):
        return None
    if data.get("request") != _fingerprint(request):
        return None
    try:
        with transaction(server.engine) as session:
            session.add(SpentTicket(ticket=data["id"], at=utcnow()))
    except IntegrityError:
        return None  # answered already (a second post, the back button, another tab)
    return Patron.from_json(data["patron"])
