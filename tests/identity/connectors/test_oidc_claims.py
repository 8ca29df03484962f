"""The claims of a university's provider read as a ``FederatedPatron``: the claims the library
names, a category claim holding several values mapped by the library's map in its order, and a
patron with no identifier refused."""

from __future__ import annotations

import pytest

import policies
from identity.patrons.connectors.oidc.relying_party import patron_of
from identity.patrons.federated_signin import SignInRefused
from policies.model import OidcConnector

ENTRY = """\
libraries:
  - id: uni
    name: University Library
    categories: {staff@uni.example: staff, student@uni.example: undergraduate}
    connector: {kind: oidc, issuer: "https://idp.uni.example", client_id: hub,
                patron_id: preferred_username, category: roles, name: display}
"""
LIBRARY = policies.load_sources([("uni.yaml", ENTRY)]).libraries["uni"]
assert isinstance(LIBRARY.connector, OidcConnector)
SETTINGS = LIBRARY.connector


def test_the_claims_the_library_names_are_read() -> None:
    roles = ["member@uni.example", "student@uni.example", "staff@uni.example"]
    claims = {"sub": "x1", "preferred_username": "s1234567", "display": "Ada Lovelace",
              "roles": roles, "nonce": "n", "aud": "hub", "email_verified": True,
              "groups": [{"id": 1}]}  # fmt: skip
    patron = patron_of(LIBRARY, SETTINGS, claims)
    assert patron.library == "uni" and patron.patron_id == "s1234567"
    assert patron.name == "Ada Lovelace"
    assert patron.category == "staff@uni.example"  # the map's first code the patron holds
    assert patron.attributes["roles"][0] == "member@uni.example"
    assert {"nonce", "aud", "email_verified", "groups"}.isdisjoint(patron.attributes)


@pytest.mark.parametrize(
    ("roles", "category"),
    [
        ("student@uni.example", "student@uni.example"),
        (["alum@uni.example", "student@uni.example"], "student@uni.example"),
        (["alum@uni.example"], "alum@uni.example"),  # not in the map: no agreement covers it
        (None, ""),
        (42, "42"),
    ],
)
def test_the_category_claim(roles: object, category: str) -> None:
    claims = {"preferred_username": "s1", "roles": roles}
    assert patron_of(LIBRARY, SETTINGS, claims).category == category


@pytest.mark.parametrize("username", [None, "", [], True])
def test_a_patron_with_no_identifier_is_refused(username: object) -> None:
    with pytest.raises(SignInRefused, match="no 'preferred_username' claim"):
        patron_of(LIBRARY, SETTINGS, {"sub": "x", "preferred_username": username})
