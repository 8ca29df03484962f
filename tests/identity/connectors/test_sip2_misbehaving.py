"""Home ILSes that misbehave (hand-written fakes): every way of failing is an error, never a
patron; a bad checksum is asked for again (97) a limited number of times; and the breaker
answers at once while the ILS is down."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pysip2 import PatronInformationResponse, PatronStatusResponse, calculate_checksum

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.sip2 import Sip2Connector
from tests.identity.connectors.fakes import Answer, FakeIls, patron_information, reply
from tests.identity.connectors.ils import GOOD, PASSWORD_ENV, Ils, library

CARD, PIN = "28880000000042", "9876"


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeIls]:
    ils = FakeIls(request.param)
    yield ils
    ils.close()


def connector(port: int, **settings: Any) -> Sip2Connector:
    return Sip2Connector(library(port, user=None, password_env=None, **settings))


def card_of(frame: bytes) -> str:
    return frame.split(b"|AA", 1)[1].split(b"|", 1)[0].decode()


def answers(**fields: Any) -> Answer:
    def answer(sock: socket.socket, frame: bytes, sequence: int) -> None:
        message = PatronInformationResponse(**patron_information(card_of(frame), **fields))
        sock.sendall(reply(message, sequence))

    return answer


def test_the_fake_answers_like_an_ils() -> None:  # so that the tests below test one thing each
    fake = FakeIls(answers(personal_name="Faye Fake"))
    try:
        holder = connector(fake.port).authenticate(CARD, PIN)
    finally:
        fake.close()
    assert holder is not None and holder.name == "Faye Fake"


def closes_mid_reply(sock: socket.socket, frame: bytes, sequence: int) -> None:
    whole = reply(PatronInformationResponse(**patron_information(card_of(frame))), sequence)
    sock.sendall(whole[: len(whole) // 2])
    sock.shutdown(socket.SHUT_RDWR)


def never_answers(sock: socket.socket, frame: bytes, sequence: int) -> None:
    time.sleep(2)


def wrong_sequence(sock: socket.socket, frame: bytes, sequence: int) -> None:
    message = PatronInformationResponse(**patron_information(card_of(frame)))
    sock.sendall(reply(message, (sequence + 1) % 10))


def about_another_card(sock: socket.socket, frame: bytes, sequence: int) -> None:
    sock.sendall(reply(PatronInformationResponse(**patron_information("28880000000043")), sequence))


def another_message(sock: socket.socket, frame: bytes, sequence: int) -> None:
    fields = patron_information(card_of(frame))
    keep = ["patron_status", "language", "transaction_date", "institution_id"]
    keep += ["patron_identifier", "personal_name", "valid_patron", "valid_patron_password"]
    sock.sendall(reply(PatronStatusResponse(**{k: fields[k] for k in keep}), sequence))


def truncated_fixed_fields(sock: socket.socket, frame: bytes, sequence: int) -> None:
    # a 64 whose fixed part lost a byte (so BL sits in the wrong place), checksummed again
    good = reply(PatronInformationResponse(**patron_information(card_of(frame))), sequence)
    body = good[:20] + good[21 : good.index(b"AZ") + 2]
    sock.sendall(body + calculate_checksum(body).encode() + b"\r")


def unchecked(sock: socket.socket, frame: bytes, sequence: int) -> None:
    # error detection off at the ILS: no AY/AZ at all, to the 63 and to each 97
    whole = reply(PatronInformationResponse(**patron_information(CARD)), sequence)
    sock.sendall(whole[: whole.rindex(b"AY")] + b"\r")


def garbled_fee(sock: socket.socket, frame: bytes, sequence: int) -> None:
    fields = patron_information(card_of(frame), fee_amount="NaN")
    sock.sendall(reply(PatronInformationResponse(**fields), sequence))


@pytest.mark.parametrize(
    ("fake", "detail"),
    [
        (closes_mid_reply, "closed the connection in the middle of a reply"),
        (never_answers, "no answer within 0.5 s"),
        (wrong_sequence, "sequence number"),
        (about_another_card, "another card"),
        (another_message, "a 24 in answer to a 63"),
        (truncated_fixed_fields, "fixed fields are malformed"),
        (unchecked, "without a checksum"),
        (garbled_fee, "fee amount"),
    ],
    indirect=["fake"],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_misbehaving_ils_is_unavailable_never_a_patron(fake: FakeIls, detail: str) -> None:
    with pytest.raises(HomeLibraryUnavailable, match=detail) as failed:
        connector(fake.port).authenticate(CARD, PIN)
    assert PIN not in str(failed.value) and failed.value.retry_after > 0


def bad_checksum(sock: socket.socket, frame: bytes, sequence: int) -> None:
    good = reply(PatronInformationResponse(**patron_information(CARD)), sequence)
    sock.sendall(good[:-2] + (b"0" if good[-2:-1] != b"0" else b"1") + b"\r")


@pytest.mark.parametrize("fake", [bad_checksum], indirect=True)
def test_a_bad_checksum_is_asked_for_twice_more_then_fails(fake: FakeIls) -> None:
    with pytest.raises(HomeLibraryUnavailable, match="wrong checksum, still after 2"):
        connector(fake.port).authenticate(CARD, PIN)
    assert fake.count(b"63") == 1 and fake.count(b"97") == 2
    assert all(frame.startswith(b"97AZ") for frame in fake.frames if frame.startswith(b"97"))


def bad_checksum_once(sock: socket.socket, frame: bytes, sequence: int) -> None:
    if frame.startswith(b"63"):
        bad_checksum(sock, frame, sequence)
        bad_checksum_once.sequence = sequence  # type: ignore[attr-defined]
    else:  # the 97: the reply again, unharmed
        message = PatronInformationResponse(**patron_information(CARD))
        sock.sendall(reply(message, bad_checksum_once.sequence))  # type: ignore[attr-defined]


@pytest.mark.parametrize("fake", [bad_checksum_once], indirect=True)
def test_a_resent_reply_is_taken(fake: FakeIls) -> None:
    holder = connector(fake.port).authenticate(CARD, PIN)
    assert holder is not None and holder.name == "Faye Fake"
    assert fake.count(b"97") == 1


def cannot_read_ours_once(sock: socket.socket, frame: bytes, sequence: int) -> None:
    if fake_state.setdefault("asked", 0) == 0:
        fake_state["asked"] = 1
        body = b"96AZ"
        sock.sendall(body + calculate_checksum(body).encode() + b"\r")
    else:
        answers()(sock, frame, sequence)


fake_state: dict[str, int] = {}


@pytest.mark.parametrize("fake", [cannot_read_ours_once], indirect=True)
def test_a_96_gets_the_request_again(fake: FakeIls) -> None:
    fake_state.clear()
    assert connector(fake.port).authenticate(CARD, PIN) is not None
    assert fake.count(b"63") == 2


# --- the circuit breaker -------------------------------------------------------------------


@pytest.mark.parametrize("fake", [never_answers], indirect=True)
def test_the_breaker_opens_after_three_failures_and_answers_at_once(fake: FakeIls) -> None:
    for _ in range(3):
        with pytest.raises(HomeLibraryUnavailable, match="no answer"):
            connector(fake.port, timeout_s=0.2).authenticate(CARD, PIN)
    started = time.monotonic()
    with pytest.raises(HomeLibraryUnavailable, match="not asking it again yet") as open_:
        connector(fake.port, timeout_s=0.2).authenticate(CARD, PIN)
    assert time.monotonic() - started < 0.05
    assert 29 <= open_.value.retry_after <= 30
    assert fake.accepted == 3  # the fourth never connected


def test_the_breaker_closes_after_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv(PASSWORD_ENV, "terminal-secret")
    port = free_port()  # nothing listens there yet
    settings = library(port)

    def sip2() -> Sip2Connector:
        return Sip2Connector(settings, cooldown_s=0.3)

    for _ in range(3):
        with pytest.raises(HomeLibraryUnavailable, match="cannot connect"):
            sip2().authenticate(GOOD.card, GOOD.pin)
    with pytest.raises(HomeLibraryUnavailable, match="not asking") as open_:
        sip2().authenticate(GOOD.card, GOOD.pin)
    assert open_.value.retry_after == 1
    ils = Ils({GOOD.card: GOOD}).start(port)  # the ILS is back
    try:
        with pytest.raises(HomeLibraryUnavailable, match="not asking"):  # still cooling down
            sip2().authenticate(GOOD.card, GOOD.pin)
        time.sleep(0.35)
        assert sip2().authenticate(GOOD.card, GOOD.pin) is not None
        assert sip2().link.breaker.remaining() is None
    finally:
        ils.stop()
    with pytest.raises(HomeLibraryUnavailable, match="cannot connect|closed"):
        sip2().authenticate(GOOD.card, GOOD.pin)  # one failure after a success: still closed
    assert sip2().link.breaker.remaining() is None
