"""Properties of the evaluator that hold for every request, beyond the scenario tables."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policies
from policies import agreements as evaluator
from policies.model import FLAGS

EXAMPLES = Path(policies.__file__).parent / "examples"
NETWORK = policies.load(EXAMPLES)
LIBRARIES = sorted(NETWORK.libraries)
CATEGORIES = sorted(NETWORK.categories)
DAYS = [
    date(2025, 2, 28),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 11, 22),
    date(2027, 1, 1),
]


def everything(network: policies.Agreements) -> list[dict[str, object]]:
    out = []
    for lender, home, category, on in itertools.product(LIBRARIES, LIBRARIES, CATEGORIES, DAYS):
        request = policies.BorrowRequest(lender=lender, home_library=home, category=category, on=on)
        answer = network.decide(request).to_dict()
        answer.pop("decided_at")
        out.append(answer)
    return out


def test_large_consortia_decide_exactly_as_expanded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    expanded = everything(NETWORK)
    monkeypatch.setattr(evaluator, "EXPAND_CONSORTIA_UP_TO", 2)
    scanned = policies.load(EXAMPLES)
    assert everything(scanned) == expanded
    assert sum(a["eligible"] is True for a in expanded) > 100  # the comparison covers approvals


requests = st.builds(
    policies.BorrowRequest,
    lender=st.sampled_from(LIBRARIES),
    home_library=st.sampled_from(LIBRARIES),
    category=st.sampled_from([*CATEGORIES, "visitor"]),
    on=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    material=st.none() | st.sampled_from(["book", "av", "reserve", "thesis", "rare"]),
    fines=st.decimals(0, 60, places=2),
    flags=st.frozensets(st.sampled_from(FLAGS), max_size=3),
    card_expires=st.none() | st.dates(date(2025, 1, 1), date(2028, 12, 31)),
)


@settings(max_examples=600, derandomize=True, deadline=None)
@given(requests)
def test_every_answer_explains_itself(request: policies.BorrowRequest) -> None:
    decision = NETWORK.decide(request)
    if decision.eligible:
        assert decision.terms is not None and decision.reasons == ()
        assert decision.agreements and decision.agreements[0] in NETWORK.agreements
        assert decision.valid_until is None or decision.valid_until >= request.on
    else:
        assert decision.terms is None and decision.valid_until is None
        assert decision.reasons, "a refusal must say why"
        assert all(r.message for r in decision.reasons)
        named = {r.agreement for r in decision.reasons} - {None}
        assert set(decision.agreements) <= named


def test_a_day_either_side_of_an_agreement() -> None:
    until = NETWORK.agreements["caval-2026"].effective.until
    assert until is not None
    for on, expected in [(until, True), (until + timedelta(days=1), False)]:
        request = policies.BorrowRequest(
            lender="vu", home_library="deakin", category="staff", on=on, fines=Decimal(0)
        )
        assert NETWORK.decide(request).eligible is expected


def test_small_and_large_consortia_are_weighed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """One pair in a consortium small enough to be indexed by pair and in a large one: both are
    consortia, so both are considered, and the more generous terms win whichever index holds
    them."""
    monkeypatch.setattr(evaluator, "EXPAND_CONSORTIA_UP_TO", 2)
    text = """\
libraries:
  - {id: a, name: A, categories: {S: staff}}
  - {id: b, name: B, categories: {S: staff}}
  - {id: c, name: C, categories: {S: staff}}
agreements:
  - id: small
    kind: consortium
    members: [a, b]
    categories: [staff]
    terms: {max_items: 2, loan_days: 14}
  - id: large
    kind: consortium
    members: [a, b, c]
    categories: [staff]
    standing: {max_fines: 5.00}
    terms: {max_items: 9, loan_days: 28}
"""
    network = policies.load_sources([("net.yaml", text)])
    ask = policies.BorrowRequest(lender="a", home_library="b", category="staff", on=DAYS[0])
    decision = network.decide(ask)
    assert decision.agreements == ("large", "small")
    assert decision.terms is not None and decision.terms.max_items == 9
    fined = network.decide(
        policies.BorrowRequest(
            lender="a", home_library="b", category="staff", on=DAYS[0], fines=Decimal("6.00")
        )
    )
    assert fined.agreements == ("small",) and fined.terms is not None
    assert fined.terms.max_items == 2


@pytest.mark.parametrize(
    "facts",
    [
        {"fines": Decimal("NaN")},
        {"fines": Decimal("Infinity")},
        {"fines": Decimal("-0.01")},
        {"fines": 10.0},
        {"on": __import__("datetime").datetime(2026, 11, 22, 9, 30)},
        {"card_expires": "2027-01-01"},
    ],
)
def test_requests_with_facts_no_rule_can_judge_are_refused(facts: dict[str, object]) -> None:
    base: dict[str, object] = {
        "lender": "monash",
        "home_library": "rmit",
        "category": "staff",
        "on": date(2026, 11, 22),
    }
    with pytest.raises(ValueError, match="must be"):
        policies.BorrowRequest(**{**base, **facts})  # type: ignore[arg-type]


def test_material_is_compared_in_lower_case() -> None:
    request = policies.BorrowRequest(
        lender="monash",
        home_library="rmit",
        category="undergraduate",
        on=date(2026, 11, 22),
        material=" AV ",
    )
    decision = NETWORK.decide(request)
    assert not decision.eligible
    assert [r.code for r in decision.reasons] == [policies.Code.MATERIAL_EXCLUDED]


def test_huge_fines_still_explain_themselves() -> None:
    request = policies.BorrowRequest(
        lender="monash",
        home_library="rmit",
        category="undergraduate",
        on=date(2026, 11, 22),
        fines=Decimal("1e27"),
    )
    [reason] = NETWORK.decide(request).reasons
    assert reason.message.startswith(
        "Fines owed 1000000000000000000000000000 exceed the limit 10.00"
    )
