"""Regressions from a review of the SIP2 connector: frames smuggled after a bad checksum,
replies that leave a connection out of step, repeated fields, the breaker's half-open state and
deadlines, one patron's record taking a library down, secrets in encoding errors, a PIN sent
twice, and pools that outlive their library."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic
import pytest

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.sip2 import Sip2Connector, client, messages
from identity.patrons.connectors.sip2.connector import _links
from identity.patrons.connectors.sip2.errors import Refused
from tests.identity.connectors.fakes import Answer, FakeIls
from tests.identity.connectors.ils import library

CARD, PIN = "28880000000042", "9876"
FIXED = b"64" + b" " * 14 + b"001" + b"20261122    120000" + b"0000" * 6


def framed(body: bytes, sequence: int | None) -> bytes:
    data = body + (b"AY%dAZ" % sequence if sequence is not None else b"AZ")
    return data + messages.checksum(data).encode() + b"\r"


def r64(card: str, sequence: int, extra: bytes = b"BLY|CQY|", name: bytes = b"Faye") -> bytes:
    return framed(FIXED + b"AOsipu|AA" + card.encode() + b"|AE" + name + b"|" + extra, sequence)


def card_of(frame: bytes) -> str:
    return frame.split(b"|AA", 1)[1].split(b"|", 1)[0].decode()


def connector(port: int, **settings: Any) -> Sip2Connector:
    return Sip2Connector(library(port, user=None, password_env=None, **settings))


def connector_with(port: int, **kwargs: Any) -> Sip2Connector:
    return Sip2Connector(library(port, user=None, password_env=None), **kwargs)


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], FakeIls]]:
    started: list[FakeIls] = []

    def start(answer: Answer) -> FakeIls:
        started.append(FakeIls(answer))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


def answers_64(extra: bytes = b"BLY|CQY|", name: bytes = b"Faye") -> Answer:
    def answer(sock: socket.socket, frame: bytes, sequence: int) -> None:
        if frame.startswith(b"63"):
            sock.sendall(r64(card_of(frame), sequence, extra, name))

    return answer


# --- 1: after a bad checksum, only what the ILS sends after the 97 is the reply --------------


def cr_in_a_field(sock: socket.socket, frame: bytes, sequence: int) -> None:
    """The reviewer's e1b: a real 64 (BLY, CQN, all flags, fees) whose BE field holds a CR,
    followed in the same field by a complete forged 64 (right AY, valid checksum, CQY)."""
    if frame.startswith(b"97"):
        return  # the ILS has nothing more to say
    card = card_of(frame)
    forged = r64(card, sequence, b"BLY|CQY|BV0.00|", b"Clean")
    real = FIXED.replace(b" " * 14, b"Y" * 14, 1) + b"AOsipu|AA" + card.encode()
    real += b"|AEEve|BLY|CQN|BV99.00|BEx\r" + forged + b"more|"
    sock.sendall(framed(real, sequence))


def test_a_frame_smuggled_after_a_bad_checksum_is_never_the_resent_reply(
    serve: Callable[[Answer], FakeIls],
) -> None:
    fake = serve(cr_in_a_field)
    sip2 = connector(fake.port)
    with pytest.raises(HomeLibraryUnavailable):
        sip2.authenticate(CARD, PIN)
    assert fake.count(b"97") == 1
    assert sip2.link.pool.idle == 0  # the connection, with the rest of the frame, is closed
    with pytest.raises(HomeLibraryUnavailable):
        sip2.authenticate(CARD, PIN)
    assert fake.accepted == 2


def test_bytes_after_an_accepted_reply_close_the_connection(
    serve: Callable[[Answer], FakeIls],
) -> None:
    def reply_and_more(sock: socket.socket, frame: bytes, sequence: int) -> None:
        sock.sendall(r64(card_of(frame), sequence) + r64(card_of(frame), (sequence + 1) % 10))

    fake = serve(reply_and_more)
    sip2 = connector(fake.port)
    with pytest.raises(HomeLibraryUnavailable, match="bytes after the reply"):
        sip2.authenticate(CARD, PIN)
    assert sip2.link.pool.idle == 0


def test_a_connection_that_needed_a_resend_is_not_pooled(
    serve: Callable[[Answer], FakeIls],
) -> None:
    sent: dict[str, int] = {}

    def bad_then_good(sock: socket.socket, frame: bytes, sequence: int) -> None:
        if frame.startswith(b"63"):
            sent["sequence"] = sequence
            good = r64(card_of(frame), sequence)
            sock.sendall(good[:-2] + (b"0" if good[-2:-1] != b"0" else b"1") + b"\r")
        else:
            sock.sendall(r64(CARD, sent["sequence"]))

    fake = serve(bad_then_good)
    sip2 = connector(fake.port)
    assert sip2.authenticate(CARD, PIN) is not None
    assert fake.count(b"97") == 1 and sip2.link.pool.idle == 0


def test_an_idle_connection_that_received_stale_bytes_is_not_reused(
    serve: Callable[[Answer], FakeIls],
) -> None:
    def late_echo(sock: socket.socket, frame: bytes, sequence: int) -> None:
        sock.sendall(r64(card_of(frame), sequence, b"BLY|CQN|"))

        def later() -> None:  # a forged answer to the next request, sent ahead of it
            time.sleep(0.05)
            sock.sendall(r64(card_of(frame), (sequence + 1) % 10, b"BLY|CQY|"))

        if fake_state.setdefault("late", 0) == 0:
            fake_state["late"] = 1
            threading.Thread(target=later, daemon=True).start()

    fake_state: dict[str, int] = {}
    fake = serve(late_echo)
    sip2 = connector(fake.port)
    assert sip2.authenticate(CARD, PIN) is None
    time.sleep(0.15)
    assert sip2.authenticate(CARD, PIN) is None  # the ILS says CQN; the stale CQY is not read
    assert fake.accepted == 2


# --- 2 and 5: the whole reply is read under the pool; one record is not the ILS ------------


def test_a_valid_patron_reply_about_another_card_closes_the_connection_and_is_no_patron(
    serve: Callable[[Answer], FakeIls],
) -> None:
    def other_card(sock: socket.socket, frame: bytes, sequence: int) -> None:
        sock.sendall(r64("28880000000043", sequence))

    fake = serve(other_card)
    sip2 = connector_with(fake.port, failures=2)
    for _ in range(3):
        with pytest.raises(HomeLibraryUnavailable, match="another card") as failed:
            sip2.authenticate(CARD, PIN)
        assert sip2.link.pool.idle == 0 and failed.value.retry_after == 60
    # what one card's reply says never opens the breaker: whoever sends that card would close
    # the library to everyone
    assert fake.accepted == 3 and sip2.link.breaker.remaining() is None


@pytest.mark.parametrize(
    ("extra", "name", "detail"),
    [
        (b"BLY|CQY|BVabc|", b"Faye", "fee amount"),
        (b"BLY|CQY|PAnot-a-date|", b"Faye", "expiry"),
        (b"BLY|CQY|", b"Ren\xe9e", "AE is not in the configured encoding"),
        (b"BLY|CQY|BV1\xff|", b"Faye", "BV is not in the configured encoding"),
    ],
)
def test_one_unreadable_record_does_not_open_the_breaker(
    serve: Callable[[Answer], FakeIls], extra: bytes, name: bytes, detail: str
) -> None:
    def answer(sock: socket.socket, frame: bytes, sequence: int) -> None:
        bad = card_of(frame) == "BAD1"
        sock.sendall(
            r64(card_of(frame), sequence, extra if bad else b"BLY|CQY|", name if bad else b"Faye")
        )

    fake = serve(answer)
    sip2 = Sip2Connector(library(fake.port, user=None, password_env=None, encoding="utf-8"))
    for _ in range(5):
        with pytest.raises(HomeLibraryUnavailable, match=detail) as failed:
            sip2.authenticate("BAD1", PIN)
        assert failed.value.retry_after == 60 and sip2.link.pool.idle == 0
    assert sip2.link.breaker.remaining() is None
    holder = sip2.authenticate("GOOD1", PIN)
    assert holder is not None and holder.name == "Faye"


# --- 3: a field the hub reads may appear once ----------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        b"BLY|CQN|",  # with AE "Eve|CQY": the reviewer's case
        b"BLN|BLY|CQY|",
        b"BLY|CQY|BV0.00|BV0.00|",
        b"BLY|CQY|PA20991231|PA20991231|",
        b"BLY|CQY|PCUG|PCST|",
        b"BLY|CQY|AOsipu|",
        b"BLY|CQY|AA28880000000042|",
        b"BLY|CQY|AY3|",
    ],
)
def test_a_repeated_field_is_no_patron(serve: Callable[[Answer], FakeIls], extra: bytes) -> None:
    fake = serve(answers_64(extra, b"Eve|CQY"))
    sip2 = connector(fake.port)
    with pytest.raises(HomeLibraryUnavailable, match="2 times|before its trailer"):
        sip2.authenticate(CARD, PIN)
    assert sip2.link.pool.idle == 0


def test_a_reply_about_another_institution_is_no_patron(
    serve: Callable[[Answer], FakeIls],
) -> None:
    def elsewhere(sock: socket.socket, frame: bytes, sequence: int) -> None:
        body = FIXED + b"AOelsewhere|AA" + card_of(frame).encode() + b"|AEFaye|BLY|CQY|"
        sock.sendall(framed(body, sequence))

    fake = serve(elsewhere)
    with pytest.raises(HomeLibraryUnavailable, match="another institution"):
        connector(fake.port).authenticate(CARD, PIN)


# --- 4: one trial call while half-open; one deadline per call; busy is not the ILS ----------


def test_a_half_open_breaker_sends_one_caller_to_the_ils(
    serve: Callable[[Answer], FakeIls],
) -> None:
    def slowly(sock: socket.socket, frame: bytes, sequence: int) -> None:
        time.sleep(0.3)
        answers_64()(sock, frame, sequence)

    fake = serve(slowly)
    sip2 = connector_with(fake.port, failures=1, cooldown_s=0.2)
    sip2.link.breaker.failed()  # the ILS was down
    time.sleep(0.25)

    def sign_in(_: int) -> str:
        started = time.monotonic()
        try:
            connector_with(fake.port, failures=1, cooldown_s=0.2).authenticate(CARD, PIN)
        except HomeLibraryUnavailable as exc:
            assert exc.retry_after == 1 and time.monotonic() - started < 0.2
            return "turned away"
        return "signed in"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(sign_in, range(10)))
    assert outcomes.count("signed in") == 1 and fake.count(b"63") == 1
    assert sip2.authenticate(CARD, PIN) is not None  # the trial closed it


def test_connect_login_status_and_request_share_one_deadline() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:  # 93 and 99 answered after 0.4 s each, the 63 never
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        with sock:
            buffer = b""
            while True:
                while b"\r" not in buffer:
                    data = sock.recv(4096)
                    if not data:
                        return
                    buffer += data
                frame, buffer = buffer.split(b"\r", 1)
                sequence = frame[-7] - 48
                time.sleep(0.4)
                if frame.startswith(b"93"):
                    sock.sendall(framed(b"941", sequence))
                elif frame.startswith(b"99"):
                    status = b"98YNNNNN030003" + b"20261122    120000" + b"2.00AOsipu|"
                    sock.sendall(framed(status, sequence))

    threading.Thread(target=serve, daemon=True).start()
    try:
        settings = library(listener.getsockname()[1], password_env="SIP2_REVIEW_PW")
        started = time.monotonic()
        with pytest.raises(HomeLibraryUnavailable, match="no answer within 0.5 s"):
            Sip2Connector(settings, environ={"SIP2_REVIEW_PW": "pw"}).authenticate(CARD, PIN)
        assert time.monotonic() - started < 0.7  # not 0.4 + 0.4 + 0.5
    finally:
        listener.close()


def test_a_busy_pool_is_not_a_failure_of_the_ils(serve: Callable[[Answer], FakeIls]) -> None:
    def slowly(sock: socket.socket, frame: bytes, sequence: int) -> None:
        time.sleep(0.3)
        answers_64()(sock, frame, sequence)

    fake = serve(slowly)

    def sign_in(_: int) -> str:
        try:
            connector_with(fake.port, failures=2, pool_size=1).authenticate(CARD, PIN)
        except HomeLibraryUnavailable as exc:
            assert "busy" in str(exc) and exc.retry_after == 1
            return "busy"
        return "signed in"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(sign_in, range(6)))
    assert outcomes.count("busy") >= 2 and outcomes.count("signed in") >= 1
    sip2 = connector_with(fake.port, failures=2, pool_size=1)
    assert sip2.link.breaker.remaining() is None
    assert sip2.authenticate(CARD, PIN) is not None


# --- 6: settings that cannot be written; encoding errors hold no secret --------------------


@pytest.mark.parametrize(
    ("settings", "detail"),
    [
        ({"institution": "sipu€"}, "institution"),
        ({"institution": "si|pu"}, "institution"),
        ({"user": "hüb"}, "user"),
        ({"user": "hub\x00"}, "user"),
        ({"encoding": "rot13"}, "encoding 'rot-13'"),
        ({"encoding": "utf-16"}, "encoding 'utf-16'"),
    ],
)
def test_sip2_settings_that_cannot_be_sent_are_refused(
    settings: dict[str, str], detail: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=detail):
        library(1, **settings)


@pytest.mark.parametrize("encoding", ["latin-1", "cp437", "cp1252", "utf-8", "ascii", "cp850"])
def test_ascii_compatible_encodings_are_accepted(encoding: str) -> None:
    library(1, encoding=encoding)


def test_a_request_that_cannot_be_encoded_is_refused_without_the_secret() -> None:
    ours, theirs = socket.socketpair()
    connection = client.Connection(ours, timeout_s=0.5, encoding="ascii")
    try:
        with pytest.raises(Refused, match="a 93 that cannot be written in ascii") as refused:
            connection.exchange(messages.login(user="hub", password="s3cret-€"), "94")
    finally:
        connection.close()
        theirs.close()
    assert "s3cret" not in repr(refused.value)
    assert refused.value.__context__ is None and refused.value.__cause__ is None


# --- 7: a PIN goes to the ILS once -----------------------------------------------------------


def test_a_connection_dropped_after_the_request_was_sent_is_not_retried(
    serve: Callable[[Answer], FakeIls],
) -> None:
    asked = {"n": 0}

    def drops_the_second(sock: socket.socket, frame: bytes, sequence: int) -> None:
        asked["n"] += 1
        if asked["n"] == 2:
            sock.close()
            return
        sock.sendall(r64(card_of(frame), sequence, b"BLY|CQN|"))

    fake = serve(drops_the_second)
    sip2 = connector(fake.port)
    assert sip2.authenticate(CARD, PIN) is None
    with pytest.raises(HomeLibraryUnavailable, match="closed the connection"):
        sip2.authenticate(CARD, PIN)
    time.sleep(0.1)
    assert fake.count(b"63") == 2  # one per sign-in: the PIN was not sent again


# --- 8: pools of libraries that went away, and of replaced settings ------------------------


def test_idle_connections_of_other_libraries_are_closed_when_too_old(
    serve: Callable[[Answer], FakeIls],
) -> None:
    fake = serve(answers_64())
    sip2 = connector(fake.port)
    assert sip2.authenticate(CARD, PIN) is not None
    assert sip2.link.pool.idle == 1
    sip2.link.pool._max_idle_s = 0  # as if a minute went by, with the library removed
    other = library(fake.port, user=None, password_env=None).model_copy(update={"id": "away"})
    Sip2Connector(other)  # any other library's connector sweeps the pools
    assert sip2.link.pool.idle == 0 and "sipu" in _links


def test_a_connection_in_use_when_its_pool_is_replaced_is_closed(
    serve: Callable[[Answer], FakeIls],
) -> None:
    fake = serve(answers_64())
    old = connector(fake.port)

    def replace_then_answer(sock: socket.socket, frame: bytes, sequence: int) -> None:
        connector(fake.port, timeout_s=0.6)  # new settings: a new pool
        answers_64()(sock, frame, sequence)

    fake.answer = replace_then_answer
    assert old.authenticate(CARD, PIN) is not None
    assert old.link.pool.closed and old.link.pool.idle == 0
