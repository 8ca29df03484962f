"""One SIP2 2.00 connection to a home ILS: TCP (or TLS), a 93 login and a 99 status once, then
request/reply exchanges checked for sequence number and checksum.

A reply with a bad checksum is asked for again with 97, at most ``RESENDS`` times; a 96 from the
ILS (it could not read ours) makes the hub send its request again, within the same limit. Before
a 97 (or a resent request) goes out, everything already received is thrown away (what is
buffered, and whatever can be read at once): the next frame must be what the ILS sends after
being asked again, never bytes that followed the bad frame (a CR inside a field would otherwise
let the rest of that field pass for the "resent" reply). A connection that needed a resend is
never reused.

A reply with another sequence number, or another message than the one expected, ends the
exchange, and so do bytes after an accepted reply (besides the LF of a CR LF): the connection
is out of step, and its pool closes it. ``reusable`` is False once anything about the
connection is in doubt; ``idle_ok()`` checks, without waiting, that an idle connection has
received nothing and has not been closed by the ILS.

Every exchange runs to a ``deadline`` (``time.monotonic()``): sending, each 97 and every read
share it, and ``open_connection`` runs the connect, the TLS handshake, the 93 and the 99 to one
deadline too. A failure while sending the request itself is ``NotSent`` (the ILS cannot have
read a whole request, whose CR is its last byte): only then may a caller try again elsewhere.
A request that cannot be written in the configured encoding is ``Refused``, with a message that
holds nothing of the request (which may be a PIN or the login password).
"""

from __future__ import annotations

import socket
import ssl
import time

from identity.patrons.connectors.sip2 import messages
from identity.patrons.connectors.sip2.errors import (
    Dropped,
    Garbled,
    NotSent,
    Refused,
    Unreachable,
)

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
        self.reusable = True  # False once a resend was needed or the ILS closed its end

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout_s: float,
        encoding: str,
        tls: ssl.SSLContext | None = None,
        deadline: float | None = None,
    ) -> Connection:
        """A new connection; ``tls``: the context to wrap it in (it checks the host name)."""
        deadline = time.monotonic() + timeout_s if deadline is None else deadline
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unreachable(f"no connection to {host}:{port} within {timeout_s:g} s")
        try:
            sock = socket.create_connection((host, port), timeout=remaining)
        except TimeoutError:
            raise Unreachable(f"no connection to {host}:{port} within {timeout_s:g} s") from None
        except OSError as exc:
            raise Unreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        if tls is not None:
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock = tls.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise Unreachable(f"no TLS session with {host}:{port}: {exc}") from None
        return cls(sock, timeout_s=timeout_s, encoding=encoding)

    def exchange(self, body: str, expect: str, *, deadline: float | None = None) -> messages.Reply:
        """Send ``body`` (a request without its trailer) and return the ``expect`` reply, all
        before ``deadline`` (by default ``timeout_s`` from now)."""
        sequence, self._sequence = self._sequence, (self._sequence + 1) % 10
        request = self._frame(body, sequence)
        deadline = time.monotonic() + self._timeout_s if deadline is None else deadline
        self._heard = False
        self._send(request, deadline, first=True)
        resends = 0
        while True:
            raw = self._read(deadline)
            try:
                reply = messages.parse(raw, encoding=self._encoding)
            except messages.BadChecksum as exc:
                if resends == self._resends:
                    raise Garbled(f"{exc}, still after {resends} requests to resend") from None
                resends += 1
                self.reusable = False
                self._discard()
                resend = messages.frame(messages.RESEND, sequence=None, encoding="ascii")
                self._send(resend, deadline)
                continue
            if reply.command == "96":  # the ILS could not read our request
                if resends == self._resends:
                    raise Garbled(f"the ILS could not read a {body[:2]}, {resends + 1} times")
                resends += 1
                self.reusable = False
                self._discard()
                self._send(request, deadline)
                continue
            if reply.sequence != sequence:
                raise Garbled(f"a reply with sequence number {reply.sequence}, not {sequence}")
            if reply.command != expect:
                raise Garbled(f"a {reply.command} in answer to a {body[:2]}")
            self._after_reply()
            return reply

    def idle_ok(self) -> bool:
        """Whether an idle connection is still fit for use: nothing has arrived on it since its
        last reply (stale bytes) and the ILS has not closed it. Does not wait."""
        if self.closed or not self.reusable or self._buffer:
            return False
        try:
            data = self._poll()
        except Unreachable:
            return False
        return data == b""

    def close(self) -> None:
        self.closed = True
        try:
            self._sock.close()
        except OSError:  # pragma: no cover - closing a broken socket
            pass

    def _frame(self, body: str, sequence: int) -> bytes:
        framed = None
        try:
            framed = messages.frame(body, sequence=sequence, encoding=self._encoding)
        except (UnicodeError, LookupError):
            pass  # raised below, outside the handler, so that no exception keeps the request
        if framed is None:
            raise Refused(f"a {body[:2]} that cannot be written in {self._encoding}")
        return framed

    def _send(self, data: bytes, deadline: float, *, first: bool = False) -> None:
        """``first``: the request itself, before any reply (a failure there is ``NotSent``)."""
        lost = NotSent if first else Dropped
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unreachable(f"no answer within {self._timeout_s:g} s")
        try:
            self._sock.settimeout(remaining)
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            raise lost("the ILS closed the connection") from None
        except TimeoutError:
            raise Unreachable("the ILS did not take a request in time") from None
        except OSError as exc:
            raise Unreachable(f"cannot send to the ILS: {exc.strerror or exc}") from None

    def _poll(self) -> bytes:
        """Whatever can be read at once (b"" when nothing); ``Dropped`` when the ILS has closed
        the connection. On TLS, bytes that are only TLS records (a session ticket) give b""."""
        try:
            self._sock.setblocking(False)
            try:
                data = self._sock.recv(4096)
            finally:
                self._sock.setblocking(True)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return b""
        except ConnectionResetError:
            data = b""
        except OSError as exc:
            raise Unreachable(f"cannot read from the ILS: {exc.strerror or exc}") from None
        if not data:
            self.reusable = False
            raise Dropped("the ILS closed the connection")
        return data

    def _discard(self) -> None:
        """Throw away what was received and not yet read, and whatever can be read at once."""
        self._buffer = b""
        discarded = 0
        while True:
            try:
                data = self._poll()
            except Dropped:
                raise Unreachable("the ILS closed the connection after a bad reply") from None
            if not data:
                return
            discarded += len(data)
            if discarded > MAX_REPLY:
                raise Garbled(f"more than {MAX_REPLY} bytes of replies nobody asked for")

    def _after_reply(self) -> None:
        """After an accepted reply nothing else may have arrived (a CR LF's LF aside)."""
        while True:
            self._buffer = self._buffer.lstrip(b"\n")
            if self._buffer:
                self._buffer = b""
                raise Garbled("bytes after the reply (the connection is out of step)")
            try:
                data = self._poll()
            except Dropped:
                return  # the reply is whole; the connection is not reusable
            if not data:
                return
            self._buffer = data

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
                self.reusable = False
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
    deadline: float | None = None,
) -> Connection:
    """A connection ready for patron requests: logged in (93, when there is a user) and with
    the ILS online (99), all before ``deadline`` (by default ``timeout_s`` from now)."""
    deadline = time.monotonic() + timeout_s if deadline is None else deadline
    connection = Connection.connect(
        host, port, timeout_s=timeout_s, encoding=encoding, tls=tls, deadline=deadline
    )
    try:
        if user is not None:
            reply = connection.exchange(
                messages.login(user=user, password=password), "94", deadline=deadline
            )
            if reply.fixed != "1":
                raise Refused(f"the ILS refused the login of {user!r}")
        status = connection.exchange(messages.sc_status(), "98", deadline=deadline)
        if status.fixed[0] != "Y":
            raise Refused(f"the ILS {institution!r} says it is offline")
    except BaseException:
        connection.close()
        raise
    return connection
