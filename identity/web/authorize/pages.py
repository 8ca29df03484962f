"""What a patron sees at ``/authorize``: the sign-in page, the consent page, and the pages that
say why not (a link the client got wrong, too many attempts, a home library out of reach).

Every form's ``action`` carries the OAuth parameters of the request in its query string, so
each post is checked again from scratch (``checks``). Pages are made on the event loop from the
set of agreements this process holds, without the database.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

import policies
from identity.agreements.publishing import InForce
from identity.i18n import day
from identity.i18n import gettext as _
from identity.oauth import claims
from identity.oauth.patron import Patron
from identity.oauth.server import HubServer
from identity.patrons import advice, cards, lending
from identity.web import patron_session
from identity.web.authorize.providers import signs_in_itself
from identity.web.authorize.ticket import write_ticket
from identity.web.pages import SIGN_IN_CSP, render


def login_page(
    request: Request,
    server: HubServer,
    in_force: InForce,
    grant: Any,
    *,
    error: str | None = None,
    field: str = "card",
    card: str = "",
    library: str = "",
    find: str = "",
    email: str = "",
) -> Response:
    agreements = held_agreements(in_force)
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
    own = {lib.id for lib in everyone if signs_in_itself(lib)}
    return _page(
        request,
        server,
        "login.html",
        {
            "lender": _library_name(agreements, grant.request.client.library),
            "libraries": listed,
            # libraries whose patrons sign in at the library's own identity provider
            "federated": [lib for lib in listed if lib.id in own],
            "own": own,
            # an email address may name a library that signs its patrons in itself
            "by_email": any(lib.domains for lib in everyone if lib.id in own),
            "email": email,
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
        headers={"Content-Security-Policy": SIGN_IN_CSP},
    )


def consent_page(
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
    today = date.today()
    home = _library_name(agreements, patron.home_library)
    decision = agreements.decide(
        claims.borrow_request(patron=patron, lender=client.library, today=today)
    )
    response = _page(
        request,
        server,
        "consent.html",
        {
            "lender": _library_name(agreements, client.library),
            "claims": shown,
            "home": home,
            "category": advice.category_name(patron.category or "ils:")
            or _("not known to the hub"),
            "expires": None if patron.expires is None else day(patron.expires),
            "standing": lending.standing_words(
                flags=patron.flags, expires=patron.expires, home=home, today=today
            ),
            "lending": lending.explain(decision, agreements),
            "identifier": "openid" in scope.split(),
            # the library's identity provider vouched for membership; standing is not known
            "vouched_by": None
            if patron.standing_known
            else _library_name(agreements, patron.home_library),
            "ticket": write_ticket(server, request, patron),
            "action": f"/authorize?{urlencode(params)}",
        },
    )
    patron_session.remember(response, request, server.secret, patron)
    return response


def wait_page(
    request: Request,
    server: HubServer,
    title: str,
    message: str,
    status: int,
    retry_after: int,
    *,
    home: policies.Library | None = None,
    lender: policies.Library | None = None,
) -> Response:
    """A page that asks the patron to wait (429, 503), leading back to the sign-in page of the
    same request, to their home library's contact and to the lender's."""
    context = {"title": title, "message": message, "again": sign_in_again(request),
               "helps": help_lines(home, lender)}  # fmt: skip
    headers = {"Retry-After": str(retry_after)}
    return _page(request, server, "problem.html", context, status_code=status, headers=headers)


def sign_in_again(request: Request) -> str:
    """The sign-in page of this authorization request (its OAuth parameters, as posted)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "find"]
    return f"/authorize?{urlencode(params)}"


def help_lines(
    home: policies.Library | None, lender: policies.Library | None = None
) -> list[dict[str, Any]]:
    """Where the patron gets help: their home library's contact (card and PIN), and the
    lender's (borrowing today), for each that has one."""
    lines = []
    if home is not None and advice.contact_links(home):
        text = _("{library} can help with your card and PIN:").format(library=home.name)
        lines.append({"text": text, "links": advice.contact_links(home)})
    if lender is not None and lender is not home and advice.contact_links(lender):
        text = _("{library} can help you borrow today:").format(library=lender.name)
        lines.append({"text": text, "links": advice.contact_links(lender)})
    return lines


def federated_problem(
    request: Request,
    server: HubServer,
    title: str,
    message: str,
    status: int,
    *,
    again: str | None = None,
    retry_after: int | None = None,
) -> Response:
    """Why a sign-in at the library's identity provider came to nothing; ``again`` links to
    the sign-in page of the waiting request."""
    context = {"title": title, "message": message, "again": again}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _page(request, server, "problem.html", context, status_code=status, headers=headers)


def bad_link(
    request: Request, server: HubServer, problem: str, *, lender: policies.Library | None = None
) -> Response:
    """A link the client got wrong; with the lender's contact when the client is known."""
    context = {
        "title": _("This sign-in link is not valid"),
        "message": _(
            "The library system that sent you here made a mistake in the link ({problem}). Go "
            "back and try again, or ask staff."
        ).format(problem=problem),
        "helps": help_lines(None, lender),
    }
    return _page(request, server, "problem.html", context, status_code=400)


def held_agreements(in_force: InForce) -> policies.Agreements:
    """The set in force as this process holds it, read without the database (the handler
    followed it first), so that pages are made on the event loop without blocking it."""
    return in_force.held()


def _page(
    request: Request,
    server: HubServer,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        template,
        context,
        secret=server.secret,
        status_code=status_code,
        headers=headers,
    )


def _library_name(agreements: policies.Agreements, library: str) -> str:
    return advice.library_name(agreements, library)
