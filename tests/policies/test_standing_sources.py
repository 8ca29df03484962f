"""A library's ``standing:`` (where a federated library's patrons' fines, flags and expiry come
from) as the loader reads it, and ``requires_standing_source`` in the decision rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import policies
from policies import BorrowRequest, Code, InvalidAgreements
from policies.model import RegistryStanding, Sip2Standing

OIDC = "{kind: oidc, issuer: 'https://login.uni.edu', client_id: hub}"


def entry(connector: str, standing: str) -> str:
    return (
        "libraries:\n"
        "  - id: uni\n"
        "    name: Example University Library\n"
        "    categories: {student: undergraduate}\n"
        f"    connector: {connector}\n"
        f"    standing: {standing}\n"
    )


def problems(connector: str, standing: str) -> list[tuple[int | None, str]]:
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources([("uni.yaml", entry(connector, standing))])
    return [(p.line, p.message) for p in caught.value.problems]


def test_sources_that_load() -> None:
    sip2 = "{kind: sip2, host: sip.uni.edu, port: 6001, institution: UNI, match: studentNumber}"
    library = policies.load_sources([("uni.yaml", entry(OIDC, sip2))]).libraries["uni"]
    assert isinstance(library.standing, Sip2Standing)
    assert library.standing.match == "studentNumber" and library.standing.port == 6001
    saml = "{kind: saml, idp: 'https://idp.uni.edu', metadata_file: m.xml, metadata_cert: c.pem}"
    registry = "{kind: registry, match: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6'}"
    library = policies.load_sources([("uni.yaml", entry(saml, registry))]).libraries["uni"]
    assert isinstance(library.standing, RegistryStanding)


@pytest.mark.parametrize(
    ("connector", "standing", "expected"),
    [
        (
            "{kind: registry}",
            "{kind: registry, match: card}",
            "a registry library's connector gives the standing itself",
        ),
        (
            "{kind: sip2, host: h, port: 1, institution: I}",
            "{kind: registry, match: card}",
            "a sip2 library's connector gives the standing itself",
        ),
        (OIDC, "{kind: registry}", "standing.match: missing required key 'match'"),
        (
            OIDC,
            "{kind: oidc, match: x}",
            "unknown kind 'oidc'; expected 'registry', 'sip2', 'ldap'",
        ),
        (OIDC, "{kind: sip2, host: h, port: 70000, institution: I, match: x}", "standing.port"),
    ],
)
def test_sources_that_do_not_load(connector: str, standing: str, expected: str) -> None:
    [(line, message)] = problems(connector, standing)
    assert line == 6 and expected in message, message


def test_an_agreement_may_require_a_known_standing() -> None:
    agreements = policies.load_sources(
        [
            ("uni.yaml", entry(OIDC, "{kind: registry, match: card}")),
            (
                "a.yaml",
                "libraries:\n  - {id: town, name: Town Library}\n"
                "agreements:\n"
                "  - id: town-uni\n    kind: bilateral\n    lender: town\n"
                "    borrowers_from: [uni]\n    categories: [undergraduate]\n"
                "    standing: {max_fines: 5.00, requires_standing_source: true}\n"
                "    terms: {max_items: 2, loan_days: 14}\n",
            ),
        ]
    )

    def ask(**facts: object) -> policies.Decision:
        request = BorrowRequest(
            lender="town", home_library="uni", category="undergraduate", on=date(2026, 12, 1),
            **facts,  # type: ignore[arg-type]
        )  # fmt: skip
        return agreements.decide(request)

    assert ask().eligible
    unknown = ask(standing_known=False)
    assert not unknown.eligible and unknown.agreements == ("town-uni",)
    [reason] = unknown.reasons
    assert reason.code is Code.STANDING_UNKNOWN and reason.agreement == "town-uni"
    assert "requires the home library's record" in reason.message
    # known: the record decides; unknown with fines too: both reasons, the unknown first
    assert [r.code for r in ask(fines=Decimal("6")).reasons] == [Code.FINES_OVER_LIMIT]
    both = ask(standing_known=False, fines=Decimal("6"))
    assert [r.code for r in both.reasons] == [Code.STANDING_UNKNOWN, Code.FINES_OVER_LIMIT]
    with pytest.raises(ValueError, match="standing_known must be a bool"):
        ask(standing_known=1)
