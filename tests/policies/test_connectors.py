"""A library's ``ldap`` connector as the loader reads it: passwords only over TLS unless the
directory is on the hub's machine, one way to the patron's entry, ``{card}`` once in each
template, a filter in parentheses, every problem at its line with a message that says what to
write."""

from __future__ import annotations

import pytest

import policies
from policies import InvalidAgreements
from policies.model import LdapConnector

SEARCH = "search: {base: 'dc=uni,dc=edu', filter: '(uid={card})', bind_dn: 'cn=hub,dc=uni,dc=edu', password_env: UNI_LDAP}"  # noqa: E501


def entry(connector: str) -> str:
    return (
        "libraries:\n"
        "  - id: uni\n"
        "    name: Example University Library\n"
        "    categories: {student: undergraduate}\n"
        "    connector:\n"
        "      kind: ldap\n"
        "      category: eduPersonAffiliation\n"
        f"      {connector}\n"
    )


def problems(connector: str) -> list[tuple[int | None, str]]:
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources([("uni.yaml", entry(connector))])
    return [(p.line, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("connector", "host", "port", "tls"),
    [
        (f"url: ldaps://ldap.uni.edu\n      {SEARCH}", "ldap.uni.edu", 636, "ldaps"),
        (
            f"url: 'ldap://dc1.ad.uni.edu:3268'\n      start_tls: true\n      {SEARCH}",
            "dc1.ad.uni.edu",
            3268,
            "starttls",
        ),
        (
            "url: 'ldap://127.0.0.1:3389'\n      user_dn: 'uid={card},ou=people,dc=uni,dc=edu'",
            "127.0.0.1",
            3389,
            None,
        ),
        ("url: 'ldap://[::1]'\n      user_dn: 'uid={card},dc=uni'", "::1", 389, None),
        ("url: ldap://localhost\n      user_dn: 'uid={card},dc=uni'", "localhost", 389, None),
    ],
)
def test_connectors_that_load(connector: str, host: str, port: int, tls: str | None) -> None:
    library = policies.load_sources([("uni.yaml", entry(connector))]).libraries["uni"]
    settings = library.connector
    assert isinstance(settings, LdapConnector)
    assert (settings.host, settings.port) == (host, port)
    assert ("ldaps" if settings.ldaps else "starttls" if settings.start_tls else None) == tls
    assert settings.name == "cn" and settings.timeout_s == 5 and settings.connections == 8


@pytest.mark.parametrize(
    ("connector", "expected"),
    [
        pytest.param(
            f"url: ldap://ldap.uni.edu\n      {SEARCH}",
            (
                8,
                "library uni: connector.url: ldap://ldap.uni.edu would send patrons' passwords "
                "in clear text: use ldaps://, or start_tls: true (plain ldap:// only to a "
                "loopback address)",
            ),
            id="clear-text",
        ),
        pytest.param(
            f"url: ldap://10.0.0.5:389\n      {SEARCH}",
            (8, "library uni: connector.url: ldap://10.0.0.5:389 would send"),
            id="clear-text-to-an-address",
        ),
        pytest.param(
            f"url: ldaps://ldap.uni.edu\n      start_tls: true\n      {SEARCH}",
            (8, "library uni: connector.url: ldaps://ldap.uni.edu is TLS already"),
            id="tls-twice",
        ),
        pytest.param(
            f"url: https://ldap.uni.edu\n      {SEARCH}",
            (8, "library uni: connector.url: 'https://ldap.uni.edu' is not ldaps://HOST[:PORT]"),
            id="not-ldap",
        ),
        pytest.param(
            f"url: ldaps://ldap.uni.edu/dc=uni?uid\n      {SEARCH}",
            (8, "library uni: connector.url: 'ldaps://ldap.uni.edu/dc=uni?uid' is not"),
            id="an-ldap-url-with-a-dn",
        ),
        pytest.param(
            "url: ldaps://ldap.uni.edu",
            (6, "library uni: connector: give user_dn (the patron's DN, uid={card},ou=people"),
            id="neither",
        ),
        pytest.param(
            f"url: ldaps://ldap.uni.edu\n      user_dn: 'uid={{card}},dc=uni'\n      {SEARCH}",
            (6, "library uni: connector: give the patron's DN as user_dn"),
            id="both",
        ),
        pytest.param(
            "url: ldaps://ldap.uni.edu\n      user_dn: 'uid=ada,dc=uni'",
            (9, "library uni: connector.user_dn: 'uid=ada,dc=uni' must hold {card} exactly once"),
            id="no-card-in-the-dn",
        ),
        pytest.param(
            "url: ldaps://ldap.uni.edu\n      search: {base: 'dc=uni', filter: 'uid={card}', "
            "bind_dn: 'cn=hub,dc=uni', password_env: UNI_LDAP}",
            (
                9,
                "library uni: connector.search: the search filter 'uid={card}' must be one LDAP "
                "filter in parentheses",
            ),
            id="filter-without-parentheses",
        ),
        pytest.param(
            "url: ldaps://ldap.uni.edu\n      search: {base: 'dc=uni', filter: '(uid={card})', "
            "bind_dn: 'cn=hub,dc=uni', password_env: X, password: hunter2}",
            (
                9,
                "library uni: connector.search.password: unknown key 'password': secrets never "
                "go in agreement files",
            ),
            id="a-password",
        ),
        pytest.param(
            "url: ldaps://ldap.uni.edu\n      search: {base: 'dc=uni', filter: '(uid={card})', "
            "bind_dn: 'cn=hub,dc=uni', password_env: X, scope: one}",
            (
                9,
                "library uni: connector.search.scope: unknown key 'scope'; allowed: base, "
                "filter, bind_dn, password_env",
            ),
            id="unknown-search-key",
        ),
    ],
)
def test_connector_problems(connector: str, expected: tuple[int, str]) -> None:
    found = problems(connector)
    assert len(found) == 1, found
    line, message = found[0]
    assert line == expected[0] and message.startswith(expected[1]), found
