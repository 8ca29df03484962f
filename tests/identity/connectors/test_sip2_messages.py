"""SIP2 framing, checked against pysip2's codec (written elsewhere, from the same spec): the
hub's requests are valid SIP2, its checksums agree, its parsing tolerates what real ILSes send
and turns anything corrupted into an error."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pysip2 import (
    LoginRequest,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    SCStatusRequest,
    calculate_checksum,
    decode_message,
    encode_message,
)

import policies
from identity.patrons.connectors.sip2 import messages
from identity.patrons.connectors.sip2.errors import BadRecord, Garbled
from tests.identity.connectors.fakes import patron_information

NOW = datetime(2026, 11, 22, 9, 30, 5)


@given(st.binary(max_size=300))
def test_checksums_agree_with_pysip2(data: bytes) -> None:
    assert messages.checksum(data) == calculate_checksum(data)


def test_the_flag_positions_are_the_spec_names() -> None:
    assert messages.FLAGS == policies.FLAGS[:14]


def test_requests_are_valid_sip2() -> None:
    def decoded(body: str, sequence: int = 3) -> object:
        sent = decode_message(messages.frame(body, sequence=sequence, encoding="cp850"))
        assert sent.sequence_number == sequence and sent.checksum is not None
        return sent.message

    login = decoded(messages.login(user="hub", password="pw"))
    assert isinstance(login, LoginRequest) and (login.login_user_id, login.login_password) == (
        "hub", "pw",
    )  # fmt: skip
    status = decoded(messages.sc_status())
    assert isinstance(status, SCStatusRequest) and status.protocol_version == "2.00"
    info = decoded(messages.patron_information(institution="x", card="21", pin="7", now=NOW))
    assert isinstance(info, PatronInformationRequest)
    assert (info.institution_id, info.patron_identifier, info.patron_password) == ("x", "21", "7")
    assert info.transaction_date == "20261122    093005"
    lookup = decoded(messages.patron_information(institution="x", card="21", pin=None, now=NOW))
    assert isinstance(lookup, PatronInformationRequest) and lookup.patron_password is None
    patron = decoded(messages.patron_status(institution="x", card="21", pin=None, now=NOW))
    assert isinstance(patron, PatronStatusRequest) and patron.patron_password == ""
    resend = decode_message(messages.frame(messages.RESEND, sequence=None, encoding="ascii"))
    assert resend.checksum is not None and resend.sequence_number is None


def sixty_four(sequence: int = 4, **fields: object) -> bytes:
    message = PatronInformationResponse(**patron_information("2888", **fields))
    return encode_message(message, sequence_number=sequence, checksum=True)


def rechecksummed(data: bytes) -> bytes:
    return data + messages.checksum(data).encode() + b"\r"


def test_a_reply_is_split_into_fields() -> None:
    reply = messages.parse(sixty_four(personal_name="Zoë", fee_amount="1.50"), encoding="cp850")
    assert (reply.command, reply.sequence) == ("64", 4)
    assert reply.first("AE") == "Zoë" and reply.first("BV") == "1.50"
    assert reply.first("BL") == "Y" and reply.first("CQ") == "Y" and reply.first("PA") is None


def test_every_value_is_read_in_nfc() -> None:
    """Evergreen sends names and category codes decomposed (NFD): ``E`` and U+0301."""
    body = "64" + " " * 14 + "001" + "20261122    120000" + "0000" * 6
    body += "AOsipu|AAdje\u03011|AEE\u0301lodie|PCE\u0301tudiant|BLY|AY4AZ"
    reply = messages.parse(rechecksummed(body.encode("utf-8")), encoding="utf-8")
    assert reply.only("AE") == "\u00c9lodie" and reply.only("PC") == "\u00c9tudiant"
    assert reply.only("AA") == "dj\u00e91"


def test_what_real_ilses_send_is_tolerated() -> None:
    good = sixty_four()
    body = good[: good.rindex(b"|AY")]  # no final "|" before the trailer
    vendor = body + b"|PAX20271231|ZZanything goes|AE|"  # vendor fields, a second (blank) AE
    for data in (body + b"AY4AZ", vendor + b"AY4AZ"):
        reply = messages.parse(b"\n" + rechecksummed(data) + b"\n", encoding="cp850")  # CR LF
        assert reply.sequence == 4 and reply.first("BL") == "Y"
    reply = messages.parse(rechecksummed(vendor + b"AY4AZ"), encoding="cp850")
    assert reply.fields["ZZ"] == ["anything goes"] and reply.fields["AE"] == ["Faye Fake", ""]
    lower = good[:-5] + good[-5:-1].lower() + b"\r"
    assert messages.parse(lower, encoding="cp850").sequence == 4


@given(st.data())
def test_any_corrupted_byte_is_caught(data: st.DataObject) -> None:
    good = sixty_four()
    at = data.draw(st.integers(0, len(good) - 2))
    same = {good[at]}
    if at >= len(good) - 5:  # a checksum digit in the other case is the same digit
        same |= set(good[at : at + 1].lower() + good[at : at + 1].upper())
    byte = data.draw(st.integers(0, 255).filter(lambda b: b not in same and b not in b"\r\n"))
    with pytest.raises(Garbled):
        messages.parse(good[:at] + bytes([byte]) + good[at + 1 :], encoding="cp850")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"64" + b" " * 10 + b"AY1AZ", "fixed fields are malformed"),  # truncated
        (b"64YYYYYYYYYYYYYX001" + b"20261122    093005" + b"0" * 24 + b"AY1AZ", "malformed"),
        (b"12YYYYAY1AZ", "unexpected message '12'"),
        (b"941|A|AY1AZ", "malformed field"),
        (b"941|AOinst\0|AY1AZ", "NUL"),
        (b"941|AY3|AOinst|AY1AZ", "AY before its trailer"),
        (b"941|AZ0000|AOinst|AY1AZ", "AZ before its trailer"),
    ],
)
def test_replies_that_are_not_sip2_are_garbled(data: bytes, detail: str) -> None:
    with pytest.raises(Garbled, match=detail):
        messages.parse(rechecksummed(data), encoding="cp850")


def test_a_reply_must_carry_a_checksum() -> None:
    with pytest.raises(messages.BadChecksum, match="without a checksum"):
        messages.parse(b"941\r", encoding="cp850")


def test_a_field_that_does_not_decode_or_repeats_is_a_bad_record_when_read() -> None:
    # one patron's bytes do not make the whole reply (or the ILS) garbled: only that field
    reply = messages.parse(
        rechecksummed("941AOZoë|CNx|CNy|ZZ\xff|AY1AZ".encode("latin-1")), encoding="utf-8"
    )
    assert reply.undecodable == {"AO", "ZZ"} and reply.first("AO") == "Zo\ufffd"
    with pytest.raises(BadRecord, match="AO is not in the configured encoding"):
        reply.only("AO")
    with pytest.raises(BadRecord, match="CN 2 times"):
        reply.only("CN")
    assert reply.only("XX") is None


@pytest.mark.parametrize("value", ["a|b", "a\rb", "a\nb", "a\0b", "€", "x" * 256])
def test_values_that_would_change_a_message_are_not_sendable(value: str) -> None:
    assert not messages.sendable(value, "cp850")
    assert messages.sendable("Zoë 1234", "cp850") and messages.sendable("€", "utf-8")
