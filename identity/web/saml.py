"""The hub as a SAML 2.0 service provider (``identity.patrons.connectors.saml``):

- ``GET /saml/metadata``: its signed metadata, which is also its entityID, for identity
  providers and federations to register (SAML metadata 4.1, well-known location);
- ``POST /saml/acs``: the assertion consumer service, where the patron's browser brings the
  IdP's answer (SAML bindings 3.5, HTTP-POST: ``SAMLResponse`` and ``RelayState``).

The answer goes to the federated sign-in flow (``identity.web.authorize.federated``). It is a
POST from the IdP's site, which brings no ``SameSite=Lax`` cookie: it is tied to its sign-in by
``RelayState`` (the pending sign-in's handle: one use, ten minutes) and ``InResponseTo`` (the ID
of the request the hub sent, kept with it), and the browser's binding cookie is checked where
the browser comes back to ``/authorize``. An answer with no sign-in pending (unsolicited, for
another sign-in, replayed, expired) is a page, never a sign-in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

import policies
from identity.i18n import gettext as _
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.saml import Declined, Refused
from identity.patrons.federated_signin import PendingSignIn, SignInRefused
from identity.web import pages
from identity.web.authorize import federated
from identity.web.deps import InForceDep, OAuthDep, get_service_provider

router = APIRouter(include_in_schema=False)


@router.get("/saml/metadata")
async def metadata(request: Request) -> Response:
    document = await run_in_threadpool(lambda: get_service_provider(request).metadata())
    return Response(
        document,
        media_type="application/samlmetadata+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.post("/saml/acs")
async def assertion_consumer_service(
    request: Request, server: OAuthDep, in_force: InForceDep
) -> Response:
    """Reads the posted answer (each field once) and hands it to the federated sign-in."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in fields or not isinstance(value, str):
            return _problem(request, _("The answer from your library's sign-in is not valid."))
        fields[name] = value
    saml_response, relay_state = fields.get("SAMLResponse", ""), fields.get("RelayState", "")
    if not saml_response:
        answer = _("No answer from your library's sign-in came with this page.")
        return _problem(request, answer)
    provider = await run_in_threadpool(get_service_provider, request)

    def finish(library: policies.Library, pending: PendingSignIn) -> FederatedPatron:
        try:
            return provider.finish(
                saml_response=saml_response,
                relay_state=relay_state,
                expected_request_id=pending.expects,
                library=library,
            )
        except Declined as exc:
            raise SignInRefused(library.id, exc.detail, declined=True) from None
        except Refused as exc:
            raise SignInRefused(library.id, str(exc)) from None

    return await federated.complete(
        request,
        server,
        in_force,
        handle=relay_state,
        protocol="saml",
        finish=finish,
        binding_required=False,
    )


def _problem(request: Request, message: str) -> Response:
    context = {"title": _("Sign-in did not work"), "message": message}
    secret = request.app.state.settings.secret()
    return pages.render(request, "problem.html", context, secret=secret, status_code=400)
