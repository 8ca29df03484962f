"""The ``ldap`` connector (docs/connectors.md): a patron's username (typed as the card) and
password checked by a bind at the home library's directory, LDAP or Active Directory.

- With ``search``: the service account (``bind_dn``, its password in ``password_env``) finds
  the patron's entry with ``filter`` under ``base`` (the username escaped as RFC 4515 says),
  and the entry is read; then the patron's DN is bound with the password. ``lookup`` (the
  eligibility API) is the search alone.
- With ``user_dn``: the patron's DN is the template with the username escaped as an RDN value
  (RFC 4514); after the bind the patron's own entry is read, as the patron. With no service
  account there is no ``lookup``: it is a 503 that says so.

A wrong password and an unknown username are the same answer (None), at the same cost: when no
entry is found, a bind with a random password to a DN that does not exist is made all the same.
An empty password raises ``ValueError`` before anything is sent (a bind with a DN and no
password is RFC 4513's unauthenticated bind, which proves nothing), and a username with a
control character is no one's. An account Active Directory marks disabled or expired is None
too, whatever the password. With ``search`` the entry is read before the password is bound, so
an entry the hub cannot read is a 503 whether or not the password was right.

Time, pooling and the breaker as for SIP2: two pools of at most ``connections`` each per library
and process, one of connections bound as the service account (bound once, reused for searches),
one for the patrons' binds; a call waits for a connection and talks to the directory within one
``timeout_s`` deadline; the breaker counts only failures of the directory (unreachable, no
answer in time, TLS that fails, the service account or a search refused), never what one
patron's bind or entry says. A directory that cannot be asked is ``HomeLibraryUnavailable``.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import policies
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.ldap import client, entries, pool
from identity.patrons.connectors.ldap.errors import BadRecord, Busy, LdapError, Refused
from identity.patrons.connectors.sip2 import breaker
from policies.model import LdapConnector as LdapSettings

T = TypeVar("T")

MISCONFIGURED_RETRY_S = 300  # a missing password or CA file is not fixed by trying again soon
#: what a patron's bind may answer besides success, all meaning "not this patron with this
#: password": invalidCredentials (AD: also disabled, expired, locked), invalidDNSyntax,
#: noSuchObject, inappropriateAuthentication, insufficientAccessRights, unwillingToPerform
NOT_THIS_PATRON = frozenset({49, 34, 32, 48, 50, 53, client.UNSENDABLE})
NO_SUCH_PATRON_RDN = "cn=hub-no-such-patron"


class LdapConnector:
    def __init__(
        self,
        library: policies.Library,
        *,
        environ: Mapping[str, str] | None = None,
        failures: int = breaker.FAILURES,
        cooldown_s: float = breaker.COOLDOWN_S,
    ) -> None:
        settings = library.connector
        if not isinstance(settings, LdapSettings):
            raise ValueError(f"{library.id} does not check its patrons at a directory")
        self.library = library
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self.link = _link(library.id, settings, failures, cooldown_s)

    def authenticate(self, card: str, pin: str) -> CardHolder | None:
        if not pin:
            raise ValueError("an empty password is refused before anything is sent")
        if not _sendable(card):
            return None
        if self.settings.search is None:
            return self._guarded(lambda deadline: self._bind_at_template(card, pin, deadline))
        service = self._service_password()
        return self._guarded(lambda deadline: self._search_and_bind(card, pin, service, deadline))

    def lookup(self, card: str) -> CardHolder | None:
        if self.settings.search is None:
            raise HomeLibraryUnavailable(
                self.library.id,
                "the directory is asked only with a patron's password (user_dn): looking a "
                "patron up needs a service account (search)",
                retry_after=MISCONFIGURED_RETRY_S,
            )
        if not _sendable(card):
            return None
        service = self._service_password()

        def look_up(deadline: float) -> CardHolder | None:
            found = self._find(card, service, deadline)
            return None if found is None or found.reading.refused else found.reading.holder

        return self._guarded(look_up)

    # --- the two ways to a patron's entry ------------------------------------------------

    def _search_and_bind(
        self, card: str, pin: str, service: str, deadline: float
    ) -> CardHolder | None:
        found = self._find(card, service, deadline)
        search = self.settings.search
        assert search is not None
        if found is None:  # the same exchanges as a wrong password
            nobody = f"{NO_SUCH_PATRON_RDN},{search.base}"
            self._binds(nobody, secrets.token_urlsafe(16), deadline)
            return None
        if not self._binds(found.dn, pin, deadline) or found.reading.refused:
            return None
        return found.reading.holder

    def _bind_at_template(self, card: str, pin: str, deadline: float) -> CardHolder | None:
        assert self.settings.user_dn is not None
        dn = self.settings.user_dn.replace("{card}", client.escape_rdn(card))

        def own_entry(connection: client.Connection, deadline: float) -> entries.Reading:
            _, found = connection.search(
                dn, "(objectClass=*)", attributes=self._attributes, deadline=deadline,
                subtree=False, size_limit=1,
            )  # fmt: skip
            if not found:
                raise BadRecord(
                    "the patron signed in, but the directory shows them none of their entry"
                )
            return self._read(card, found[0])

        reading = self._bind(dn, pin, deadline, own_entry)
        if reading is None or reading.refused:
            return None
        return reading.holder

    # --- the directory's answers ----------------------------------------------------------

    def _find(self, card: str, service: str, deadline: float) -> _Found | None:
        """The patron's entry found by the service account, or None."""
        search = self.settings.search
        assert search is not None
        query = search.filter.replace("{card}", client.escape_filter_chars(card))

        def connect(deadline: float) -> client.Connection:
            connection = self._open(deadline)
            try:
                bound = connection.bind(search.bind_dn, service, deadline=deadline)
            except BaseException:
                connection.close()
                raise
            if not bound.ok:
                connection.close()
                raise Refused(
                    f"the directory refused the service account {search.bind_dn}: "
                    f"{bound.description}"
                )
            return connection

        def work(connection: client.Connection, deadline: float) -> _Found | None:
            result, found = connection.search(
                search.base, query, attributes=self._attributes, deadline=deadline
            )
            if len(found) > 1:
                raise BadRecord(f"{len(found)} entries match the search filter")
            if result.code not in (client.SUCCESS, 4):  # 4: sizeLimitExceeded
                raise Refused(f"the directory refused the search: {result.description}")
            return _Found(found[0].dn, self._read(card, found[0])) if found else None

        return self.link.service.run(connect, work, deadline=deadline)

    def _binds(self, dn: str, password: str, deadline: float) -> bool:
        """Whether ``password`` binds ``dn``."""
        return self._bind(dn, password, deadline, lambda connection, deadline: True) is True

    def _bind(
        self, dn: str, password: str, deadline: float, then: Callable[[client.Connection, float], T]
    ) -> T | None:
        """What ``then`` makes of the connection bound as ``dn`` with ``password``; None when
        the password does not bind ``dn``."""

        def work(connection: client.Connection, deadline: float) -> T | None:
            result = connection.bind(dn, password, deadline=deadline)
            if result.code in NOT_THIS_PATRON:
                return None
            if not result.ok:
                raise Refused(f"the directory could not check a password: {result.description}")
            return then(connection, deadline)

        return self.link.patrons.run(self._open, work, deadline=deadline)

    def _open(self, deadline: float) -> client.Connection:
        settings = self.settings
        return client.open_connection(
            settings.host,
            settings.port,
            ldaps=settings.ldaps,
            start_tls=settings.start_tls,
            tls=self.link.tls,
            deadline=deadline,
        )

    @property
    def _attributes(self) -> list[str]:
        standing = self.library.standing  # a standing source's own copy names none
        return entries.attributes(self.settings, standing.match if standing else None)

    def _read(self, card: str, entry: client.Entry) -> entries.Reading:
        return entries.read(self.library, self.settings, card, entry, datetime.now(UTC))

    # --- failing closed ---------------------------------------------------------------------

    def _guarded(self, ask: Callable[[float], T]) -> T:
        """``ask(deadline)`` behind the breaker, its failures turned into
        ``HomeLibraryUnavailable``."""
        return self.link.breaker.guard(
            lambda: ask(time.monotonic() + self.settings.timeout_s),
            library=self.library.id, peer="the directory", where=f"LDAP {self.settings.url}",
            busy=Busy, bad_record=BadRecord, failure=LdapError,
        )  # fmt: skip

    def _service_password(self) -> str:
        search = self.settings.search
        assert search is not None
        value = self._environ.get(search.password_env)
        if not value:
            raise HomeLibraryUnavailable(
                self.library.id,
                f"the environment variable {search.password_env}, holding the password of the "
                "directory's service account, is not set",
                retry_after=MISCONFIGURED_RETRY_S,
            )
        return value


@dataclass(frozen=True, slots=True)
class _Found:
    dn: str
    reading: entries.Reading


def _sendable(card: str) -> bool:
    """Whether ``card`` can be anyone's username: not empty, no control characters."""
    return bool(card) and card.isprintable()


# --- one pair of pools and one breaker per library -------------------------------------------


@dataclass(frozen=True)
class Link:
    key: str
    tls: ssl.SSLContext | None
    service: pool.Pool
    patrons: pool.Pool
    breaker: breaker.Breaker

    def close(self) -> None:
        self.service.close()
        self.patrons.close()


_links: dict[str, Link] = {}
_links_lock = threading.Lock()


def _link(library: str, settings: LdapSettings, failures: int, cooldown_s: float) -> Link:
    key = json.dumps([settings.model_dump(mode="json"), failures, cooldown_s])
    replaced = None
    with _links_lock:
        link = _links.get(library)
        if link is None or link.key != key:
            replaced = link
            link = _links[library] = Link(
                key,
                _tls(library, settings),
                pool.Pool(size=settings.connections),
                pool.Pool(size=settings.connections),
                breaker.Breaker(failures=failures, cooldown_s=cooldown_s, library=library),
            )
        others = [other for other in _links.values() if other is not link]
    if replaced is not None:
        replaced.close()
    for other in others:
        other.service.sweep()
        other.patrons.sweep()
    return link


def _tls(library: str, settings: LdapSettings) -> ssl.SSLContext | None:
    if not (settings.ldaps or settings.start_tls):
        return None
    try:
        context = ssl.create_default_context(cafile=settings.tls_ca)
    except (OSError, ssl.SSLError) as exc:
        raise HomeLibraryUnavailable(
            library,
            f"the CA bundle tls_ca {settings.tls_ca} cannot be read: {exc}",
            retry_after=MISCONFIGURED_RETRY_S,
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def forget() -> None:
    """Close every pooled connection and forget every breaker (tests; a hub shutting down)."""
    with _links_lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.close()
