"""A live hub for the OAuth tests: the demo network in the test database, served by uvicorn on
the worker's port in this process, so that clients talk real HTTP to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from identity import demo
from identity.app import create_app
from identity.oauth import registration
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import SECRET, TLS, issuer_of
from tests.identity.oauth.browser import Browser
from tests.identity.oauth.relying_party import RelyingParty

#: rmit's demo patrons (PIN: the card's last four digits)
GOOD, BLOCKED, EXPIRED, OWES = (f"2111000000000{n}" for n in range(1, 5))


@dataclass
class LiveHub:
    issuer: str
    engine: Engine
    settings: Settings
    app: FastAPI
    browsers: list[Browser] = field(default_factory=list)

    def browser(self) -> Browser:
        """A new browser (no cookies yet), closed when the test ends."""
        self.browsers.append(Browser(self.issuer))
        return self.browsers[-1]

    def partner_token(self, library: str) -> str:
        """A client-credentials access token of ``library``'s demo partner client."""
        answer = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials"},
            auth=(f"demo-{library}-partner", demo.client_secret(library, "partner")),
            verify=TLS,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def add_rp(
        self, library: str, *, public: bool = False, card_number: bool = False
    ) -> RelyingParty:
        """Register a relying party of ``library``."""
        redirect = f"{self.issuer}/cb/{library}"
        with transaction(self.engine) as session:
            made = registration.add_client(
                session=session,
                library=library,
                kind="rp",
                redirect_uris=[redirect],
                post_logout_redirect_uris=[f"{self.issuer}/signed-out"],
                actor="test",
                public=public,
                card_number=card_number,
            )
        return RelyingParty(self.issuer, made.client_id, made.client_secret, redirect)


@pytest.fixture
def live_hub(
    demo_network: Engine, database_url: str, live_socket: socket.socket
) -> Iterator[LiveHub]:
    """The demo network (copied from the worker's template, which ``demo.build`` made for this
    issuer) served on the worker's port."""
    issuer = issuer_of(live_socket)
    settings = Settings(database_url=database_url, secret_key=SECRET, issuer=issuer)
    with serving(settings, demo_network, live_socket) as hub:
        yield hub


@contextmanager
def serving(settings: Settings, engine: Engine, listening: socket.socket) -> Iterator[LiveHub]:
    """A hub with ``settings`` served on ``listening`` (its issuer's port) while in the block."""
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    # uvicorn closes the sockets it serves on when it stops: it gets a duplicate
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening.dup()]}, daemon=True)
    thread.start()
    hub = LiveHub(settings.issuer, engine, settings, app)
    # stopped however the test ends, also when it never started: a server left running on
    # the worker's socket would answer the next test's requests from this test's database
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.01)
        assert httpx.get(f"{settings.issuer}/healthz", verify=TLS).status_code == 200
        yield hub
    finally:
        for browser in hub.browsers:
            browser.http.close()
        server.should_exit = True
        thread.join(timeout=10)
