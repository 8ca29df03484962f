"""The ldap connector fails closed: a directory that is down, silent, untrusted (a certificate
the CA does not sign, or for another host), misconfigured (the service account's password
missing or wrong, a CA file that cannot be read) is ``HomeLibraryUnavailable`` with a
Retry-After, never a patron; the breaker stops asking a directory that keeps failing, but one
patron's entry the hub cannot read never trips it; a directory that restarts is asked again on
new connections."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.ldap import LdapConnector
from tests.identity.connectors.ldap_libraries import library
from tests.identity.connectors.slapd import ADA, BADEXPIRY, SERVICE_ENV, TWIN, Slapd


def unavailable(connector: LdapConnector, username: str = ADA.uid) -> HomeLibraryUnavailable:
    with pytest.raises(HomeLibraryUnavailable) as caught:
        connector.authenticate(username, ADA.password)
    return caught.value


def test_an_entry_the_hub_cannot_read_is_a_503_for_that_patron_only(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd), failures=1)
    twins = unavailable(connector, TWIN.uid)
    assert "2 entries match the search filter" in str(twins) and twins.retry_after == 60
    with pytest.raises(HomeLibraryUnavailable, match="2 entries match"):
        connector.lookup(TWIN.uid)
    odd = LdapConnector(library(slapd, expires="description"), failures=1)
    mark = slapd.mark()
    bad = unavailable(odd, BADEXPIRY.uid)
    assert "an expiry (description) that is not a date" in str(bad) and bad.retry_after == 60
    assert 'BIND dn="uid=badexpiry' not in slapd.since(mark)  # read before the password is
    assert odd.lookup(ADA.uid) is not None  # the breaker did not count it
    assert connector.authenticate(ADA.uid, ADA.password) is not None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tls_ca": None}, "is not trusted"),  # the system's trust store: not the test CA
        ({"url": "ldaps://127.0.0.2:{tls}"}, "is not trusted"),  # the certificate's names
        ({"url": "ldap://127.0.0.1:{port}", "start_tls": True, "tls_ca": None}, "not trusted"),
    ],
    ids=["untrusted-ca", "another-host", "starttls-untrusted"],
)
def test_tls_that_cannot_be_trusted_is_no_sign_in(
    slapd: Slapd, changes: dict[str, object], expected: str
) -> None:
    if isinstance(changes.get("url"), str):
        changes["url"] = str(changes["url"]).format(tls=slapd.tls_port, port=slapd.port)
    mark = slapd.mark()
    refused = unavailable(LdapConnector(library(slapd, **changes)))
    assert expected in str(refused) and refused.retry_after >= 1
    log = slapd.since(mark)
    # no bind was tried (connections of earlier tests closing now log UNBIND: not this one's)
    assert not re.search(r"(?<!UN)BIND dn=", log) and ADA.password not in str(refused)


def test_a_ca_file_that_cannot_be_read(slapd: Slapd, tmp_path: Path) -> None:
    (tmp_path / "not-a-ca.pem").write_text("nothing here")
    for path in (tmp_path / "missing.pem", tmp_path / "not-a-ca.pem"):
        with pytest.raises(HomeLibraryUnavailable, match="cannot be read") as caught:
            LdapConnector(library(slapd, tls_ca=str(path))).authenticate(ADA.uid, ADA.password)
        assert caught.value.retry_after == 300


def test_the_service_account_missing_or_refused(
    slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVICE_ENV)
    missing = unavailable(LdapConnector(library(slapd)))
    assert SERVICE_ENV in str(missing) and missing.retry_after == 300
    monkeypatch.setenv(SERVICE_ENV, "not-the-password")
    connector = LdapConnector(library(slapd), failures=2)
    refused = unavailable(connector)
    assert "refused the service account cn=hub,ou=services" in str(refused)
    assert "not-the-password" not in str(refused)
    unavailable(connector)  # the second failure in a row opens the breaker
    mark = slapd.mark()
    waiting = unavailable(connector)
    assert "not asking it again yet" in str(waiting) and 25 <= waiting.retry_after <= 30
    assert slapd.since(mark) == ""  # not even a connection


@pytest.fixture
def silent() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    held: list[socket.socket] = []
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        stop = threading.Event()

        def accept() -> None:
            listening.settimeout(0.05)
            while not stop.is_set():
                try:
                    held.append(listening.accept()[0])
                except TimeoutError:
                    pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield int(listening.getsockname()[1])
        stop.set()
        thread.join()
    for connection in held:
        connection.close()


def test_a_directory_that_is_down_or_silent_is_a_503(slapd: Slapd, silent: int) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        down = LdapConnector(library(slapd, url=f"ldap://127.0.0.1:{closed.getsockname()[1]}"))
        for _ in range(3):
            refused = unavailable(down)
            assert "127.0.0.1" in str(refused) and refused.retry_after >= 1
        assert "not asking it again yet" in str(unavailable(down))
    quiet = LdapConnector(library(slapd, url=f"ldaps://127.0.0.1:{silent}", timeout_s=0.3))
    timed_out = unavailable(quiet)
    assert "in time" in str(timed_out) and timed_out.retry_after >= 1


@pytest.fixture
def own_slapd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Slapd]:
    from tests.identity.connectors.slapd import SERVICE_PASSWORD

    monkeypatch.setenv(SERVICE_ENV, SERVICE_PASSWORD)
    running = Slapd.make(tmp_path / "slapd").start()
    yield running
    running.remove()


def test_a_directory_that_restarts_is_asked_on_new_connections(own_slapd: Slapd) -> None:
    connector = LdapConnector(library(own_slapd))
    assert connector.lookup(ADA.uid) is not None
    assert connector.authenticate(ADA.uid, ADA.password) is not None
    own_slapd.stop()
    own_slapd.start()  # the pooled connections were closed while idle: new ones, no 503
    assert connector.lookup(ADA.uid) is not None
    assert connector.authenticate(ADA.uid, ADA.password) is not None
    own_slapd.stop()
    down = unavailable(connector)
    assert "refused the connection" in str(down)
    own_slapd.start()
    assert connector.authenticate(ADA.uid, ADA.password) is not None
