"""Answers the hub refuses, each for its reason: unsigned, expired, replayed, for another
audience, recipient or request, out of scope, from another IdP. Each is a real answer of
the test IdP, signed with its key; only what it says differs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from identity import retention
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.saml import Declined, Refused
from identity.patrons.connectors.saml.provider import ServiceProvider
from identity.store.database import make_engine, transaction
from identity.store.models import utcnow
from tests.identity.connectors.saml.conftest import IDP, Keys, Library, sp_settings
from tests.identity.connectors.saml.idp import ALICE, IdentityProvider, User

ACS = "https://hub.example.org/saml/acs"


def answer(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    user: User = ALICE,
    **changes: Any,
) -> FederatedPatron:
    """Sign in at ``idp``, which answers with ``changes``; what ``finish`` makes of it."""
    url, request_id = provider.begin(library(), "pending-1")
    return provider.finish(
        saml_response=idp.respond(url, user, **changes),
        relay_state="pending-1",
        expected_request_id=request_id,
        library=library(),
    )


def refused(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    user: User = ALICE,
    **changes: Any,
) -> str:
    with pytest.raises(Refused) as caught:
        answer(provider, library, idp, user, **changes)
    return caught.value.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sign_assertion": False}, "unsigned"),
        # a signed Response around an unsigned assertion is not enough
        ({"sign_assertion": False, "sign_response": True}, "unsigned"),
        ({"sign_alg": "http://www.w3.org/2000/09/xmldsig#rsa-sha1"}, "weak-signature"),
        ({"digest_alg": "http://www.w3.org/2000/09/xmldsig#sha1"}, "weak-signature"),
        ({"lifetime": timedelta(minutes=-5), "not_before": timedelta(minutes=-10)}, "expired"),
        ({"not_before": timedelta(minutes=5)}, "not-yet-valid"),
        ({"audience": "https://another-sp.example.org/shibboleth"}, "audience"),
        ({"recipient": "https://another-sp.example.org/Shibboleth.sso/SAML2/POST"}, "recipient"),
        (
            {"destination": "https://another-sp.example.org/Shibboleth.sso/SAML2/POST"},
            "destination",
        ),
        ({"in_response_to": "id-another-request"}, "in-response-to"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_answer_that_breaks_a_rule_is_refused(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    changes: dict[str, Any],
    reason: str,
) -> None:
    assert refused(provider, library, idp, **changes) == reason


def test_the_clocks_may_differ_by_a_minute_no_more(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    assert answer(provider, library, idp, not_before=timedelta(seconds=30)).patron_id
    assert answer(
        provider, library, idp, lifetime=timedelta(seconds=-30), not_before=timedelta(minutes=-5)
    ).patron_id
    assert refused(provider, library, idp, not_before=timedelta(seconds=90)) == "not-yet-valid"
    assert (
        refused(
            provider,
            library,
            idp,
            lifetime=timedelta(seconds=-90),
            not_before=timedelta(minutes=-5),
        )
        == "expired"
    )


def test_an_answer_to_another_request_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    first, _ = provider.begin(library(), "pending-1")
    _, second = provider.begin(library(), "pending-2")
    with pytest.raises(Refused) as caught:
        provider.finish(
            saml_response=idp.respond(first),
            relay_state="pending-2",
            expected_request_id=second,
            library=library(),
        )
    assert caught.value.reason == "in-response-to"


def test_an_assertion_is_accepted_once(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    url, request_id = provider.begin(library(), "pending-1")
    posted = idp.respond(url)
    asked: dict[str, Any] = {
        "saml_response": posted,
        "relay_state": "pending-1",
        "expected_request_id": request_id,
        "library": library(),
    }
    assert provider.finish(**asked).patron_id == "a1b2c3@uni.test"
    with pytest.raises(Refused) as caught:
        provider.finish(**asked)
    assert caught.value.reason == "replayed"


@pytest.mark.db
def test_an_assertion_is_accepted_once_across_instances(
    engine: Engine, database_url: str, saml_keys: Keys, library: Library, idp: IdentityProvider
) -> None:
    """Two instances of the hub, each with its own engine on one database: the second to see
    an assertion refuses it."""
    other_engine = make_engine(sp_settings(database_url, saml_keys))
    try:
        one, two = (
            ServiceProvider(settings=sp_settings(database_url, saml_keys), engine=e)
            for e in (engine, other_engine)
        )
        url, request_id = one.begin(library(), "pending-1")
        asked: dict[str, Any] = {
            "saml_response": idp.respond(url),
            "relay_state": "pending-1",
            "expected_request_id": request_id,
            "library": library(),
        }
        assert one.finish(**asked).patron_id == "a1b2c3@uni.test"
        with pytest.raises(Refused) as caught:
            two.finish(**asked)
        assert caught.value.reason == "replayed"
    finally:
        other_engine.dispose()


@pytest.mark.parametrize(
    "attributes",
    [
        {"eduPersonPrincipalName": ["alice@evil.test"]},
        {"subject-id": ["a1b2c3@uni.test.evil.test"]},
        {"subject-id": ["a1b2c3@uni.test"], "eduPersonScopedAffiliation": ["staff@evil.test"]},
        {"subject-id": ["a1b2c3"]},  # no scope at all
    ],
)
def test_a_scoped_value_outside_the_idps_scopes_is_refused(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    attributes: dict[str, list[str]],
) -> None:
    """The IdP's metadata gives it the scope uni.test: it may not speak for evil.test."""
    assert refused(provider, library, idp, User(attributes)) == "scope"


def test_another_idp_of_the_federation_cannot_answer_for_the_library(
    provider: ServiceProvider, library: Library, other_idp: IdentityProvider
) -> None:
    """The college's IdP is in the same federation metadata, with its own key and scopes."""
    college = User({"eduPersonPrincipalName": ["carol@college.test"]})
    assert refused(provider, library, other_idp, college) == "issuer"
    # naming the university's IdP as issuer does not help: its key is not the college's
    assert refused(provider, library, other_idp, college, issuer=IDP) == "signature"


def test_an_answer_signed_with_a_key_not_in_the_metadata_is_refused(
    provider: ServiceProvider,
    library: Library,
    saml_keys: Keys,
    sp_metadata: str,
    tmp_path: Any,
) -> None:
    impostor = IdentityProvider(IDP, saml_keys.rogue, ["uni.test"], sp_metadata)
    assert refused(provider, library, impostor) == "signature"


def test_an_assertion_encrypted_to_another_key_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, saml_keys: Keys
) -> None:
    assert refused(provider, library, idp, encrypt_to=saml_keys.rogue.cert_pem) == "undecryptable"


def test_the_idp_saying_no_is_declined(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    url, request_id = provider.begin(library(), "pending-1")
    with pytest.raises(Declined) as caught:
        provider.finish(
            saml_response=idp.decline(url),
            relay_state="pending-1",
            expected_request_id=request_id,
            library=library(),
        )
    assert caught.value.status == "AuthnFailed"


def test_the_assertions_seen_are_forgotten_once_expired(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, engine: Engine
) -> None:
    assert answer(provider, library, idp).patron_id
    settings = provider.settings
    with transaction(engine) as session:
        assert retention.purge(session=session, settings=settings)["SAML assertions seen"] == 0
    later = utcnow() + timedelta(minutes=12)  # past MAX_AGE and the skew
    with transaction(engine) as session:
        counts = retention.purge(session=session, settings=settings, now=later)
    assert counts["SAML assertions seen"] == 1
