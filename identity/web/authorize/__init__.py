"""``/authorize``: the authorization endpoint (RFC 6749 3.1, OpenID Connect Core 3.1.2) and the
pages a patron sees there.

A request runs one table of ``checks`` in order, and the first step that answers ends it:

- ``GET``: the link the client sent (each parameter once; the client's grant, whose refusals go
  back to the client as ``error`` and ``iss`` once its redirect URI is verified, and are an error
  page before); then the sign-in page (``pages``).
- ``POST`` of the sign-in page: the link again, the CSRF token, the home library, the card, the
  PIN, the guessing limits (429), the home library's answer (503 if it cannot be reached); then
  the consent page, carrying a ``ticket``.
- ``POST`` of the consent page (it has a ``decision``): the link again, the CSRF token, the
  ticket: this request, this browser, unanswered; then back to the client with ``code``,
  ``state`` and ``iss`` (RFC 9207), or ``error=access_denied``.

The OAuth parameters stay in the query string of every form's ``action``, so both posts are
checked again from scratch. Nothing about the patron is kept between the two posts except the
ticket, which is encrypted and lives ten minutes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from identity.web.authorize.checks import CONSENT, SHOW, SIGN_IN
from identity.web.authorize.steps import Context, run
from identity.web.deps import InForceDep, OAuthDep

router = APIRouter(include_in_schema=False)


@router.get("/authorize")
async def authorize(request: Request, server: OAuthDep, in_force: InForceDep) -> Response:
    return await run(SHOW, Context(request, server, in_force))


@router.post("/authorize")
async def authorize_post(request: Request, server: OAuthDep, in_force: InForceDep) -> Response:
    form = await request.form()
    steps = CONSENT if "decision" in form else SIGN_IN
    return await run(steps, Context(request, server, in_force, form))
