"""The checks of ``/authorize``, as tables run in order (like node-oidc-provider's
``lib/actions/authorization``): ``SHOW``, ``SIGN_IN`` and ``CONSENT`` at the end of this module.
Each step reads and fills in the ``Context``; the first that answers (a page or a redirect) ends
the run, and the last step of each table always answers. The steps that ask the database are
``Blocking`` (``steps``): they run in a worker thread, in one trip with the blocking steps right
after them, and read through one session. The steps are kept by the form they check:
``request_checks`` (every request), ``sign_in_checks`` (the sign-in form's post),
``consent_checks`` (the consent page's post) and ``federated`` (a library's own identity
provider). The steps, and what a refusal gets:

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

from starlette.responses import Response

from identity.web.authorize.consent_checks import answer_client, consent_ticket
from identity.web.authorize.federated import (
    from_identity_provider,
    to_identity_provider,
    within_start_limits,
)
from identity.web.authorize.pages import consent_page, login_page
from identity.web.authorize.request_checks import (
    authorization_request,
    csrf_token,
    each_parameter_once,
    follow_agreements,
    nonce_unused,
)
from identity.web.authorize.sign_in_checks import (
    card_and_pin,
    card_given,
    card_of_library,
    home_library,
    pin_given,
    sign_in_form,
    within_guessing_limits,
)
from identity.web.authorize.steps import Blocking, Context, Step

# --- the answers that end a table ----------------------------------------------------------


async def show_sign_in(ctx: Context) -> Response:
    find = ctx.request.query_params.get("find", "")
    return login_page(ctx.request, ctx.server, ctx.in_force, ctx.grant, find=find)


async def show_consent(ctx: Context) -> Response:
    assert ctx.patron is not None and ctx.agreements is not None
    return consent_page(ctx.request, ctx.server, ctx.grant, ctx.patron, ctx.agreements)


# --- the tables ----------------------------------------------------------------------------


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
