"""The checks of ``/authorize`` that the sign-in form's post runs (``checks.SIGN_IN``), after
those of every request: the card, PIN and library posted; the home library chosen or named by an
email address's domain; a card of that library and a PIN given; within the PIN guessing limits;
and the card and PIN checked by the home library, which gives the patron. A refusal shows the
sign-in form again, saying what is wrong, or a page to wait on (429, 503)."""

from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

import policies
from identity import logs, metrics
from identity.i18n import N_, ngettext, number
from identity.i18n import gettext as _
from identity.oauth.patron import Patron
from identity.patrons import cards, standing
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.factory import connector_for
from identity.security import guessing_limits
from identity.web.authorize.pages import (
    held_agreements,
    login_page,
    wait_page,
)
from identity.web.authorize.providers import signs_in_itself
from identity.web.authorize.request_checks import field
from identity.web.authorize.steps import Context
from identity.web.deps import client_address

log = logging.getLogger(__name__)

events = logs.get("hub.sign_in")


#: translated when shown (``_(WRONG)``), in the patron's language
WRONG = N_("The card number and PIN do not match. Check both and try again.")


async def sign_in_form(ctx: Context) -> None:
    ctx.typed = (field(ctx.form, "card") or "").strip()
    ctx.pin = field(ctx.form, "pin") or ""
    ctx.chosen = field(ctx.form, "library") or ""
    ctx.email = (field(ctx.form, "email") or "").strip()[:320]


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


# --- helpers -------------------------------------------------------------------------------


def _signed_in(ctx: Context, outcome: str) -> None:
    """Count and log a sign-in's ``outcome`` (signed_in, wrong, locked_out, unavailable) with
    the home library and the lender; never the card, the PIN or whose they are."""
    library = ctx.library.id if ctx.library is not None else ""
    metrics.SIGN_INS.labels(outcome, library).inc()
    logs.event(events, "sign-in", outcome=outcome, home_library=library, lender=_lender_id(ctx))


def _lender_id(ctx: Context) -> str:
    return str(ctx.grant.request.client.library)


def _again(ctx: Context, error: str, *, field: str = "card") -> Response:
    """The sign-in form again, saying what is wrong, with the card and library as given."""
    again = {"card": ctx.typed[: 4 * cards.MAX_CARD], "library": ctx.chosen, "email": ctx.email}
    return login_page(
        ctx.request, ctx.server, ctx.in_force, ctx.grant, error=error, field=field, **again
    )


def _lender(ctx: Context) -> policies.Library | None:
    """The library of the client that sent the patron here."""
    if ctx.agreements is None or ctx.grant is None:
        return None
    return ctx.agreements.libraries.get(ctx.grant.request.client.library)
