"""The ldap connector against a real directory (OpenLDAP's slapd, ``slapd.py``): patrons sign in
with their username and password, by search and bind or at a DN template, over LDAPS or
StartTLS; a wrong password and an unknown username are one answer at one cost; an empty
password is never sent; usernames cannot change the filter or the DN; Active Directory's
disabled and expired accounts are refused; the eligibility API's lookup searches with the
service account, on connections bound once."""

from __future__ import annotations

import re
from datetime import date

import pytest

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.ldap import LdapConnector
from tests.identity.connectors.ldap_libraries import AD_SEARCH, USER_DN, library
from tests.identity.connectors.slapd import (
    AD_ACTIVE,
    AD_DISABLED,
    AD_EXPIRED,
    AD_FUTURE,
    AD_NEVER,
    ADA,
    COMMA,
    GRACE,
    NOCAT,
    SERVICE_DN,
    STAR,
    Person,
    Slapd,
)


def binds(log: str, dn: str | None = None) -> list[str]:
    """The DNs bound, in the order slapd received the binds."""
    found = re.findall(r'BIND dn="([^"]*)" method=128', log)
    return [d for d in found if dn is None or d == dn]


def accepted(log: str) -> int:
    return log.count(" ACCEPT from ")


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_a_patron_signs_in_with_search_and_bind(slapd: Slapd, scheme: str) -> None:
    url = slapd.url("ldap") if scheme == "starttls" else slapd.url("ldaps")
    connector = LdapConnector(library(slapd, url=url, start_tls=scheme == "starttls"))
    mark = slapd.mark()
    holder = connector.authenticate(ADA.uid, ADA.password)
    assert holder is not None
    assert (holder.library, holder.card, holder.name) == ("uni", "ada", "Ada Lovelace")
    assert (holder.category, holder.expires) == ("UG", date(2099, 12, 31))
    assert holder.fines == 0 and holder.flags == frozenset()
    log = slapd.since(mark, until=f'BIND dn="{ADA.dn}"')
    assert 'filter="(uid=ada)"' in log
    assert binds(log) == [SERVICE_DN, ADA.dn]
    assert log.count("TLS established") == 2  # the service account's connection, the patron's
    if scheme == "starttls":
        assert log.count("oid=1.3.6.1.4.1.1466.20037") == 2


def test_a_patron_signs_in_at_a_dn_template(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd, search=None, user_dn=USER_DN))
    mark = slapd.mark()
    holder = connector.authenticate(GRACE.uid, GRACE.password)
    assert holder is not None and holder.name == "Grace Hopper"
    # member and staff: the first code of the library's map that the entry holds
    assert holder.category == "staff" and holder.expires is None
    log = slapd.since(mark, until="SEARCH RESULT")
    assert binds(log) == [GRACE.dn]  # no service account: the patron reads their own entry
    assert f'SRCH base="{GRACE.dn}" scope=0' in log
    assert connector.authenticate(GRACE.uid, ADA.password) is None
    assert connector.authenticate("nobody", GRACE.password) is None


def test_a_wrong_password_and_an_unknown_user_are_one_answer_at_one_cost(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd))
    connector.lookup(ADA.uid)  # both pools' connections open and bound before the comparison
    connector.authenticate(ADA.uid, ADA.password)
    asked = []
    for username, password in ((ADA.uid, "not-her-password"), ("nobody", "not-her-password")):
        mark = slapd.mark()
        assert connector.authenticate(username, password) is None
        log = slapd.since(mark, until="RESULT tag=97")
        asked.append((log.count(" SRCH base="), len(binds(log)), accepted(log)))
    assert asked == [(1, 1, 0), (1, 1, 0)]  # one search, one bind, no new connection each


def test_an_empty_password_is_never_sent(slapd: Slapd) -> None:
    for connector in (
        LdapConnector(library(slapd)),
        LdapConnector(library(slapd, search=None, user_dn=USER_DN)),
    ):
        mark = slapd.mark()
        with pytest.raises(ValueError, match="empty password"):
            connector.authenticate(ADA.uid, "")
        assert connector.authenticate(GRACE.uid, GRACE.password) is not None  # what follows
        log = slapd.since(mark, until=f'BIND dn="{GRACE.dn}"')
        # Ada named nowhere (as a word: slapd's hexadecimal connection stamps may hold "ada")
        assert re.search(rf"\b{ADA.uid}\b", log) is None, log
        assert binds(log, GRACE.dn) == [GRACE.dn]


INJECTIONS = ["*", "ada)(uid=*", "*)(|(uid=*", "ad*", "ada)", "(uid=ada)", "\\2a", "ada\\",
              "uid=ada,ou=people,dc=example,dc=edu", "ada,ou=people", "ada+cn=x",
              "#ada"]  # fmt: skip


@pytest.mark.parametrize("template", [False, True], ids=["search", "user_dn"])
def test_usernames_cannot_change_the_filter_or_the_dn(slapd: Slapd, template: bool) -> None:
    changes = {"search": None, "user_dn": USER_DN} if template else {}
    connector = LdapConnector(library(slapd, **changes))
    for username in INJECTIONS:
        assert connector.authenticate(username, ADA.password) is None, username
        if not template:
            assert connector.lookup(username) is None, username
    for username in ("ada\x00", "ada\n", "\x00"):  # nobody's username: never sent
        mark = slapd.mark()
        assert connector.authenticate(username, ADA.password) is None
        assert slapd.since(mark) == ""
    # and usernames holding those characters are found, exactly
    for person in (STAR, COMMA):
        holder = connector.authenticate(person.uid, person.password)
        assert holder is not None and holder.name == person.name, person.uid


def test_the_filter_is_sent_escaped(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd))
    mark = slapd.mark()
    assert connector.lookup("*)(|(uid=*") is None
    log = slapd.since(mark, until="SEARCH RESULT")
    assert 'filter="(uid=\\2A\\29\\28|\\28uid=\\2A)"' in log and "nentries=0" in log


@pytest.mark.parametrize(
    ("person", "expires"),
    [(AD_ACTIVE, None), (AD_NEVER, None), (AD_FUTURE, date(2099, 6, 30))],
)
def test_active_directory_accounts_that_may_sign_in(
    slapd: Slapd, person: Person, expires: date | None
) -> None:
    connector = LdapConnector(library(slapd, search=AD_SEARCH, expires="accountExpires"))
    holder = connector.authenticate(person.uid, person.password)
    assert holder is not None and holder.expires == expires
    assert connector.lookup(person.uid) == holder


@pytest.mark.parametrize("person", [AD_DISABLED, AD_EXPIRED], ids=["disabled", "expired"])
def test_disabled_and_expired_active_directory_accounts_are_refused(
    slapd: Slapd, person: Person
) -> None:
    connector = LdapConnector(library(slapd, search=AD_SEARCH, expires="accountExpires"))
    assert connector.authenticate(person.uid, person.password) is None
    assert connector.lookup(person.uid) is None
    at_template = LdapConnector(library(slapd, search=None, user_dn=USER_DN))
    assert at_template.authenticate(person.uid, person.password) is None


def test_lookup_searches_with_the_service_account_on_one_connection(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd))
    mark = slapd.mark()
    found = [connector.lookup(uid) for uid in (GRACE.uid, NOCAT.uid, "nobody", ADA.uid)]
    assert [h.name if h else None for h in found] == [
        "Grace Hopper", "No Category", None, "Ada Lovelace",
    ]  # fmt: skip
    assert found[1] is not None and found[1].category == ""  # no category: maps to nothing
    log = slapd.since(mark, until='filter="(uid=ada)"')
    assert accepted(log) == 1 and binds(log) == [SERVICE_DN] and log.count(" SRCH base=") == 4
    mark = slapd.mark()
    for _ in range(3):
        assert connector.authenticate(ADA.uid, ADA.password) is not None
    log = slapd.since(mark, until="RESULT tag=97")
    assert accepted(log) == 1  # the patrons' binds share one connection too
    assert binds(log) == [ADA.dn] * 3


def test_without_a_service_account_there_is_no_lookup(slapd: Slapd) -> None:
    connector = LdapConnector(library(slapd, search=None, user_dn=USER_DN))
    with pytest.raises(HomeLibraryUnavailable, match="needs a service account") as caught:
        connector.lookup(ADA.uid)
    assert caught.value.retry_after == 300
