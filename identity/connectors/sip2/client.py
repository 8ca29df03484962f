"""One SIP2 2.00 connection to a home ILS: TCP (or TLS), a 93 login and a 99 status once, then
request/reply exchanges checked for sequence number and checksum.

A reply with a bad checksum is asked for again with 97, at most ``RESENDS`` times; a 96 from the
ILS (it could not read ours) makes the hub send its request again, within the same limit. A
reply with another sequence number, or another message than the one expected, ends the
exchange: the connection is closed by its pool and never reused after any error.
"""

from __future__ import annotations

import socket
import ssl
import time

from identity.connectors.sip2 import messages
from identity.connectors.sip2.errors import Dropped, Garbled, Refused, Unreachable

RESENDS = 2  # 97s (or resends after a 96) per exchange before the reply counts as garbled
MAX_REPLY = 65536  # bytes: a reply that long without a CR is not SIP2


class Connection:
    def __init__(
        self, sock: socket.socket, *, timeout_s: float, encoding: str, resends: int = RESENDS
    ) -> None:
        self._sock = sock
        self._timeout_s = timeout_s
        self._encoding = encoding
        self._resends = resends
        self._buffer = b""
        self._sequence = 0
        self._heard = False  # whether any byte of a reply arrived during this exchange
        self.closed = False

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout_s: float,
        encoding: str,
        tls: ssl.SSLContext | None = None,
    ) -> Connection:
        """A new connection; ``tls``: the context to wrap it in (it checks the host name)."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout_s)
        except TimeoutError:
            raise Unreachable(f"no connection to {host}:{port} within {timeout_s:g} s") from None
        except OSError as exc:
            raise Unreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise Unreachable(f"no TLS session with {host}:{port}: {exc}") from None
        return cls(sock, timeout_s=timeout_s, encoding=encoding)

    def exchange(self, body: str, expect: str) -> messages.Reply:
        """Send ``body`` (a request without its trailer) and return the ``expect`` reply."""
        sequence, self._sequence = self._sequence, (self._sequence + 1) % 10
        request = messages.frame(body, sequence=sequence, encoding=self._encoding)
        deadline = time.monotonic() + self._timeout_s
        self._heard = False
        self._send(request)
        resends = 0
        while True:
            raw = self._read(deadline)
            try:
                reply = messages.parse(raw, encoding=self._encoding)
            except messages.BadChecksum as exc:
                if resends == self._resends:
                    raise Garbled(f"{exc}, still after {resends} requests to resend") from None
                resends += 1
                self._send(messages.frame(messages.RESEND, sequence=None, encoding="ascii"))
                continue
            if reply.command == "96":  # the ILS could not read our request
                if resends == self._resends:
                    raise Garbled(f"the ILS could not read a {body[:2]}, {resends + 1} times")
                resends += 1
                self._send(request)
                continue
            if reply.sequence != sequence:
                raise Garbled(f"a reply with sequence number {reply.sequence}, not {sequence}")
            if reply.command != expect:
                raise Garbled(f"a {reply.command} in answer to a {body[:2]}")
            return reply

    def close(self) -> None:
        self.closed = True
        try:
            self._sock.close()
        except OSError:  # pragma: no cover - closing a broken socket
            pass

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            raise Dropped("the ILS closed the connection") from None
        except TimeoutError:
            raise Unreachable("the ILS did not take a request in time") from None
        except OSError as exc:
            raise Unreachable(f"cannot send to the ILS: {exc.strerror or exc}") from None

    def _read(self, deadline: float) -> bytes:
        """The next frame, up to and including its CR."""
        while True:
            self._buffer = self._buffer.lstrip(b"\n")  # the LF of an ILS that ends with CR LF
            end = self._buffer.find(b"\r")
            if end != -1:
                reply, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                return reply
            if len(self._buffer) > MAX_REPLY:
                raise Garbled(f"a reply longer than {MAX_REPLY} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unreachable(f"no answer within {self._timeout_s:g} s")
            try:
                self._sock.settimeout(remaining)
                data = self._sock.recv(4096)
            except TimeoutError:
                raise Unreachable(f"no answer within {self._timeout_s:g} s") from None
            except ConnectionResetError:
                data = b""
            except OSError as exc:
                raise Unreachable(f"cannot read from the ILS: {exc.strerror or exc}") from None
            if not data:
                if self._heard:
                    raise Unreachable("the ILS closed the connection in the middle of a reply")
                raise Dropped("the ILS closed the connection")
            self._heard = True
            self._buffer += data


def open_connection(
    host: str,
    port: int,
    *,
    timeout_s: float,
    encoding: str,
    tls: ssl.SSLContext | None,
    user: str | None,
    password: str,
    institution: str,
) -> Connection:
    """A connection ready for patron requests: logged in (93, when there is a user) and with
    the ILS online (99)."""
    connection = Connection.connect(host, port, timeout_s=timeout_s, encoding=encoding, tls=tls)
    try:
        if user is not None:
            reply = connection.exchange(messages.login(user=user, password=password), "94")
            if reply.fixed != "1":
                raise Refused(f"the ILS refused the login of {user!r}")
        status = connection.exchange(messages.sc_status(), "98")
        if status.fixed[0] != "Y":
            raise Refused(f"the ILS {institution!r} says it is offline")
    except BaseException:
        connection.close()
        raise
    return connection
