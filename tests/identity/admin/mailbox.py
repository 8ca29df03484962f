"""A real SMTP server for the tests (aiosmtpd, in a thread of the test process): the hub sends
to it as to any mail server, and the tests read what arrived."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port


class Mailbox:
    """``options``: aiosmtpd's, e.g. ``tls_context`` and ``require_starttls``."""

    def __init__(self, **options: Any) -> None:
        self.messages: list[Message] = []
        #: for each MAIL command (a mail begun), whether it came over TLS
        self.began_over_tls: list[bool] = []
        self._arrived = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.began_over_tls.append(session.ssl is not None)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject: str = "", within_s: float = 10) -> Message:
        """The first mail to ``address`` whose subject contains ``subject``, once it arrives."""
        deadline = time.monotonic() + within_s
        with self._arrived:
            while True:
                found = [m for m in self.to(address) if subject in (m["Subject"] or "")]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no mail to {address} about {subject!r}; got {self.summary()}"
                self._arrived.wait(left)

    def summary(self) -> list[tuple[str, str]]:
        return [(str(m["To"]), str(m["Subject"])) for m in self.messages]

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()
            self.began_over_tls.clear()


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(message: Message) -> str:
    found = re.search(r"https?://\S+", body_of(message))
    assert found, f"no link in {body_of(message)!r}"
    return found.group(0)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()
