"""The ``sip2`` connector (docs/connectors.md): a library's cards checked live at its ILS with 63
Patron Information, over a pooled, logged-in SIP2 connection behind a circuit breaker.

- ``authenticate(card, pin)``: 63 with ``AD`` = the PIN. The card holder only when ``BL`` (valid
  patron) and ``CQ`` (valid PIN) are both ``Y``; a missing ``CQ`` means the PIN was not checked.
- ``lookup(card)``: 63 without ``AD``; ``BL`` must be ``Y``.

A patron the ILS does not say is valid (``BL`` not ``Y``) is no such card, whatever the reply
echoes in ``AA`` (Evergreen echoes an unknown ``djé1`` as its UTF-8 bytes read as Latin-1). For
a valid patron the whole reply is read (``AA`` must be the card asked about, every field parsed)
while the connection is still held from the pool, so a reply that is wrong in any way closes the
connection instead of returning it to the pool. ``AA``, ``AO``, ``BL``, ``CQ``, ``BV`` and the
configured expiry and category fields may each appear once (``AY`` and ``AZ`` only in the
trailer); ``AO``, when present, must be the configured institution.

Anything else (the ILS cannot be reached, times out, garbles its answer, says a valid patron's
card is another, or the breaker is open) raises ``HomeLibraryUnavailable``: fail closed. The
PIN and the login password are never logged and never put in an exception.

Time: at most ``connections`` pooled connections are open at once. A caller waits at most
``timeout_s`` for a free one (then a 503 with ``Retry-After: 1``, not counted against the
breaker: the hub is busy, not the ILS; in the hub a request has taken one of the library's turns,
``identity.patrons.connectors.gates``, before it gets here, so it finds one free), and then
everything said to the ILS (connect, TLS, 93, 99, the 63 and any resends) shares one deadline of
``timeout_s``. So a call takes at most about ``2 * timeout_s``, and never longer than
``timeout_s`` once it is talking to the ILS.

The breaker counts only failures of the ILS: unreachable, dropped, no answer in time, a bad
checksum after resends, a wrong sequence number, another message, a reply about another
institution, a refused login. What one card's reply says, whoever sends that card, never counts:
one patron's record that cannot be read (about another card, a field repeated or not in the
configured encoding, fees or an expiry that do not parse) is a 503 for that patron only
(``Retry-After`` 60 s) and counts as the ILS having answered. After the cool-down, exactly one
caller tries the ILS; the others get a 503 at once until it is done.

One pool and one breaker per library for the life of the process (``select.connector_for``
makes a connector for every request); new settings for a library start a new pair, and the old
pool is closed (connections in use then are closed when their caller is done). Every time a
connector is made, the other libraries' pools close connections idle too long, so a library
removed from the agreements does not keep its sockets.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import policies
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.sip2 import breaker, client, messages, pool
from identity.patrons.connectors.sip2.errors import (
    BadRecord,
    Busy,
    Garbled,
    Sip2Error,
)
from policies.model import Sip2Connector as Sip2Settings

MISCONFIGURED_RETRY_S = 300  # a missing password variable is not fixed by trying again soon

_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class Sip2Connector:
    def __init__(
        self,
        library: policies.Library,
        *,
        environ: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        failures: int = breaker.FAILURES,
        cooldown_s: float = breaker.COOLDOWN_S,
        pool_size: int | None = None,  # default: the library's ``connections``
    ) -> None:
        settings = library.connector
        if not isinstance(settings, Sip2Settings):
            raise ValueError(f"{library.id} does not check its cards over SIP2")
        self.library = library.id
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self._tls = tls
        size = settings.connections if pool_size is None else pool_size
        self.link = _link(library.id, settings, failures, cooldown_s, size)

    def authenticate(self, card: str, pin: str) -> CardHolder | None:
        if not pin:
            raise ValueError("an empty PIN is refused before any connector is asked")
        return self._ask(card, pin)

    def lookup(self, card: str) -> CardHolder | None:
        return self._ask(card, None)

    def _ask(self, card: str, pin: str | None) -> CardHolder | None:
        encoding = self.settings.encoding
        if not card or not messages.sendable(card, encoding):
            return None  # no such card can exist; nothing that ends a field goes to the ILS
        if pin is not None and not messages.sendable(pin, encoding):
            return None
        password = self._password()
        settings, now = self.settings, datetime.now()
        request = messages.patron_information(
            institution=settings.institution, card=card, pin=pin, now=now
        )

        def connect(deadline: float) -> client.Connection:
            return client.open_connection(
                settings.host,
                settings.port,
                timeout_s=settings.timeout_s,
                encoding=encoding,
                tls=(self._tls or ssl.create_default_context()) if settings.tls else None,
                user=settings.user,
                password=password,
                institution=settings.institution,
                deadline=deadline,
            )

        def work(connection: client.Connection, deadline: float) -> CardHolder | None:
            # under the pool: anything wrong with the reply closes the connection
            reply = connection.exchange(request, "64", deadline=deadline)
            return self._holder(card, reply, pin_sent=pin is not None)

        link = self.link
        return link.breaker.guard(
            lambda: link.pool.run(
                connect, work, wait_s=settings.timeout_s, budget_s=settings.timeout_s
            ),
            library=self.library, peer="the ILS", where=f"SIP2 {settings.host}:{settings.port}",
            busy=Busy, bad_record=BadRecord, failure=Sip2Error,
        )  # fmt: skip

    def _password(self) -> str:
        name = self.settings.password_env
        if name is None or self.settings.user is None:
            return ""
        value = self._environ.get(name)
        if value is None:
            raise HomeLibraryUnavailable(
                self.library,
                f"the environment variable {name}, holding the SIP2 login password, is not set",
                retry_after=MISCONFIGURED_RETRY_S,
            )
        if not messages.sendable(value, self.settings.encoding):
            raise HomeLibraryUnavailable(
                self.library,
                f"the SIP2 login password in {name} has characters SIP2 cannot carry",
                retry_after=MISCONFIGURED_RETRY_S,
            )
        return value

    def _holder(self, card: str, reply: messages.Reply, *, pin_sent: bool) -> CardHolder | None:
        """The card holder a 64 describes. None when the ILS does not say the patron is valid
        (``BL``), whatever else it says: some ILSes echo an unknown card re-encoded. ``Garbled``
        (the connection is out of step) when it is about another institution; ``BadRecord``
        when a valid patron's reply is about another card, or a field the hub reads is repeated
        or does not decode, or fees or expiry do not parse."""
        institution = reply.only("AO")
        if institution is not None and institution.strip() != self.settings.institution:
            raise Garbled("a reply about another institution")
        if reply.only("BL") != "Y":
            return None  # no such card (or an ILS that does not say it is valid)
        fields = self.settings.expiry_field, self.settings.category_field
        values = {f: reply.only(f) for f in ("AA", "CQ", "BV", *fields)}
        if values["AA"] != card:
            raise BadRecord("a reply about another card")
        if "AE" in reply.undecodable:
            raise BadRecord("a 64 whose AE is not in the configured encoding")
        # every field read before CQ decides, so a BadRecord does not say a PIN was right
        holder = CardHolder(
            library=self.library,
            card=card,
            name=(reply.first("AE") or "").strip(),
            category=values[self.settings.category_field] or "",
            expires=expiry(values[self.settings.expiry_field]),
            fines=amount(values["BV"]),
            flags=reply.flags(),
        )
        if pin_sent and values["CQ"] != "Y":
            return None  # a wrong PIN, or one the ILS did not check
        return holder


def amount(value: str | None) -> Decimal:
    """BV: blank or absent is nothing owed; anything but a plain number is garbled."""
    text = (value or "").strip()
    if not text:
        return Decimal(0)
    if not _AMOUNT.fullmatch(text):
        raise BadRecord("a fee amount (BV) that is not a number")
    return Decimal(text)


def expiry(value: str | None) -> date | None:
    """YYYYMMDD (PA, as Evergreen sends it), a SIP2 date (YYYYMMDDZZZZHHMMSS) or YYYY-MM-DD;
    blank or absent: the card does not expire. Anything else is garbled, never "no expiry"."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"[0-9]{8}(.{4}[0-9]{6})?", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise BadRecord("an expiry date that is not a date")


# --- one pool and one breaker per library ------------------------------------------------


@dataclass(frozen=True)
class Link:
    key: str
    pool: pool.Pool
    breaker: breaker.Breaker


_links: dict[str, Link] = {}
_links_lock = threading.Lock()


def _link(
    library: str, settings: Sip2Settings, failures: int, cooldown_s: float, size: int
) -> Link:
    key = json.dumps([settings.model_dump(mode="json"), failures, cooldown_s, size])
    replaced = None
    with _links_lock:
        link = _links.get(library)
        if link is None or link.key != key:
            replaced = link
            link = _links[library] = Link(
                key,
                pool.Pool(size=size),
                breaker.Breaker(failures=failures, cooldown_s=cooldown_s, library=library),
            )
        others = [other for other in _links.values() if other is not link]
    if replaced is not None:
        replaced.pool.close()
    for other in others:
        other.pool.sweep()
    return link


def forget() -> None:
    """Close every pooled connection and forget every breaker (tests; a hub shutting down)."""
    with _links_lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.pool.close()
