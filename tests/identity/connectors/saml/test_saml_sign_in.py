"""A patron of a SAML library signs in at its identity provider, and the answer becomes who
they are: from a signed assertion, an encrypted one, with the library's attribute choices."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.saml import Refused
from identity.patrons.connectors.saml.provider import ServiceProvider
from tests.identity.connectors.saml.conftest import IDP, Keys, Library
from tests.identity.connectors.saml.idp import ALICE, IdentityProvider, User

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


def sign_in(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    user: User = ALICE,
    **connector: str | None,
) -> FederatedPatron:
    entry = library(**connector)
    url, request_id = provider.begin(entry, "pending-1")
    return provider.finish(
        saml_response=idp.respond(url, user),
        relay_state="pending-1",
        expected_request_id=request_id,
        library=entry,
    )


def test_a_signed_assertion_says_who_signed_in(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    patron = sign_in(provider, library, idp)
    assert patron.library == "uni"
    assert patron.patron_id == "a1b2c3@uni.test"  # subject-id, the first choice
    assert patron.name == "Alice Liddell"
    # member@ and staff@: the category map names staff@uni.test, so that one
    assert patron.category == "staff@uni.test"
    assert patron.attributes["eduPersonPrincipalName"] == ("alice@uni.test",)
    assert patron.attributes["eduPersonScopedAffiliation"] == ("member@uni.test", "staff@uni.test")


def test_the_request_is_signed_and_asks_for_the_answer_at_the_acs(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    url, request_id = provider.begin(library(), "pending-7")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{IDP}/sso/redirect?")
    assert query["RelayState"] == ["pending-7"]
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"]
    # the IdP reads it, signature and all, from the hub's metadata
    request = idp.server.parse_authn_request(query["SAMLRequest"][0], REDIRECT)
    assert request.message.id == request_id
    assert request.message.assertion_consumer_service_url == "https://hub.example.org/saml/acs"
    assert request.message.issuer.text == "https://hub.example.org/saml/metadata"


def test_an_encrypted_assertion_is_decrypted(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, saml_keys: Keys
) -> None:
    url, request_id = provider.begin(library(), "pending-1")
    answer = idp.respond(url, encrypt_to=saml_keys.sp.cert_pem)
    assert b"EncryptedAssertion" in base64.b64decode(answer)
    patron = provider.finish(
        saml_response=answer,
        relay_state="pending-1",
        expected_request_id=request_id,
        library=library(),
    )
    assert patron.patron_id == "a1b2c3@uni.test"


def test_the_patron_id_falls_back_to_pairwise_id_then_the_principal_name(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    pairwise = User({"pairwise-id": ["x9y8z7@uni.test"], "eduPersonPrincipalName": ["bo@uni.test"]})
    assert sign_in(provider, library, idp, pairwise).patron_id == "x9y8z7@uni.test"
    principal = User({"eduPersonPrincipalName": ["bo@uni.test"]})
    patron = sign_in(provider, library, idp, principal)
    assert patron.patron_id == "bo@uni.test"
    assert (patron.name, patron.category) == ("", "")


def test_attributes_are_named_by_uri_or_by_their_usual_name(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    by_uri = sign_in(
        provider,
        library,
        idp,
        patron_id="urn:oid:0.9.2342.19200300.100.1.3",
        name="urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
    )
    assert (by_uri.patron_id, by_uri.name) == ("alice@uni.test", "alice@uni.test")
    by_name = sign_in(provider, library, idp, patron_id="mail", category="mail")
    assert (by_name.patron_id, by_name.category) == ("alice@uni.test", "alice@uni.test")


def test_a_transient_name_id_is_never_the_patron(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    """The IdP's NameID is transient (a new one every time): with no identifier attribute,
    nobody is signed in, whatever the NameID says."""
    with pytest.raises(Refused) as refused:
        sign_in(provider, library, idp, User({"displayName": ["Nobody Known"]}))
    assert refused.value.reason == "no-patron-id"


def test_a_patron_id_with_two_values_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    two = User({"eduPersonPrincipalName": ["a@uni.test", "b@uni.test"]})
    with pytest.raises(Refused) as refused:
        sign_in(provider, library, idp, two)
    assert refused.value.reason == "no-patron-id"
