"""A directory entry read as a card holder (``ldap.entries``): expiry in each form a directory
writes it, Active Directory's account state, the category among several values, and values that
cannot be read, which are refused rather than guessed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from identity.patrons.connectors.ldap.client import Entry
from identity.patrons.connectors.ldap.entries import attributes, expiry, read
from identity.patrons.connectors.ldap.errors import BadRecord
from policies.model import LIBRARY, LdapConnector

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CONNECTOR = {"kind": "ldap", "url": "ldaps://ldap.uni.edu", "user_dn": "uid={card},dc=uni",
             "category": "eduPersonAffiliation", "expires": "accountExpires",
             "name": "displayName"}  # fmt: skip
SETTINGS = LdapConnector.model_validate(CONNECTOR)
UNI = LIBRARY.validate_python(
    {"id": "uni", "name": "Uni", "categories": {"student": "undergraduate", "staff": "staff"},
     "connector": CONNECTOR}
)  # fmt: skip


def entry(**values: str | list[str] | bytes) -> Entry:
    def raw(value: str | list[str] | bytes) -> tuple[bytes, ...]:
        if isinstance(value, bytes):
            return (value,)
        return tuple(v.encode() for v in ([value] if isinstance(value, str) else value))

    return Entry("uid=x,dc=uni", {k.lower(): raw(v) for k, v in values.items()})


@pytest.mark.parametrize(
    ("value", "last_day"),
    [
        ("20271231235959Z", date(2027, 12, 31)),
        ("20271231000000Z", date(2027, 12, 30)),  # the account stops at midnight: the 30th
        ("2027123100Z", date(2027, 12, 30)),
        ("20271231120000.5Z", date(2027, 12, 31)),
        ("20280101010000+0200", date(2027, 12, 31)),  # 23:00 UTC on the 31st
        ("20271231", date(2027, 12, 31)),  # a date is the last day itself
        ("2027-12-31", date(2027, 12, 31)),
        ("133485408000000000", date(2023, 12, 31)),  # FILETIME 2024-01-01T00:00Z
        ("0", None),
        ("9223372036854775807", None),
    ],
)
def test_expiry_forms(value: str, last_day: date | None) -> None:
    assert expiry(value, "x") == last_day


@pytest.mark.parametrize(
    "value", ["soon", "2027-13-01", "2027123125Z", "-5", "12345", "2027/12/31"]
)
def test_expiries_that_are_not_dates_are_refused(value: str) -> None:
    with pytest.raises(BadRecord, match=r"an expiry \(x\) that is not a date"):
        expiry(value, "x")


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"userAccountControl": "512", "accountExpires": "0"}, None),
        ({"userAccountControl": "66048"}, None),
        ({"userAccountControl": "514"}, "the account is disabled"),
        ({"userAccountControl": "2"}, "the account is disabled"),
        ({"accountExpires": "9223372036854775807"}, None),
        ({"accountExpires": "133485408000000000"}, "the account has expired"),  # 2024
        ({"accountExpires": str(157_000_000_000_000_000)}, None),  # 2098
        ({}, None),  # not an Active Directory
    ],
)
def test_active_directory_account_state(values: dict[str, str], refused: str | None) -> None:
    reading = read(UNI, SETTINGS, "x", entry(displayName="X", **values), NOW)
    assert reading.refused == refused


def test_the_category_is_the_first_of_the_library_map_the_entry_holds() -> None:
    def category(values: list[str]) -> str:
        found = entry(displayName="X", eduPersonAffiliation=values)
        return read(UNI, SETTINGS, "x", found, NOW).holder.category

    assert category(["member", "staff", "student"]) == "student"  # the map lists it first
    assert category(["member", "staff"]) == "staff"
    assert category(["member", "affiliate"]) == "member"  # none mapped: the first, as sent
    assert category([]) == ""


def test_the_holder() -> None:
    found = entry(displayName=["Ada Lovelace ", "Ada"], eduPersonAffiliation="student",
                  accountExpires="157000000000000000")  # fmt: skip
    holder = read(UNI, SETTINGS, "ada", found, NOW).holder
    assert (holder.library, holder.card, holder.name) == ("uni", "ada", "Ada Lovelace")
    assert holder.category == "student" and holder.expires == date(2098, 7, 6)
    assert holder.fines == 0 and holder.flags == frozenset()
    assert attributes(SETTINGS) == [
        "displayName", "eduPersonAffiliation", "accountExpires", "userAccountControl",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"displayName": b"\xe9l\xe8ve"}, "a displayName that is not UTF-8"),
        ({"accountExpires": ["0", "1"]}, "2 values of accountExpires, where one is read"),
        ({"userAccountControl": "disabled"}, "a userAccountControl that is not a number"),
        ({"accountExpires": "never"}, r"an expiry \(accountExpires\) that is not a date"),
    ],
)
def test_entries_that_cannot_be_read(
    values: dict[str, str | list[str] | bytes], problem: str
) -> None:
    with pytest.raises(BadRecord, match=problem):
        read(UNI, SETTINGS, "x", entry(**values), NOW)


def test_names_and_codes_are_read_in_nfc() -> None:
    found = entry(displayName="E\u0301lodie", eduPersonAffiliation="e\u0301tudiant")
    holder = read(UNI, SETTINGS, "x", found, NOW).holder
    assert holder.name == "\u00c9lodie" and holder.category == "\u00e9tudiant"
