"""The hub and an independent Cedar encoding of docs/agreements.md (tests/policies/cedar.py) agree
on who is eligible, on random networks loaded from YAML text and on a table of fixed cases."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import policies
from policies import BorrowRequest, Code
from tests.policies.cedar import CedarModel
from tests.policies.networks import Case, cases, outcome

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


def test_hub_and_cedar_agree_on_random_networks() -> None:
    seen: Counter[str] = Counter()

    @settings(deadline=None, max_examples=250, derandomize=True, database=None)
    @given(cases())
    def check(case: Case) -> None:
        agreements = policies.load_sources(case.sources)
        models = {
            "indexed": CedarModel(agreements),
            "indexed, per-pair entities": CedarModel(agreements, feed="per-pair"),
            "wide": CedarModel(agreements, wide=True),
        }
        for req in case.requests:
            decision = agreements.decide(req)
            seen.update(outcome(agreements, req, decision))
            for label, cedar in models.items():
                verdict = cedar.verdict(req)
                assert verdict.eligible == decision.eligible, (
                    f"hub says {decision.eligible}, Cedar ({label}) "
                    f"says {verdict.eligible}\nrequest: {req}\nhub: {decision.to_dict()}\n"
                    f"cedar: applies {sorted(verdict.applies)}, admits {sorted(verdict.admits)}\n"
                    + "\n".join(f"--- {name}\n{text}" for name, text in case.sources)
                )

    check()
    # the generator must reach every outcome, or agreement proves little
    expected = [
        "eligible:bilateral",
        "eligible:consortium",
        "edge:fines_at_limit",
        "edge:card_expires_that_day",
        "edge:first_or_last_day",
        *(f"denied:{code.value}" for code in Code),
    ]
    missing = [name for name in expected if seen[name] == 0]
    assert not missing, f"random networks never produced {missing}; saw {dict(seen)}"


# --- fixed cases -------------------------------------------------------------------------------


NO_FALLBACK = """
libraries:
  - id: north
    name: North Library
    categories: {ST: staff, UG: undergraduate}
  - id: south
    name: South Library
    categories: {ST: staff, UG: undergraduate}
  - id: east
    name: East Library
    categories: {ST: staff, UG: undergraduate}
agreements:
  - id: compass
    kind: consortium
    members: [north, south, east]
    categories: [staff, undergraduate]
    standing: {max_fines: 100.00, card_must_be_valid: false}
    terms: {max_items: 3, loan_days: 14}
  # covers staff only, and is stricter than the consortium: it decides for staff (no fallback)
  - id: north-south-staff
    kind: bilateral
    lender: north
    borrowers_from: [south]
    effective: {from: 2026-01-01, until: 2026-06-30}
    categories: [staff]
    standing: {max_fines: 0.00, blocking_flags: [blocked]}
    terms: {max_items: 10, loan_days: 28, excluded_material: [av]}
  - id: east-suspends-south-undergrad
    kind: suspension
    lender: east
    borrowers_from: [south]
    categories: [undergraduate]
    effective: {until: 2026-06-30}
    reason: Audit
"""


def req(lender: str, home: str, category: str, on: str, **facts: Any) -> BorrowRequest:
    if "fines" in facts:
        facts["fines"] = Decimal(facts["fines"])
    if "card_expires" in facts:
        facts["card_expires"] = date.fromisoformat(facts["card_expires"])
    if "flags" in facts:
        facts["flags"] = frozenset(facts["flags"])
    return BorrowRequest(
        lender=lender, home_library=home, category=category, on=date.fromisoformat(on), **facts
    )


EXAMPLE_CASES = [
    # rule 3: the bilateral covering the category decides
    ("bilateral admits staff", req("monash", "rmit", "staff", "2026-11-22"), True),
    ("consortium for undergraduates", req("monash", "rmit", "undergraduate", "2026-11-22"), True),
    ("bilateral fines limit 50", req("monash", "rmit", "staff", "2026-11-22", fines="50.00"), True),
    ("over bilateral limit", req("monash", "rmit", "staff", "2026-11-22", fines="50.01"), False),
    # rule 5: fines equal to max_fines pass; more fail
    ("fines at limit", req("latrobe", "deakin", "staff", "2026-11-22", fines="10.00"), True),
    ("fines over limit", req("latrobe", "deakin", "staff", "2026-11-22", fines="10.01"), False),
    # rule 5: a card expiring on the day asked about is still valid
    (
        "card expires today",
        req("vu", "rmit", "staff", "2026-11-22", card_expires="2026-11-22"),
        True,
    ),
    ("card expired", req("vu", "rmit", "staff", "2026-11-22", card_expires="2026-11-21"), False),
    ("blocking flag", req("vu", "rmit", "staff", "2026-11-22", flags={"card_lost"}), False),
    ("harmless flag", req("vu", "rmit", "staff", "2026-11-22", flags={"hold_denied"}), True),
    ("material excluded", req("vu", "rmit", "staff", "2026-11-22", material="av"), False),
    ("material allowed", req("vu", "rmit", "staff", "2026-11-22", material="book"), True),
    # rule 5: inclusive effective dates, and the year before has ended
    ("first day of caval-2026", req("vu", "rmit", "staff", "2026-03-01"), True),
    ("last day of caval-2025", req("vu", "rmit", "staff", "2026-02-28"), True),
    ("after caval-2026", req("vu", "rmit", "staff", "2027-03-01"), False),
    # rule 2: suspensions, with and without categories
    ("suspended", req("latrobe", "rmit", "staff", "2026-11-01"), False),
    ("before the suspension", req("latrobe", "rmit", "staff", "2026-10-31"), True),
    ("reverse not suspended", req("rmit", "latrobe", "staff", "2026-11-22"), True),
    ("undergrads suspended", req("vu", "swinburne", "undergraduate", "2026-12-31"), False),
    ("staff not suspended", req("vu", "swinburne", "staff", "2026-12-31"), True),
    ("suspension over", req("vu", "swinburne", "undergraduate", "2027-01-01"), True),
    # a bilateral not yet in force does not apply, so the consortium decides
    ("bilateral not in force", req("swinburne", "vu", "postgraduate", "2026-12-31"), True),
    ("alumni bilateral", req("deakin", "rmit", "alumni", "2026-11-22", fines="0.00"), True),
    ("alumni with fines", req("deakin", "rmit", "alumni", "2026-11-22", fines="0.01"), False),
    ("no alumni agreement", req("latrobe", "rmit", "alumni", "2026-10-22"), False),
    ("one-way only", req("rmit", "deakin", "alumni", "2026-11-22"), False),
    ("own library", req("rmit", "rmit", "staff", "2026-11-22"), False),
    ("unknown library", req("nowhere", "rmit", "staff", "2026-11-22"), False),
    ("unknown category", req("monash", "rmit", "visitor", "2026-11-22"), False),
]

NO_FALLBACK_CASES = [
    # the bilateral covers staff and decides even though the patron fails it (no fallback)
    ("bilateral fails on fines", req("north", "south", "staff", "2026-03-01", fines="0.01"), False),
    (
        "bilateral fails on material",
        req("north", "south", "staff", "2026-03-01", material="av"),
        False,
    ),
    ("bilateral admits", req("north", "south", "staff", "2026-03-01", material="book"), True),
    # the bilateral does not cover undergraduates, so the consortium decides
    (
        "consortium for undergraduates",
        req("north", "south", "undergraduate", "2026-03-01", fines="0.01", material="av"),
        True,
    ),
    # once the bilateral has ended, the consortium decides for staff too
    ("bilateral ended", req("north", "south", "staff", "2026-07-01", fines="0.01"), True),
    ("bilateral's last day", req("north", "south", "staff", "2026-06-30", fines="0.01"), False),
    (
        "expired card, consortium",
        req("south", "north", "staff", "2026-03-01", card_expires="2020-01-01"),
        True,
    ),
    ("suspended undergraduate", req("east", "south", "undergraduate", "2026-06-30"), False),
    ("after the suspension", req("east", "south", "undergraduate", "2026-07-01"), True),
    ("suspension spares staff", req("east", "south", "staff", "2026-06-30"), True),
]


@pytest.fixture(scope="module")
def example_network() -> tuple[policies.Agreements, CedarModel]:
    agreements = policies.load(EXAMPLES)
    return agreements, CedarModel(agreements)


@pytest.fixture(scope="module")
def no_fallback_network() -> tuple[policies.Agreements, CedarModel]:
    agreements = policies.load_sources([("no-fallback.yaml", NO_FALLBACK)])
    return agreements, CedarModel(agreements)


@pytest.mark.parametrize(
    ("name", "request_", "eligible"), EXAMPLE_CASES, ids=[c[0] for c in EXAMPLE_CASES]
)
def test_example_network(
    example_network: tuple[policies.Agreements, CedarModel],
    name: str,
    request_: BorrowRequest,
    eligible: bool,
) -> None:
    agreements, cedar = example_network
    assert (agreements.decide(request_).eligible, cedar.eligible(request_)) == (eligible, eligible)


@pytest.mark.parametrize(
    ("name", "request_", "eligible"), NO_FALLBACK_CASES, ids=[c[0] for c in NO_FALLBACK_CASES]
)
def test_bilateral_decides_without_fallback(
    no_fallback_network: tuple[policies.Agreements, CedarModel],
    name: str,
    request_: BorrowRequest,
    eligible: bool,
) -> None:
    agreements, cedar = no_fallback_network
    assert (agreements.decide(request_).eligible, cedar.eligible(request_)) == (eligible, eligible)
