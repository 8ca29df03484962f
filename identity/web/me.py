"""``/me``: where can I borrow? (SPEC section 8; docs/signing-in.md, Where can I borrow?)

A patron who has just signed in through the hub (card and PIN, or their library's identity
provider) sees every other library of the network that would lend to them today, with its
terms, and the one-line reason for each that would not, decided from what their home library
said at sign-in. The patron is known only by this browser's own short session
(``patron_session``); without one the page says how to get one and shows nothing else.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.i18n import gettext as _
from identity.oauth import claims
from identity.patrons import advice, lending
from identity.web import pages, patron_session
from identity.web.deps import InForceDep, OAuthDep

router = APIRouter(include_in_schema=False)


@router.get("/me")
async def where_can_i_borrow(request: Request, server: OAuthDep, in_force: InForceDep) -> Response:
    patron = patron_session.patron_of(request, server.secret)
    if patron is None:
        return pages.render(request, "me.html", {"patron": None}, secret=server.secret)

    def follow() -> None:
        with Session(server.engine) as session:
            in_force.get(session=session)

    await run_in_threadpool(follow)
    agreements = in_force.held()
    today = date.today()
    lend, refuse = lending.everywhere(
        claims.borrow_request(patron=patron, lender=patron.home_library, today=today),
        agreements,
    )
    home = agreements.libraries.get(patron.home_library)
    name = advice.library_name(agreements, patron.home_library)
    reach = advice.contact_text(home) if home is not None else None
    at = _("{library} ({contact})").format(library=name, contact=reach) if reach else name
    context = {
        "patron": patron,
        "home": name,
        "ask": _("Ask {home} where else you can borrow.").format(home=at),
        "lend": lend,
        "refuse": refuse,
        # what the patron can do about the refusals, each said once
        "steps": list(dict.fromkeys(step for each in refuse for step in each.steps)),
        "standing_known": patron.standing_known,
    }
    return pages.render(request, "me.html", context, secret=server.secret)


@router.post("/me/forget")
async def forget(request: Request, server: OAuthDep) -> Response:
    """End the patron's session here and now (a shared computer at the desk)."""
    form = await request.form()
    posted = form.get(pages.CSRF_FIELD)
    response = pages.render(request, "me.html", {"patron": None, "forgotten": True},
                            secret=server.secret)  # fmt: skip
    if pages.csrf_ok(server.secret, request, posted if isinstance(posted, str) else None):
        patron_session.forget(response, request)
    return response
