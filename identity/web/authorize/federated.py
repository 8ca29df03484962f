"""Signing in at the home library's own identity provider (SAML 2.0, OpenID Connect), whatever
the protocol: the patron leaves ``/authorize`` for the provider and comes back to the consent
page of the same authorization request, as after a PIN (``identity.patrons.federated_signin``
keeps the sign-in meanwhile).

- ``within_start_limits`` (a step of the sign-in post, after ``home_library``): a sign-in
  started at a provider counts against the client address (``guessing_limits.start``); too
  many is a 429 page with Retry-After, before any provider is asked or sign-in kept.
- ``to_identity_provider`` (the next step): for a library
  in ``providers.DEPARTURES``, the sign-in is kept with the waiting request and a new binding
  cookie, and the browser goes to the provider (303). Discovery or metadata the protocol needs
  is fetched in the library's turn (``Gates``); a provider that cannot be reached is a 503 page.
- ``complete`` (the protocol's endpoint: ``/oidc/callback``, ``/saml/acs``): the sign-in named
  by the handle the provider carried back is taken, once; ``finish(library, pending)`` (the
  protocol's check of the answer, run in the library's turn) says who signed in, or raises
  ``SignInRefused`` or ``HomeLibraryUnavailable``; a library that names a standing source is
  asked there about the patron's fines, flags and expiry (``identity.patrons.standing``, in the
  source's own turn; one that cannot be asked is a 503 page); the patron is kept on the
  sign-in and the browser sent back to the waiting ``/authorize`` request (303). Every failure
  is a page for the patron, never a sign-in.
- ``from_identity_provider`` (a step of ``GET /authorize``, before the sign-in page): the
  browser's binding cookie and the request find the signed-in patron, once: the consent page.

A protocol endpoint calls ``complete(request, server, in_force, handle=..., protocol=...,
finish=..., binding_required=...)``. OpenID's callback is a top-level GET, which carries the
``SameSite=Lax`` binding cookie: it requires it. SAML's assertion consumer service is a POST
from the provider's site, which does not: the binding is then checked where the browser comes
back (``from_identity_provider``), so an answer posted from any other browser signs no one in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

import policies
from identity import logs, metrics
from identity.agreements.publishing import InForce
from identity.i18n import gettext as _
from identity.i18n import ngettext, number
from identity.oauth.patron import Patron
from identity.oauth.server import HubServer
from identity.patrons import cards, federated_signin, standing
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.federated_signin import PendingSignIn, SignInRefused
from identity.security import guessing_limits
from identity.web.authorize.pages import (
    consent_page,
    federated_problem,
    held_agreements,
    wait_page,
)
from identity.web.authorize.providers import DEPARTURES, signs_in_itself
from identity.web.deps import client_address

if TYPE_CHECKING:
    from identity.web.authorize.steps import Context

log = logging.getLogger(__name__)
events = logs.get("hub.sign_in")

BINDING_COOKIE = "hub_federated"
Finish = Callable[[policies.Library, PendingSignIn], FederatedPatron]


def binding_cookie(request: Request) -> str:
    return f"__Host-{BINDING_COOKIE}" if request.url.scheme == "https" else BINDING_COOKIE


def within_start_limits(ctx: Context) -> Response | None:
    """Counts a sign-in started at the library's provider, or refuses it for too many."""
    library, server = ctx.library, ctx.server
    assert library is not None
    if not signs_in_itself(library):
        return None
    limit = guessing_limits.windows(server.settings.federated_starts_per_address)
    try:
        address = client_address(ctx.request)
        guessing_limits.start(engine=server.engine, address=address, per_address=limit)
    except guessing_limits.TooManyAttempts as exc:
        log.warning("too many sign-ins started at identity providers from one address")
        minutes = max(1, round(exc.retry_after / 60))
        message = ngettext(
            "Too many sign-ins were started from here. Please try again in about {minutes} "
            "minute, or ask staff at the desk.",
            "Too many sign-ins were started from here. Please try again in about {minutes} "
            "minutes, or ask staff at the desk.",
            minutes,
        ).format(minutes=number(minutes))
        title = _("Too many attempts")
        return wait_page(ctx.request, server, title, message, 429, exc.retry_after)
    return None


async def to_identity_provider(ctx: Context) -> Response | None:
    library, server = ctx.library, ctx.server
    assert library is not None
    depart = DEPARTURES.get(library.connector.kind)
    if depart is None:
        return None
    cookie, binding = federated_signin.new_binding()

    def begin() -> federated_signin.Departure:
        return federated_signin.begin(
            engine=server.engine,
            library=library.id,
            protocol=library.connector.kind,
            authorization=ctx.request.url.query,
            binding=binding,
            depart=lambda handle: depart(ctx.request, library, handle),
        )

    try:
        departure = await server.gates.run(library, begin)
    except HomeLibraryUnavailable as exc:
        log.warning("identity provider unavailable: %s", exc)
        again = f"/authorize?{ctx.request.url.query}"
        return _unavailable(ctx.request, server, library, exc, again=again)
    response = RedirectResponse(departure.url, status_code=303)
    response.set_cookie(
        binding_cookie(ctx.request),
        cookie,
        max_age=int(federated_signin.PENDING_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=ctx.request.url.scheme == "https",
        path="/",
    )
    return response


async def complete(
    request: Request,
    server: HubServer,
    in_force: InForce,
    *,
    handle: str,
    protocol: str,
    finish: Finish,
    binding_required: bool,
) -> Response:
    """The provider's answer for the sign-in ``handle``: back to the waiting request's
    consent page, or a page saying why not."""
    cookie = request.cookies.get(binding_cookie(request))
    if binding_required and not cookie:
        return _lost(request, server)
    binding = federated_signin.binding_of(cookie) if cookie else None

    def take() -> tuple[PendingSignIn | None, policies.Agreements]:
        pending = federated_signin.take(engine=server.engine, handle=handle, binding=binding)
        with Session(server.engine) as session:
            return pending, in_force.get(session=session)

    pending, agreements = await run_in_threadpool(take)
    if pending is None or pending.protocol != protocol:
        return _lost(request, server)
    again = f"/authorize?{pending.authorization}"
    library = agreements.libraries.get(pending.library)
    if library is None or library.connector.kind != protocol:
        return federated_problem(
            request, server, _("This sign-in cannot be finished"),
            _("Your library no longer signs its patrons in this way. Please sign in again."),
            400, again=again,
        )  # fmt: skip
    try:
        who = await server.gates.run(library, lambda: finish(library, pending))
        if who.library != library.id:
            raise SignInRefused(library.id, f"an answer about a patron of {who.library}")
        try:
            card = cards.read_card(who.patron_id)
        except cards.NotACard:
            raise SignInRefused(library.id, "a patron identifier the hub cannot use") from None
    except HomeLibraryUnavailable as exc:
        log.warning("identity provider unavailable: %s", exc)
        _signed_in(library, protocol, "unavailable")
        return _unavailable(request, server, library, exc, again=again)
    except SignInRefused as exc:
        log.info("sign-in at an identity provider refused: %s", exc)
        _signed_in(library, protocol, "refused")
        return _refused(request, server, library, exc, again=again)
    who = replace(who, patron_id=card)
    try:
        held = await _standing(server, library, who)
    except HomeLibraryUnavailable as exc:
        log.warning("standing source unavailable: %s", exc)
        _signed_in(library, protocol, "unavailable")
        return _no_standing(request, server, library, exc, again=again)
    patron = Patron.federated(
        who, library.hub_category(who.category), int(time.time()), via=protocol, standing=held
    )
    await run_in_threadpool(
        lambda: federated_signin.signed_in(
            engine=server.engine, secret=server.secret, handle=handle, patron=patron.to_json()
        )
    )
    _signed_in(library, protocol, "signed_in")
    return RedirectResponse(again, status_code=303)


def _signed_in(library: policies.Library, protocol: str, outcome: str) -> None:
    """Count and log a sign-in at the library's identity provider; never who signed in."""
    metrics.SIGN_INS.labels(outcome, library.id).inc()
    logs.event(events, "sign-in", outcome=outcome, home_library=library.id, via=protocol)


async def _standing(
    server: HubServer, library: policies.Library, who: FederatedPatron
) -> CardHolder | None:
    """What the library's standing source says of the patron who signed in: None when it
    names none, the sign-in released no ``match`` value, or the source has no such card (the
    standing is then not known, and the lender is told so)."""
    if library.standing is None:
        return None
    card = standing.card_at_source(library, who.attributes)
    if card is None:
        log.info("no %s value to ask %s's standing source with", library.standing.match, library.id)
        return None
    return await standing.ask(server.gates, server.engine, library, card)


async def from_identity_provider(ctx: Context) -> Response | None:
    """The consent page, for the patron this browser's provider signed in for this request."""
    request, server = ctx.request, ctx.server
    cookie = request.cookies.get(binding_cookie(request))
    if not cookie:
        return None
    found = await run_in_threadpool(
        lambda: federated_signin.resume(
            engine=server.engine,
            secret=server.secret,
            binding=federated_signin.binding_of(cookie),
            authorization=request.url.query,
        )
    )
    if found is None:
        return None
    ctx.patron = Patron.from_json(found)
    ctx.agreements = held_agreements(ctx.in_force)
    response = consent_page(request, server, ctx.grant, ctx.patron, ctx.agreements)
    response.delete_cookie(
        binding_cookie(request),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


# --- the pages that say why not ------------------------------------------------------------


def _lost(request: Request, server: HubServer) -> Response:
    return federated_problem(
        request,
        server,
        _("This sign-in cannot be finished"),
        _(
            "It has expired, was already used, or was started in another browser. Go back to "
            "the library's website you came from and sign in again."
        ),
        400,
    )


def _refused(
    request: Request,
    server: HubServer,
    library: policies.Library,
    exc: SignInRefused,
    *,
    again: str,
) -> Response:
    if exc.declined:
        title = _("You did not sign in at {library}")
        message = _(
            "{library} did not confirm your membership (perhaps the sign-in was cancelled), so "
            "nothing was shared. You can sign in again."
        )
    else:
        title = _("{library} could not sign you in")
        message = _(
            "The answer from {library}'s sign-in could not be accepted, so nothing was shared. "
            "Please sign in again; if this happens again, ask library staff."
        )
    title, message = (text.format(library=library.name) for text in (title, message))
    return federated_problem(request, server, title, message, 400, again=again)


def _no_standing(
    request: Request,
    server: HubServer,
    library: policies.Library,
    exc: HomeLibraryUnavailable,
    *,
    again: str,
) -> Response:
    message = _(
        "You signed in at {library}, but {library} cannot be asked about your account (fines, "
        "blocks, card expiry) just now. Please try again in a few minutes; nothing was shared."
    ).format(library=library.name)
    return federated_problem(
        request, server, _("Your library cannot be asked just now"), message, 503, again=again,
        retry_after=exc.retry_after,
    )  # fmt: skip


def _unavailable(
    request: Request,
    server: HubServer,
    library: policies.Library,
    exc: HomeLibraryUnavailable,
    *,
    again: str,
) -> Response:
    message = _(
        "{library}'s sign-in cannot be reached just now. Please try again in a few minutes; "
        "nothing was shared."
    ).format(library=library.name)
    return federated_problem(
        request, server, _("Your library cannot be reached"), message, 503, again=again,
        retry_after=exc.retry_after,
    )  # fmt: skip
