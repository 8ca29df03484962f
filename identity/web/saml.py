"""The hub as a SAML 2.0 service provider (``identity.patrons.connectors.saml``):

- ``GET /saml/metadata``: its signed metadata, which is also its entityID, for identity
  providers and federations to register (SAML metadata 4.1, well-known location);
- ``POST /saml/acs``: the assertion consumer service, where the patron's browser brings the
  IdP's answer (SAML bindings 3.5, HTTP-POST: ``SAMLResponse`` and ``RelayState``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.web import pages

if TYPE_CHECKING:
    from identity.patrons.connectors.saml.provider import ServiceProvider

router = APIRouter(include_in_schema=False)
_making = threading.Lock()


def get_service_provider(request: Request) -> ServiceProvider:
    """The app's one service provider, made at its first use: pysaml2 takes seconds to import,
    and a hub without SAML libraries never needs it."""
    state = request.app.state
    with _making:
        provider: ServiceProvider | None = getattr(state, "saml", None)
        if provider is None:
            from identity.patrons.connectors.saml.provider import ServiceProvider

            provider = state.saml = ServiceProvider(settings=state.settings, engine=state.engine)
    return provider


@router.get("/saml/metadata")
async def metadata(request: Request) -> Response:
    document = await run_in_threadpool(lambda: get_service_provider(request).metadata())
    return Response(
        document,
        media_type="application/samlmetadata+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.post("/saml/acs")
async def assertion_consumer_service(request: Request) -> Response:
    """Reads the posted answer (each field once) and hands it to ``answer_received``."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in fields or not isinstance(value, str):
            return _problem(request, "The answer from your identity provider is not valid.")
        fields[name] = value
    if not fields.get("SAMLResponse"):
        return _problem(request, "No answer from an identity provider came with this page.")
    return await run_in_threadpool(
        answer_received, request, fields["SAMLResponse"], fields.get("RelayState", "")
    )


def answer_received(request: Request, saml_response: str, relay_state: str) -> Response:
    """Where the federated sign-in flow takes over: it finds the pending sign-in that
    ``relay_state`` names (the library, and the ID of the request ``ServiceProvider.begin``
    sent), calls ``ServiceProvider.finish`` with them, and continues to the consent page.
    Until that flow is connected here, no sign-in is pending, and the answer is refused."""
    return _problem(
        request, "This sign-in was not started here, or it has expired. Please start again."
    )


def _problem(request: Request, message: str) -> Response:
    context = {"title": "Sign-in did not work", "message": message}
    secret = request.app.state.settings.secret()
    return pages.render(request, "problem.html", context, secret=secret, status_code=400)
