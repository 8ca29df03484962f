"""The home ILS of these tests: pysip2's SIP2 server (a SIP2 implementation nobody here wrote),
serving a patron store the tests define, in a background thread on a free port.

pysip2 sends only the fields of the SIP2 2.00 spec; an Evergreen-like ILS also sends ``PA``
(expiry, YYYYMMDD) and ``PC`` (patron category). ``Extended64`` adds them, and two other vendor
fields (``ZE`` and ``ZC``) for a library that configures other field ids, through pysip2's own
table of message layouts.

``Ils(encoding="utf-8", echo=evergreen_echo)`` is an ILS like Evergreen's SIPServer, which reads
the hub's UTF-8 as Latin-1 and sends back the card it did not find (``AA``) re-encoded: ``djé1``
comes back as ``djÃ©1``.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import Listener, SocketAttribute
from anyio.from_thread import start_blocking_portal
from anyio.streams.tls import TLSListener
from pysip2 import (
    LOGIN,
    PATRON_INFORMATION,
    PATRON_STATUS,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    SIP2Server,
)
from pysip2.models import MESSAGE_SPECS_BY_TYPE, MessageSpec, ident

import policies
from policies.model import Sip2Connector as Sip2Settings

INSTITUTION = "sipu"
USER, PASSWORD = "hub-terminal", "terminal-secret"
PASSWORD_ENV = "TEST_SIPU_SIP2_PASSWORD"


class Extended64(PatronInformationResponse, frozen=True, kw_only=True):
    expiry: str | None = None  # PA
    category: str | None = None  # PC
    local_expiry: str | None = None  # ZE
    local_category: str | None = None  # ZC


_base = MESSAGE_SPECS_BY_TYPE[PatronInformationResponse]
MESSAGE_SPECS_BY_TYPE[Extended64] = MessageSpec(
    "64",
    Extended64,
    (
        *_base.fields,
        ident("expiry", "PA"),
        ident("category", "PC"),
        ident("local_expiry", "ZE"),
        ident("local_category", "ZC"),
    ),
)


@dataclass
class Patron:
    card: str
    pin: str
    name: str
    category: str = "UG"
    expires: str | None = "20991231"  # PA, as the ILS writes it
    fines: str | None = "0.00"
    flags: tuple[str, ...] = ()
    checks_pin: bool = True  # False: the ILS sends no CQ even when given a PIN
    delay_s: float = 0.0  # the ILS takes this long to answer about this card


GOOD = Patron("28880000000001", "4321", "Avery Sip")
BLOCKED = Patron("28880000000002", "1111", "Blake Blocked", flags=("charge_denied", "card_lost"))
OWES = Patron("28880000000003", "2222", "Owen Owes", fines="25.50")
EXPIRED = Patron("28880000000004", "3333", "Ezra Expired", expires="20200131")
STAFF = Patron("28880000000005", "5555", "Stevie Staff", category="ST", expires=None, fines=None)
NO_CQ = Patron("28880000000006", "6666", "Nora NoCQ", checks_pin=False)
SLOW = Patron("28880000000007", "7777", "Sloane Slow", delay_s=2.0)
NAMELESS = Patron("28880000000008", "8888", "")
PATRONS = (GOOD, BLOCKED, OWES, EXPIRED, STAFF, NO_CQ, SLOW, NAMELESS)
UNKNOWN = "28889999999999"

FLAGS = policies.FLAGS[:14]


@dataclass
class Ils:
    """A running home ILS; ``logins`` counts 93s, ``asked`` records (command, card, AD) seen."""

    patrons: dict[str, Patron]
    login_required: bool = True
    idle_timeout: float | None = None
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve SIP2 over TLS with this context
    encoding: str = "cp850"  # of everything it reads and sends
    echo: Callable[[str], str] = str  # what it sends back in AA for the card it was asked about
    logins: int = 0
    asked: list[tuple[str, str, str | None]] = field(default_factory=list)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def start(self, port: int = 0) -> Ils:
        portal = self._stack.enter_context(start_blocking_portal())
        self.port = self._stack.enter_context(
            portal.wrap_async_context_manager(serving(self._app(), port, self.tls))
        )
        return self

    def stop(self) -> None:
        self._stack.close()

    def library(self, **settings: Any) -> policies.Library:
        return library(self.port, **settings)

    def leaks(self, secret: str, text: str) -> bool:
        """Whether ``secret`` (a PIN, a password) shows in ``text``, leaving out this ILS's own
        address, which errors name and whose port number may contain it (port 44321, PIN 4321)."""
        return secret in text.replace(f"127.0.0.1:{self.port}", "127.0.0.1:<port>")

    def _app(self) -> SIP2Server:
        app = SIP2Server(
            institution_id=INSTITUTION,
            login_required=self.login_required,
            idle_timeout=self.idle_timeout,
            encoding=self.encoding,
        )

        @app.route(LOGIN)
        def login(req: LoginRequest, ctx: object) -> LoginResponse:
            self.logins += 1
            good = (req.login_user_id, req.login_password) == (USER, PASSWORD)
            return LoginResponse(ok="1" if good else "0")

        @app.route(PATRON_INFORMATION)
        async def information(req: PatronInformationRequest, ctx: Any) -> Extended64:
            self.asked.append(("63", req.patron_identifier, req.patron_password))
            patron = self.patrons.get(req.patron_identifier)
            if patron is not None and patron.delay_s:
                await anyio.sleep(patron.delay_s)
            return Extended64(
                **self._answer(
                    patron,
                    req.institution_id,
                    req.patron_identifier,
                    req.patron_password,
                    ctx.now_18(),
                ),
                hold_items_count="0000",
                overdue_items_count="0000",
                charged_items_count="0000",
                fine_items_count="0000",
                recall_items_count="0000",
                unavailable_holds_count="0000",
                expiry=patron.expires if patron else None,
                category=patron.category if patron else None,
                local_expiry="2030-06-30" if patron else None,
                local_category="LOCAL" if patron else None,
            )

        @app.route(PATRON_STATUS)
        def status(req: PatronStatusRequest, ctx: Any) -> PatronStatusResponse:
            self.asked.append(("23", req.patron_identifier, req.patron_password))
            patron = self.patrons.get(req.patron_identifier)
            return PatronStatusResponse(
                **self._answer(
                    patron,
                    req.institution_id,
                    req.patron_identifier,
                    req.patron_password or None,
                    ctx.now_18(),
                ),
            )

        return app

    def _answer(
        self, patron: Patron | None, institution: str, card: str, pin: str | None, now: str
    ) -> dict[str, Any]:
        known = patron is not None and institution == INSTITUTION
        checked = pin is not None and (patron is None or patron.checks_pin)
        return {
            "patron_status": "".join(
                "Y" if patron and name in patron.flags else " " for name in FLAGS
            ),
            "language": "001",
            "transaction_date": now,
            "institution_id": institution,
            "patron_identifier": self.echo(card),
            "personal_name": patron.name if patron else "",
            "valid_patron": "Y" if known else "N",
            "valid_patron_password": (
                ("Y" if known and patron and pin == patron.pin else "N") if checked else None
            ),
            "currency_type": "AUD",
            "fee_amount": patron.fines if patron else None,
        }


@contextlib.asynccontextmanager
async def serving(app: SIP2Server, port: int, tls: ssl.SSLContext | None) -> AsyncIterator[int]:
    """``app.start()``, but closing its listening socket at the end (pysip2 0.1.0 leaves it
    open, which warnings-as-errors turns into a failure), and optionally behind TLS."""
    async with await app.listen("127.0.0.1", port) as tcp:
        bound = tcp.extra(SocketAttribute.local_port)
        listener: Listener[Any] = tcp if tls is None else TLSListener(tcp, tls)
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, app._handle_connection)
            yield bound
            group.cancel_scope.cancel()


def evergreen_echo(card: str) -> str:
    """The card as Evergreen's SIPServer echoes it: its UTF-8 bytes read as Latin-1."""
    return card.encode("utf-8").decode("latin-1")


def library(port: int, **settings: Any) -> policies.Library:
    """The library ``sipu`` whose ILS listens on ``port`` (settings: its connector's)."""
    defaults: dict[str, Any] = {
        "kind": "sip2",
        "host": "127.0.0.1",
        "port": port,
        "institution": INSTITUTION,
        "user": USER,
        "password_env": PASSWORD_ENV,
        "timeout_s": 0.5,
    }
    return policies.Library(
        id="sipu",
        name="SIP University Library",
        card_prefixes=("2888",),
        categories={"UG": "undergraduate", "ST": "staff"},
        connector=Sip2Settings(**{**defaults, **settings}),
    )
