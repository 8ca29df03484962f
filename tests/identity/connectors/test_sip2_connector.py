"""The sip2 connector against a home ILS nobody here wrote (pysip2): what a sign-in and an
eligibility lookup get back for each kind of patron, and how it holds its connections."""

from __future__ import annotations

import ssl
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.sip2 import Sip2Connector
from identity.patrons.connectors.sip2.connector import forget
from tests.identity.connectors.ils import (
    BLOCKED,
    EXPIRED,
    FLAGS,
    GOOD,
    NAMELESS,
    NO_CQ,
    OWES,
    PASSWORD_ENV,
    SLOW,
    STAFF,
    UNKNOWN,
    Ils,
    Patron,
)


def test_a_good_pin_gives_the_card_holder_as_the_ils_has_them(ils: Ils) -> None:
    holder = Sip2Connector(ils.library()).authenticate(GOOD.card, GOOD.pin)
    assert holder is not None
    assert (holder.library, holder.card, holder.name) == ("sipu", GOOD.card, "Avery Sip")
    assert (holder.category, holder.expires) == ("UG", date(2099, 12, 31))
    assert (holder.fines, holder.flags) == (Decimal("0.00"), frozenset())
    assert ils.asked == [("63", GOOD.card, GOOD.pin)]
    assert ils.logins == 1


def test_a_wrong_pin_and_an_unknown_card_are_both_none(ils: Ils) -> None:
    connector = Sip2Connector(ils.library())
    assert connector.authenticate(GOOD.card, "0000") is None
    assert connector.authenticate(UNKNOWN, "0000") is None
    assert connector.lookup(UNKNOWN) is None


def test_a_pin_the_ils_did_not_say_it_checked_is_not_verified(ils: Ils) -> None:
    connector = Sip2Connector(ils.library())
    assert connector.authenticate(NO_CQ.card, NO_CQ.pin) is None  # BL Y, but no CQ
    assert connector.lookup(NO_CQ.card) is not None  # without a PIN, no CQ is needed


def test_lookup_sends_no_pin(ils: Ils) -> None:
    holder = Sip2Connector(ils.library()).lookup(OWES.card)
    assert holder is not None and holder.name == "Owen Owes"
    assert ils.asked == [("63", OWES.card, None)]


@pytest.mark.parametrize("position", range(14))
def test_each_patron_status_position_is_its_spec_flag(ils: Ils, position: int) -> None:
    ils.patrons["28887777777777"] = Patron("28887777777777", "1", "F", flags=(FLAGS[position],))
    holder = Sip2Connector(ils.library()).authenticate("28887777777777", "1")
    assert holder is not None and holder.flags == {FLAGS[position]}


def test_blocked_flags_fines_expiry_and_category(ils: Ils) -> None:
    connector = Sip2Connector(ils.library())
    blocked, owes, expired, staff, nameless = (
        connector.authenticate(p.card, p.pin) for p in (BLOCKED, OWES, EXPIRED, STAFF, NAMELESS)
    )
    assert blocked is not None and blocked.flags == {"charge_denied", "card_lost"}
    assert owes is not None and owes.fines == Decimal("25.50")
    assert expired is not None and expired.expires == date(2020, 1, 31)
    assert staff is not None and (staff.category, staff.expires, staff.fines) == (
        "ST", None, Decimal(0),
    )  # fmt: skip
    assert nameless is not None and nameless.name == ""  # a blank AE is still a patron


def test_expiry_and_category_from_configured_fields(ils: Ils) -> None:
    library = ils.library(expiry_field="ZE", category_field="ZC")
    holder = Sip2Connector(library).lookup(GOOD.card)
    assert holder is not None
    assert (holder.expires, holder.category) == (date(2030, 6, 30), "LOCAL")


def test_utf8_ils(ils: Ils) -> None:
    ils.patrons["28886666666666"] = Patron("28886666666666", "pïn", "Zoë Ñúñez")
    # pysip2 serves cp850; a cp850 hub reads the name right and sends the PIN right
    holder = Sip2Connector(ils.library()).authenticate("28886666666666", "pïn")
    assert holder is not None and holder.name == "Zoë Ñúñez"
    with pytest.raises(HomeLibraryUnavailable):  # a utf-8 hub reading cp850 fails closed
        Sip2Connector(ils.library(encoding="utf-8")).authenticate("28886666666666", "pïn")


def test_a_card_or_pin_that_would_add_fields_never_reaches_the_ils(ils: Ils) -> None:
    connector = Sip2Connector(ils.library())
    assert connector.authenticate(GOOD.card, f"{GOOD.pin}|CQY") is None
    assert connector.authenticate(f"{GOOD.card}|AD{GOOD.pin}", "x") is None
    assert connector.lookup(f"{GOOD.card}\r") is None
    assert connector.authenticate(GOOD.card, "€") is None  # not in cp850
    assert ils.asked == []


def test_an_empty_pin_is_refused_before_the_ils_is_asked(ils: Ils) -> None:
    with pytest.raises(ValueError):
        Sip2Connector(ils.library()).authenticate(GOOD.card, "")
    assert ils.asked == []


def test_the_login_password_comes_from_the_named_variable(
    ils: Ils, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(HomeLibraryUnavailable, match=f"{PASSWORD_ENV}.*is not set"):
        Sip2Connector(ils.library()).authenticate(GOOD.card, GOOD.pin)
    assert ils.logins == 0 and ils.asked == []
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(HomeLibraryUnavailable, match="refused the login") as refused:
        Sip2Connector(ils.library()).authenticate(GOOD.card, GOOD.pin)
    assert not ils.leaks("not-the-password", str(refused.value))
    assert not ils.leaks(GOOD.pin, str(refused.value))
    assert ils.asked == []


def test_an_ils_without_login(monkeypatch: pytest.MonkeyPatch) -> None:
    ils = Ils({GOOD.card: GOOD}, login_required=False).start()
    try:
        holder = Sip2Connector(ils.library(user=None, password_env=None)).lookup(GOOD.card)
    finally:
        ils.stop()
    assert holder is not None and ils.logins == 0


def test_patron_status_23_through_a_connection(ils: Ils) -> None:
    from identity.patrons.connectors.sip2 import client, messages

    connection = client.open_connection(
        "127.0.0.1", ils.port, timeout_s=0.5, encoding="cp850", tls=None,
        user="hub-terminal", password="terminal-secret", institution="sipu",
    )  # fmt: skip
    try:
        for card, pin in ((BLOCKED.card, None), (BLOCKED.card, BLOCKED.pin)):
            body = messages.patron_status(
                institution="sipu", card=card, pin=pin, now=datetime.now()
            )
            reply = connection.exchange(body, "24")
            assert reply.first("BL") == "Y" and reply.flags() == {"charge_denied", "card_lost"}
            assert reply.first("CQ") == (None if pin is None else "Y")
    finally:
        connection.close()
    # AD is always sent on a 23, blank without a PIN (pysip2 drops a 23 without one)
    assert ils.asked == [("23", BLOCKED.card, ""), ("23", BLOCKED.card, BLOCKED.pin)]


# --- connections ---------------------------------------------------------------------------


def test_one_login_serves_many_requests(ils: Ils) -> None:
    for _ in range(5):
        assert Sip2Connector(ils.library()).authenticate(GOOD.card, GOOD.pin) is not None
    assert ils.logins == 1 and len(ils.asked) == 5


def test_a_connection_the_ils_dropped_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "terminal-secret")
    ils = Ils({GOOD.card: GOOD}, idle_timeout=0.1).start()
    try:
        connector = Sip2Connector(ils.library())
        assert connector.authenticate(GOOD.card, GOOD.pin) is not None
        time.sleep(0.3)  # the ILS closes the idle connection
        assert connector.authenticate(GOOD.card, GOOD.pin) is not None
    finally:
        ils.stop()
    assert ils.logins == 2


def test_twenty_concurrent_sign_ins_share_one_pool(ils: Ils) -> None:
    patrons = [GOOD, BLOCKED, OWES, EXPIRED, STAFF] * 4
    results: list[object] = [None] * len(patrons)

    def sign_in(i: int) -> None:
        holder = Sip2Connector(ils.library()).authenticate(patrons[i].card, patrons[i].pin)
        results[i] = holder.name if holder else None

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(patrons))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [p.name for p in patrons]
    connector = Sip2Connector(ils.library())
    assert 1 <= ils.logins <= connector.link.pool.size
    assert connector.link.pool.idle == ils.logins  # every connection came back, logged in


def test_an_ils_slower_than_the_timeout_is_unavailable(ils: Ils) -> None:
    started = time.monotonic()
    with pytest.raises(HomeLibraryUnavailable, match="no answer within 0.5 s") as slow:
        Sip2Connector(ils.library()).authenticate(SLOW.card, SLOW.pin)
    assert time.monotonic() - started < 1.5
    assert slow.value.retry_after > 0 and not ils.leaks(SLOW.pin, str(slow.value))
    assert Sip2Connector(ils.library()).authenticate(GOOD.card, GOOD.pin) is not None


def test_nothing_listening_is_unavailable() -> None:
    from tests.conftest import free_port
    from tests.identity.connectors.ils import library

    with pytest.raises(HomeLibraryUnavailable, match="cannot connect") as down:
        Sip2Connector(library(free_port(), password_env=None)).authenticate(GOOD.card, GOOD.pin)
    assert down.value.library == "sipu" and down.value.retry_after > 0


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for 127.0.0.1 and a client context that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ils.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), critical=False
        )  # fmt: skip
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    return server, client


def test_sip2_over_tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "terminal-secret")
    server, client = self_signed(tmp_path)
    ils = Ils({GOOD.card: GOOD}, tls=server).start()
    try:
        library = ils.library(tls=True)
        holder = Sip2Connector(library, tls=client).authenticate(GOOD.card, GOOD.pin)
        assert holder is not None and holder.name == GOOD.name
        forget()  # no pooled connection: a new TLS session, with the system's CAs
        with pytest.raises(HomeLibraryUnavailable, match="no TLS session"):
            Sip2Connector(library).authenticate(GOOD.card, GOOD.pin)  # system CAs: untrusted
        with pytest.raises(HomeLibraryUnavailable):
            Sip2Connector(ils.library(tls=False)).authenticate(GOOD.card, GOOD.pin)  # plain TCP
    finally:
        ils.stop()
