"""Dependencies shared by endpoints, defined once. Those that only read the app's state are
``async``: FastAPI runs a plain ``def`` dependency in the thread pool, a round trip to a worker
thread per request for an attribute."""

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from identity.agreements.publishing import InForce
from identity.oauth.server import HubServer
from identity.settings import Settings

if TYPE_CHECKING:
    from identity.patrons.connectors.saml.provider import ServiceProvider


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, as ``hub serve --forwarded-allow-ips`` trusts it),
    for the guessing limits and the audit log."""
    return request.client.host if request.client else "unknown"


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_oauth(request: Request) -> HubServer:
    server: HubServer = request.app.state.oauth
    return server


OAuthDep = Annotated[HubServer, Depends(get_oauth)]


def get_in_force(request: Request) -> InForce:
    """The agreements in force, as the running hub follows them (one per app)."""
    in_force: InForce = request.app.state.in_force
    return in_force


async def _in_force(request: Request) -> InForce:
    return get_in_force(request)


InForceDep = Annotated[InForce, Depends(_in_force)]


_making = threading.Lock()


def get_service_provider(request: Request) -> "ServiceProvider":
    """The app's one SAML service provider, made at its first use: pysaml2 takes seconds to
    import, and a hub without SAML libraries never needs it. It blocks: call it in a thread."""
    state = request.app.state
    with _making:
        provider: ServiceProvider | None = getattr(state, "saml", None)
        if provider is None:
            from identity.patrons.connectors.saml import provider as saml_provider

            made = saml_provider.ServiceProvider(settings=state.settings, engine=state.engine)
            provider = state.saml = made
    return provider
