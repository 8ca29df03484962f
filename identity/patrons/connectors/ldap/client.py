"""One connection to a home library's directory (LDAP v3, RFC 4511), through ldap3's synchronous
strategy: TCP, then TLS (``ldaps://``, or the StartTLS operation of RFC 4511 §4.14), then simple
binds (RFC 4513 §5.1.3) and searches.

TLS is Python's own: the library's ``ssl.SSLContext`` (its ``tls_ca`` or the system's trust
store) checks the certificate chain and the host name, and the host name goes out as SNI.
``TCP_NODELAY`` is set on every socket: without it each exchange over TLS waits about 40 ms for
the peer's delayed acknowledgement.

Every operation runs to a ``deadline`` (``time.monotonic()``): the connect, the TLS handshake
and each exchange get what is left of it as their socket timeout. A bind never goes out on a
connection that should be TLS and is not, nor on one ldap3 would have to open again (it would
open it without StartTLS); a failure while sending a request on a connection is ``NotSent``.
Passwords are never put in an exception, and ldap3 is told to forget them after each bind.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from identity.patrons.connectors.ldap.errors import NotSent, Refused, Unreachable

with warnings.catch_warnings():  # ldap3 uses names pyasn1 has since deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap_errors
    from ldap3.protocol.sasl.sasl import validate_simple_password
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

__all__ = ["Connection", "Entry", "Result", "escape_filter_chars", "escape_rdn", "open_connection"]

SUCCESS = 0
#: a bind result the hub made up: the password cannot be sent (RFC 4013 forbids a character)
UNSENDABLE = -1
#: what a directory answers when it is too busy or down to answer (RFC 4511 §4.1.9)
BUSY, UNAVAILABLE = 51, 52
CLOSE_S = 0.5  # for the unbind of a connection being closed


@dataclass(frozen=True, slots=True)
class Entry:
    dn: str
    #: the attributes returned, by lower-case name, values as sent
    attributes: dict[str, tuple[bytes, ...]]


@dataclass(frozen=True, slots=True)
class Result:
    code: int  # the LDAP result code (RFC 4511 appendix A)
    description: str  # the directory's words for it, and its diagnostic message

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS


class _Tls(ldap3.Tls):  # type: ignore[misc]
    """ldap3's TLS, done with the library's own context: the chain and the host name checked,
    the host name sent as SNI."""

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self._context, self._host = context, host

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        nodelay(connection.socket)
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self._host,
        )


def nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def open_connection(
    host: str,
    port: int,
    *,
    ldaps: bool,
    start_tls: bool,
    tls: ssl.SSLContext | None,
    deadline: float,
) -> Connection:
    """A new connection, TLS in place when ``ldaps`` or ``start_tls`` (then ``tls`` is the
    context); not bound yet."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    remaining = _remaining(deadline, where)
    secure = ldaps or start_tls
    if secure and tls is None:
        raise ValueError("a TLS context is needed for ldaps:// or StartTLS")
    try:
        server = ldap3.Server(
            host,
            port=port,
            use_ssl=ldaps,
            tls=_Tls(tls, host) if tls is not None else None,
            get_info=ldap3.NONE,
            connect_timeout=remaining,
            mode=ldap3.IP_V4_PREFERRED,
        )
    except ldap_errors.LDAPException as exc:
        raise Unreachable(_failure(exc, where, "connecting")) from None
    conn = ldap3.Connection(
        server,
        client_strategy=ldap3.SYNC,
        auto_bind=ldap3.AUTO_BIND_NONE,
        auto_referrals=False,  # a referral is never followed to another server
        read_only=True,
        raise_exceptions=False,
        return_empty_attributes=False,
        check_names=False,
    )
    try:
        conn.open(read_server_info=False)
        nodelay(conn.socket)
        if start_tls:
            conn.socket.settimeout(_remaining(deadline, where))
            conn.start_tls(read_server_info=False)
    except BaseException as exc:
        Connection(conn, where=where, tls=secure).close()
        if isinstance(exc, ldap_errors.LDAPException | OSError):
            raise Unreachable(_failure(exc, where, "connecting")) from None
        raise
    connection = Connection(conn, where=where, tls=secure)
    if secure and not connection.encrypted:
        connection.close()
        raise Unreachable(f"no TLS session with {where}")
    return connection


class Connection:
    """One open connection to the directory; used by one thread at a time (its pool's)."""

    def __init__(self, conn: ldap3.Connection, *, where: str, tls: bool) -> None:
        self._conn = conn
        self.where = where
        self.tls = tls
        self.reusable = True

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)

    @property
    def encrypted(self) -> bool:
        return isinstance(self._conn.socket, ssl.SSLSocket)

    def close(self) -> None:
        """An unbind (RFC 4511 §4.3) if the connection is up, and the socket closed."""
        self.reusable = False
        sock = self._conn.socket
        try:
            if not self._conn.closed:
                sock.settimeout(CLOSE_S)
                self._conn.unbind()
        except (ldap_errors.LDAPException, OSError):
            pass
        if sock is not None:
            sock.close()  # also when ldap3 never opened it (the connect failed)

    def idle_ok(self) -> bool:
        """Whether an idle connection may be used: nothing has arrived on it (a server that
        closes an idle connection sends a notice of disconnection, or just closes it)."""
        if self._conn.closed or not self.reusable:
            return False
        sock = self._conn.socket
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def bind(self, dn: str, password: str, *, deadline: float) -> Result:
        """A simple bind as ``dn``. The result says whether the directory accepted the
        password; failures to ask it raise."""
        if not password:
            raise ValueError("an empty password is an unauthenticated bind: never sent")
        try:
            validate_simple_password(password)
        except ldap_errors.LDAPException:
            return Result(UNSENDABLE, "a password that cannot be sent (RFC 4013)")
        if self.closed:
            raise NotSent(f"the connection to {self.where} was closed")
        if self.tls and not self.encrypted:
            raise Refused(f"the connection to {self.where} has no TLS: no password is sent")
        remaining = _remaining(deadline, self.where)
        try:
            self._conn.socket.settimeout(remaining)
            self._conn.rebind(
                user=dn, password=password, authentication=ldap3.SIMPLE, read_server_info=False
            )
        except (ldap_errors.LDAPException, OSError) as exc:
            self.reusable = False
            raise _unreachable(exc, self.where, "binding") from None
        finally:
            self._conn.password = None
        return self._result()

    def search(
        self,
        base: str,
        search_filter: str,
        *,
        attributes: Sequence[str],
        deadline: float,
        subtree: bool = True,
        size_limit: int = 2,
    ) -> tuple[Result, list[Entry]]:
        """The entries ``search_filter`` finds under ``base`` (or ``base`` itself), at most
        ``size_limit`` of them, with ``attributes``."""
        remaining = _remaining(deadline, self.where)
        try:
            self._conn.socket.settimeout(remaining)
            self._conn.search(
                base,
                search_filter,
                search_scope=ldap3.SUBTREE if subtree else ldap3.BASE,
                dereference_aliases=ldap3.DEREF_NEVER,
                attributes=list(attributes),
                size_limit=size_limit,
                time_limit=max(1, int(remaining)),
            )
        except (ldap_errors.LDAPInvalidFilterError, ldap_errors.LDAPInvalidDnError) as exc:
            raise Refused(f"the search cannot be written: {exc}") from None
        except (ldap_errors.LDAPException, OSError) as exc:
            self.reusable = False
            raise _unreachable(exc, self.where, "searching") from None
        entries = [
            Entry(
                str(found["dn"]),
                {str(k).lower(): tuple(v) for k, v in found["raw_attributes"].items()},
            )
            for found in self._conn.response or ()
            if found.get("type") == "searchResEntry"
        ]
        return self._result(), entries

    def _result(self) -> Result:
        result = self._conn.result or {}
        code = int(result.get("result", -2))
        words = " ".join(
            str(part) for part in (result.get("description"), result.get("message")) if part
        )
        if code in (BUSY, UNAVAILABLE):
            self.reusable = False
            raise Unreachable(f"{self.where} answered {words or code}")
        return Result(code, words or str(code))


def _remaining(deadline: float, where: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Unreachable(f"no answer from {where} in time")
    return remaining


def _unreachable(exc: Exception, where: str, doing: str) -> Unreachable:
    if isinstance(exc, ldap_errors.LDAPSocketSendError):
        return NotSent(_failure(exc, where, doing))
    return Unreachable(_failure(exc, where, doing))


def _failure(exc: Exception, where: str, doing: str) -> str:
    """What went wrong, in words: ldap3 wraps the socket's error in its own, sometimes twice."""
    text = _SSL_WORDS.search(str(exc).replace("\\'", "'"))
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} in time ({doing})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate of {where} is not trusted: {text[1] if text else exc}"
    if isinstance(exc, ssl.SSLError):
        return f"no TLS session with {where}: {text[1] if text else exc}"
    return f"{where} failed while {doing}: {_UNWRAP.sub('', str(exc))}"


_SSL_WORDS = re.compile(r"\[SSL: [A-Z_]+\] (?:certificate verify failed: )?([^(]*?)\.? \(_ssl")
_UNWRAP = re.compile(r"""^[(\\'",\s]+|[)\\'",\s]+$""")
