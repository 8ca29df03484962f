"""The checks of ``/authorize``, as tables run in order (like node-oidc-provider's
``lib/actions/authorization``): ``SHOW``, ``SIGN_IN`` and ``CONSENT`` at the end of this module.
Each step reads and fills in the ``Context``; the first that answers (a page or a redirect) ends
the run, and the last step of each table always answers. The steps that ask the database are
``Blocking`` (``steps``): they run in a worker thread, in one trip with the blocking steps right
after them, and read through one session. The steps, and what a refusal gets:

- ``each_parameter_once``: an error page (never a redirect).
- ``authorization_request``: the client's grant (client known, redirect URI given and registered
  exactly, response type, scope, PKCE S256, nonce, prompt): an error page while the redirect URI
  is not verified, then a redirect with ``error`` and ``iss``.
- ``nonce_unused`` (``GET``): a nonce that came with a live code of the client is a replay, a
  redirect with ``invalid_request``; the code's transaction checks it again.
- ``follow_agreements`` (``GET`` and the sign-in post): the set in force brought up to date
  (refuses nothing); the consent post needs no agreements, unless it shows the sign-in form.
- ``csrf_token`` (posts): the sign-in form again, "sign in again".
- ``sign_in_form``: the card, PIN and library posted (a repeated field is none; refuses nothing).
- ``home_library``: the library chosen, or the one whose ``domains`` the email address typed
  names (only one that signs its patrons in itself); else the sign-in form again, saying which
  is missing, or that the address names no such library.
- ``within_start_limits`` (``federated``): for a library that signs its patrons in itself, the
  sign-ins started from the client address: a 429 page with Retry-After.
- ``to_identity_provider`` (``federated``): a library that signs its patrons in itself sends
  the browser to its identity provider (303), or a 503 page if the provider cannot be reached.
- ``card_given``, ``card_of_library`` (``cards.read_card``), ``pin_given``: the sign-in form
  again, saying what is missing or wrong.
- ``within_guessing_limits`` for the card and the address: a 429 page with Retry-After.
- ``card_and_pin``, asked of the home library: a 503 page if it cannot be reached; one message
  for a wrong card or PIN.
- ``from_identity_provider`` (``federated``, ``GET``): back from the library's identity provider
  with a sign-in for this request in this browser: the consent page.
- ``consent_ticket``: the sign-in's ticket, for this request, in this browser; else the sign-in
  form again.
- ``answer_client``: ``allow`` redirects with ``code``, ``state`` and ``iss`` (RFC 9207),
  ``deny`` with ``error=access_denied``; either spends the ticket, and a ticket spent already
  gets the sign-in form again. The client's grant is not checked again: this request's
  ``authorization_request`` did.
"""

from __future__ import annotations

import logging
import time

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

import policies
from identity import logs, metrics
from identity.i18n import N_, ngettext, number
from identity.i18n import gettext as _
from identity.oauth.grants.authorization_code import AlreadyAnswered, nonce_used
from identity.oauth.patron import Patron
from identity.oauth.server import HubServer
from identity.patrons import cards, standing
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.factory import connector_for
from identity.security import guessing_limits
from identity.web.authorize.federated import (
    from_identity_provider,
    to_identity_provider,
    within_start_limits,
)
from identity.web.authorize.pages import (
    bad_link,
    consent_page,
    held_agreements,
    login_page,
    wait_page,
)
from identity.web.authorize.providers import signs_in_itself
from identity.web.authorize.steps import Blocking, Context, Step
from identity.web.authorize.ticket import read_ticket, spend_ticket
from identity.web.deps import client_address
from identity.web.pages import CSRF_FIELD, csrf_ok

log = logging.getLogger(__name__)
events = logs.get("hub.sign_in")

#: translated when shown (``_(WRONG)``), in the patron's language
WRONG = N_("The card number and PIN do not match. Check both and try again.")
EXPIRED = N_("This page had expired. Please sign in again.")


# --- every request: the link the client sent ---------------------------------------------


async def each_parameter_once(ctx: Context) -> Response | None:
    query = ctx.oauth.starlette.query_params
    repeated = sorted(k for k, v in query.multi_items() if k and len(query.getlist(k)) > 1)
    if repeated:
        problem = _("{parameter} given more than once").format(parameter=repeated[0])
        return bad_link(ctx.request, ctx.server, problem)
    return None


def authorization_request(ctx: Context) -> Response | None:
    try:
        ctx.grant = ctx.server.get_consent_grant(ctx.oauth, None)
    except OAuth2Error as error:
        return _refuse(ctx.request, ctx.server, error, lender=_client_library(ctx))
    except ValueError:  # Authlib refuses to quote some malformed values in its error text
        problem = _("a parameter has characters not allowed")
        return bad_link(ctx.request, ctx.server, problem)
    return None


def nonce_unused(ctx: Context) -> Response | None:
    """A replayed nonce is refused before anyone signs in (and again when the code is made)."""
    assert ctx.reading is not None
    nonce = ctx.oauth.payload.data.get("nonce")
    client_id = ctx.grant.request.client.client_id
    if nonce and nonce_used(session=ctx.reading, client_id=client_id, nonce=nonce):
        error = InvalidRequestError("Replay attack", redirect_uri=ctx.grant.redirect_uri)
        error.state = ctx.oauth.payload.state
        return _refuse(ctx.request, ctx.server, error)
    return None


def follow_agreements(ctx: Context) -> None:
    """Bring the set in force up to date (``InForce.get``)."""
    if ctx.reading is not None:
        ctx.in_force.get(session=ctx.reading)
    else:
        with Session(ctx.server.engine) as session:
            ctx.in_force.get(session=session)
    ctx.followed = True


async def csrf_token(ctx: Context) -> Response | None:
    if not csrf_ok(ctx.server.secret, ctx.request, _field(ctx.form, CSRF_FIELD)):
        return await run_in_threadpool(_expired, ctx)
    return None


# --- the sign-in form ----------------------------------------------------------------------


async def sign_in_form(ctx: Context) -> None:
    ctx.typed = (_field(ctx.form, "card") or "").strip()
    ctx.pin = _field(ctx.form, "pin") or ""
    ctx.chosen = _field(ctx.form, "library") or ""
    ctx.email = (_field(ctx.form, "email") or "").strip()[:320]


async def home_library(ctx: Context) -> Response | None:
    ctx.agreements = agreements = held_agreements(ctx.in_force)
    if "email" in ctx.form and not ctx.chosen:  # the address form, not the card form
        return _library_of_address(ctx, agreements)
    ctx.library = (
        agreements.libraries.get(ctx.chosen)
        if ctx.chosen
        else agreements.library_for_card(ctx.typed)
    )
    if ctx.library is None:
        problem = (
            _("Choose your home library from the list.")
            if ctx.chosen or not ctx.typed
            else _("Choose your home library: the card number does not say which it is.")
        )
        return _again(ctx, problem, field="library")
    return None


def _library_of_address(ctx: Context, agreements: policies.Agreements) -> Response | None:
    ctx.library = agreements.library_for_address(ctx.email)
    if ctx.library is not None and signs_in_itself(ctx.library):
        return None
    if ctx.library is not None:
        problem = _(
            "{library} signs you in with your library card: enter your card number and PIN below."
        ).format(library=ctx.library.name)
        ctx.chosen, ctx.email = ctx.library.id, ""
        return _again(ctx, problem)
    domain = ctx.email.rpartition("@")[2]
    problem = (
        _(
            "No library here signs you in with an address ending in @{domain}. Choose your "
            "home library from the list."
        ).format(domain=domain[:100])
        if "@" in ctx.email and domain
        else _(
            "Type your whole email address (like name@university.edu), or choose your home "
            "library from the list."
        )
    )
    return _again(ctx, problem, field="email")


async def card_given(ctx: Context) -> Response | None:
    return None if ctx.typed else _again(ctx, _("Enter your card number."))


async def card_of_library(ctx: Context) -> Response | None:
    """A card of the library chosen; one whose prefix names another library says so, before
    any library is asked."""
    assert ctx.library is not None and ctx.agreements is not None
    try:
        ctx.card = cards.read_card(ctx.typed, ctx.library)
        problem = None
    except cards.NotACard as exc:
        problem = exc.translated()
    other = cards.named_elsewhere(ctx.typed, ctx.library, ctx.agreements) if ctx.chosen else None
    if other is not None:
        looks_like = _(
            "This looks like a card from {library}: choose {library} as your home library, or "
            "check the card number."
        )
        return _again(ctx, looks_like.format(library=other.name), field="library")
    return None if problem is None else _again(ctx, problem)


async def pin_given(ctx: Context) -> Response | None:
    """Refused here, before any home library is asked."""
    return None if ctx.pin else _again(ctx, _("Enter your PIN."), field="pin")


def within_guessing_limits(ctx: Context) -> Response | None:
    """Counts the attempt (``card_and_pin`` finishes it), or refuses it for too many."""
    assert ctx.library is not None
    server = ctx.server
    address = client_address(ctx.request)
    key = guessing_limits.card_key(server.secret, ctx.library.id, ctx.card)
    limits = guessing_limits.Limits.parse(
        server.settings.guesses_per_card, server.settings.guesses_per_address
    )
    try:
        ctx.attempt = guessing_limits.begin(
            engine=server.engine, key=key, address=address, limits=limits,
            lender=ctx.grant.request.client.library,
        )  # fmt: skip
    except guessing_limits.TooManyAttempts as exc:
        metrics.RATE_LIMITED.labels("sign_in").inc()
        logs.event(events, "lockout", home_library=ctx.library.id, lender=_lender_id(ctx),
                   retry_after_s=exc.retry_after)  # fmt: skip
        _signed_in(ctx, "locked_out")
        minutes = max(1, round(exc.retry_after / 60))
        message = ngettext(
            "Too many sign-in attempts. Please try again in about {minutes} minute, or ask "
            "staff at the desk.",
            "Too many sign-in attempts. Please try again in about {minutes} minutes, or ask "
            "staff at the desk.",
            minutes,
        ).format(minutes=number(minutes))
        return wait_page(
            ctx.request, server, _("Too many attempts"), message, 429, exc.retry_after,
            home=ctx.library, lender=_lender(ctx),
        )  # fmt: skip
    return None


async def card_and_pin(ctx: Context) -> Response | None:
    """The home library checks the card and PIN, in a turn at its gate; the attempt is finished
    whatever happens: in the same thread once the library was asked, else (no turn) here."""
    server, library, attempt = ctx.server, ctx.library, ctx.attempt
    assert library is not None and attempt is not None
    finished = unanswered = False

    def finish(success: bool) -> None:
        nonlocal finished
        finished = True
        guessing_limits.finish(
            engine=server.engine, attempt=attempt, success=success, unanswered=unanswered
        )

    def ask() -> CardHolder | None:
        nonlocal unanswered
        holder = None
        try:
            holder = connector_for(library, server.engine).authenticate(ctx.card, ctx.pin)
        except HomeLibraryUnavailable:
            unanswered = True
            raise
        finally:
            finish(holder is not None)
        return holder

    try:
        holder = await server.gates.run(library, ask)
    except HomeLibraryUnavailable as exc:
        unanswered = True
        log.warning("home library unavailable: %s", exc)
        _signed_in(ctx, "unavailable")
        message = _(
            "{library} cannot check cards just now. Please try again in a few minutes; "
            "nothing has been recorded against your card."
        ).format(library=library.name)
        title = _("Your library cannot be reached")
        return wait_page(
            ctx.request, server, title, message, 503, exc.retry_after, home=library,
            lender=_lender(ctx),
        )  # fmt: skip
    finally:
        if not finished:  # not asked: no turn at the gate, or cancelled waiting for one
            await run_in_threadpool(finish, False)
    if holder is None:
        _signed_in(ctx, "wrong")
        return _again(ctx, _(WRONG), field="card")
    known = standing.proves_standing(library)
    if not known:  # a directory: its standing source, if it names one
        try:
            holder, known = await standing.with_source(server.gates, server.engine, library, holder)
        except HomeLibraryUnavailable as exc:
            log.warning("standing source unavailable: %s", exc)
            _signed_in(ctx, "unavailable")
            message = _(
                "{library} cannot be asked about your account (fines, blocks, card expiry) "
                "just now. Please try again in a few minutes; nothing was shared."
            ).format(library=library.name)
            title = _("Your library cannot be asked just now")
            return wait_page(ctx.request, server, title, message, 503, exc.retry_after)
    _signed_in(ctx, "signed_in")
    category = library.hub_category(holder.category)
    ctx.patron = Patron.signed_in(holder, category, int(time.time()), standing_known=known)
    return None


# --- the consent form ----------------------------------------------------------------------


async def consent_ticket(ctx: Context) -> Response | None:
    ctx.consent = read_ticket(ctx.server, ctx.request, _field(ctx.form, "ticket") or "")
    return await run_in_threadpool(_expired, ctx) if ctx.consent is None else None


# --- the answers ---------------------------------------------------------------------------


async def show_sign_in(ctx: Context) -> Response:
    find = ctx.request.query_params.get("find", "")
    return login_page(ctx.request, ctx.server, ctx.in_force, ctx.grant, find=find)


async def show_consent(ctx: Context) -> Response:
    assert ctx.patron is not None and ctx.agreements is not None
    return consent_page(ctx.request, ctx.server, ctx.grant, ctx.patron, ctx.agreements)


def answer_client(ctx: Context) -> Response:
    server, grant, consent = ctx.server, ctx.grant, ctx.consent
    assert consent is not None
    allow = _field(ctx.form, "decision") == "allow"
    if not allow and not spend_ticket(server, consent):
        return _expired(ctx)
    try:
        status, body, headers = grant.create_authorization_response(
            grant.redirect_uri, consent if allow else None
        )
    except AlreadyAnswered:
        return _expired(ctx)
    except OAuth2Error as error:  # access_denied, or a replayed nonce
        error.state = ctx.oauth.payload.state
        return _with_issuer(server, server.handle_error_response(ctx.oauth, error))
    return _with_issuer(server, server.handle_response(status, body, headers))


#: every request, first: the link the client sent
REQUEST: tuple[Step, ...] = (each_parameter_once, Blocking(authorization_request))
#: ``GET /authorize``: the sign-in page
SHOW: tuple[Step, ...] = (
    *REQUEST,
    Blocking(nonce_unused),
    Blocking(follow_agreements),
    from_identity_provider,
    show_sign_in,
)
#: ``POST /authorize`` of the sign-in page: the consent page
SIGN_IN: tuple[Step, ...] = (
    *REQUEST,
    Blocking(follow_agreements),
    csrf_token,
    sign_in_form,
    home_library,
    Blocking(within_start_limits),
    to_identity_provider,
    card_given,
    card_of_library,
    pin_given,
    Blocking(within_guessing_limits),
    card_and_pin,
    show_consent,
)
#: ``POST /authorize`` of the consent page (it has a ``decision``): back to the client
CONSENT: tuple[Step, ...] = (*REQUEST, csrf_token, consent_ticket, Blocking(answer_client))


# --- helpers -------------------------------------------------------------------------------


def _signed_in(ctx: Context, outcome: str) -> None:
    """Count and log a sign-in's ``outcome`` (signed_in, wrong, locked_out, unavailable) with
    the home library and the lender; never the card, the PIN or whose they are."""
    library = ctx.library.id if ctx.library is not None else ""
    metrics.SIGN_INS.labels(outcome, library).inc()
    logs.event(events, "sign-in", outcome=outcome, home_library=library, lender=_lender_id(ctx))


def _lender_id(ctx: Context) -> str:
    return str(ctx.grant.request.client.library)


def _expired(ctx: Context) -> Response:
    """The sign-in form again, saying the page had expired (the agreements followed first,
    on the consent post). It blocks: in a worker thread."""
    if not ctx.followed:
        follow_agreements(ctx)
    return login_page(ctx.request, ctx.server, ctx.in_force, ctx.grant, error=_(EXPIRED))


def _again(ctx: Context, error: str, *, field: str = "card") -> Response:
    """The sign-in form again, saying what is wrong, with the card and library as given."""
    again = {"card": ctx.typed[: 4 * cards.MAX_CARD], "library": ctx.chosen, "email": ctx.email}
    return login_page(
        ctx.request, ctx.server, ctx.in_force, ctx.grant, error=error, field=field, **again
    )


def _refuse(
    request: Request,
    server: HubServer,
    error: OAuth2Error,
    *,
    lender: policies.Library | None = None,
) -> Response:
    """An authorization error: back to the client if its redirect URI was verified, else a page
    for the person in front of the browser (RFC 6749 4.1.2.1), with the ``lender``'s contact
    when the client is known."""
    status, body, headers = error()
    if error.redirect_uri:
        return _with_issuer(server, server.handle_response(status, body, headers))
    return bad_link(request, server, error.description or error.error, lender=lender)


def _client_library(ctx: Context) -> policies.Library | None:
    """The library of the client the link names, if it is a client the hub knows (blocking)."""
    client_id = ctx.oauth.starlette.query_params.get("client_id", "")
    client = ctx.server.query_client(client_id) if client_id else None
    if client is None or ctx.in_force.version is None:
        return None
    return held_agreements(ctx.in_force).libraries.get(client.library)


def _with_issuer(server: HubServer, response: Response) -> Response:
    """RFC 9207: every authorization response carries ``iss``."""
    location = response.headers.get("location")
    if location:
        response.headers["location"] = add_params_to_uri(location, [("iss", server.issuer)])
    return response


def _lender(ctx: Context) -> policies.Library | None:
    """The library of the client that sent the patron here."""
    if ctx.agreements is None or ctx.grant is None:
        return None
    return ctx.agreements.libraries.get(ctx.grant.request.client.library)


def _field(form: FormData, name: str) -> str | None:
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return values[0] if len(values) == 1 else None  # a repeated field is no answer
