"""Home ILSes that misbehave, written by hand because they model misbehaviour: each answers 93
and 99 properly (with pysip2's codec), then answers every 63 with ``answer(sock, request,
sequence)``, which may send anything, stall, or close the connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from pysip2 import ACSStatusResponse, LoginResponse, SIPResponse, encode_message

Answer = Callable[[socket.socket, bytes, int], None]


def reply(message: SIPResponse, sequence: int) -> bytes:
    return encode_message(message, sequence_number=sequence, checksum=True)


def acs_status(sequence: int) -> bytes:
    status = ACSStatusResponse(
        online_status="Y",
        checkin_ok="N",
        checkout_ok="N",
        acs_renewal_policy="N",
        status_update_ok="N",
        offline_ok="N",
        timeout_period="030",
        retries_allowed="003",
        date_time_sync="20261122    120000",
        protocol_version="2.00",
        institution_id="sipu",
        supported_messages="YNNNYYYYNNNNNNNN",
    )
    return reply(status, sequence)


def patron_information(card: str, **fields: Any) -> dict[str, Any]:
    """The fields of a 64 for a valid patron with a verified PIN, to change as a test needs."""
    return {
        "patron_status": " " * 14,
        "language": "001",
        "transaction_date": "20261122    120000",
        "hold_items_count": "0000",
        "overdue_items_count": "0000",
        "charged_items_count": "0000",
        "fine_items_count": "0000",
        "recall_items_count": "0000",
        "unavailable_holds_count": "0000",
        "institution_id": "sipu",
        "patron_identifier": card,
        "personal_name": "Faye Fake",
        "valid_patron": "Y",
        "valid_patron_password": "Y",
        **fields,
    }


class FakeIls:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.accepted = 0
        self.frames: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self, command: bytes) -> int:
        with self._lock:
            return sum(1 for frame in self.frames if frame.startswith(command))

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r" not in buffer:
                    data = sock.recv(4096)
                    if not data:
                        return
                    buffer += data
                frame, buffer = buffer.split(b"\r", 1)
                with self._lock:
                    self.frames.append(frame)
                sequence = frame[-7] - 48 if frame[-9:-7] == b"AY" else 0
                if frame.startswith(b"93"):
                    sock.sendall(reply(LoginResponse(ok="1"), sequence))
                elif frame.startswith(b"99"):
                    sock.sendall(acs_status(sequence))
                else:
                    self.answer(sock, frame, sequence)
        except OSError:
            return
