"""The compiled index (``Agreements.decide``) and the plain-Python rules (``policies.reference``)
return equal decisions: every field, the reasons in order with their messages, on random networks
and requests, and on every question about the worked example network."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import policies
import policies.agreements
from policies import (
    Bilateral,
    BorrowRequest,
    Consortium,
    Decision,
    Library,
    Suspension,
    Terms,
    reference,
)
from policies.agreements import EXPAND_CONSORTIA_UP_TO
from policies.model import Standing
from tests.policies.networks import Case, cases, outcome

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


def answer(decision: Decision) -> dict[str, object]:
    """What a caller sees of a decision (the JSON answer, messages included), but the time."""
    return decision.to_dict() | {"decided_at": None}


def assert_same(agreements: policies.Agreements, request: BorrowRequest, large: int) -> Decision:
    indexed = agreements.decide(request)
    plain = reference.decide(
        agreements.libraries.values(),
        agreements.agreements.values(),
        request,
        expand_consortia_up_to=large,
    )
    assert (indexed, answer(indexed)) == (plain, answer(plain)), (
        f"request: {request}\nindex:     {answer(indexed)}\nreference: {answer(plain)}"
    )
    return indexed


def exercised(
    agreements: policies.Agreements, request: BorrowRequest, decision: Decision, large: int
) -> list[str]:
    """Beyond ``outcome``: the details the reference must reproduce exactly."""
    out = outcome(agreements, request, decision)
    named = [*decision.agreements, *(r.agreement for r in decision.reasons if r.agreement)]
    listed = [agreements.agreements[a] for a in dict.fromkeys(named)]
    if decision.eligible:
        out.append("eligible:several admit" if len(listed) > 1 else "eligible:one admits")
        if decision.valid_until is None:
            out.append("valid_until:none")
        elif decision.valid_until == request.card_expires:
            out.append("valid_until:card")
        else:
            out.append("valid_until:agreement")
    elif len(decision.agreements) > 1:
        out.append("denied:several considered")
    for suspension in listed:
        if isinstance(suspension, Suspension):
            out.append(f"suspended:{'some' if suspension.categories else 'every'} category")
    if any(isinstance(c, Consortium) and len(c.members) > large for c in listed):
        out.append("consortia:large")  # not expanded into pairs: see reference._between
    return out


def test_index_and_reference_agree_on_random_networks() -> None:
    seen: Counter[str] = Counter()

    # The index keeps consortia above a size apart from the pairs they cover: small sizes here,
    # so that random networks reach that path (the order it lists them in has its own test). The
    # agreements of a random network are written in the order of their ids: the set reversed
    # too, so that no rule leans on that (see also the tie test below). Networks of two or
    # three libraries are crowded: several agreements of each kind about one pair.
    @settings(deadline=None, max_examples=120, derandomize=True, database=None)
    @given(
        st.one_of(cases(), cases(most_libraries=3)),
        st.sampled_from((2, 3, EXPAND_CONSORTIA_UP_TO)),
        st.booleans(),
    )
    def check(case: Case, large: int, reverse: bool) -> None:
        with mock.patch.object(policies.agreements, "EXPAND_CONSORTIA_UP_TO", large):
            agreements = policies.load_sources(case.sources)
            if reverse:
                models = list(agreements.agreements.values())[::-1]
                agreements = policies.Agreements(agreements.libraries.values(), models)
        for request in case.requests:
            decision = assert_same(agreements, request, large)
            seen.update(exercised(agreements, request, decision, large))

    check()
    expected = [
        "eligible:bilateral",
        "eligible:consortium",
        "eligible:several admit",
        "edge:fines_at_limit",
        "edge:card_expires_that_day",
        "edge:first_or_last_day",
        "valid_until:none",
        "valid_until:card",
        "valid_until:agreement",
        "suspended:some category",
        "suspended:every category",
        "denied:several considered",
        "consortia:large",
        *(f"denied:{code.value}" for code in policies.Code),
    ]
    missing = [name for name in expected if seen[name] == 0]
    assert not missing, f"random networks never produced {missing}; saw {dict(seen)}"


def test_index_and_reference_agree_on_the_example_network() -> None:
    """Every ordered pair of libraries (and an unknown one), every hub category (and an unknown
    one), on each first and last day of an agreement and the days either side; each question
    with the next of a clean card and each way of failing the standing checks, in turn."""
    agreements = policies.load(EXAMPLES)
    libraries = [*agreements.libraries, "nowhere"]
    categories = [*sorted(agreements.categories), "visitor"]
    edges = {d for a in agreements.agreements.values() for d in a.effective.model_dump().values()}
    days = sorted({e + timedelta(days=k) for e in edges if e is not None for k in (-1, 0, 1)})
    facts: list[dict[str, object]] = [
        {},
        {"fines": Decimal("10.00"), "card_expires": None},
        {"fines": Decimal("50.01"), "material": "av"},
        {"flags": frozenset({"card_lost", "charge_denied", "hold_denied"})},
        {"card_expires": date.min, "material": "reserve"},
        {"standing_known": False},
    ]
    codes: Counter[str] = Counter()
    questions = itertools.product(libraries, libraries, categories, days)
    for (lender, home, category, on), more in zip(questions, itertools.cycle(facts)):
        request = BorrowRequest(
            lender=lender,
            home_library=home,
            category=category,
            on=on,
            **more,  # type: ignore[arg-type]
        )
        decision = assert_same(agreements, request, EXPAND_CONSORTIA_UP_TO)
        codes.update(r.code.value for r in decision.reasons)
        codes["eligible"] += decision.eligible
    assert set(codes) == {"eligible", *(code.value for code in policies.Code)}, codes


def test_large_consortia_are_listed_after_the_others() -> None:
    """A consortium too large to expand into pairs is read after the pair's own agreements: a
    refusal lists it after a smaller consortium that comes later in the set, in both."""
    libraries = [
        Library(id=f"lib{i}", name=f"Library {i}", categories={"S": "staff"})
        for i in range(EXPAND_CONSORTIA_UP_TO + 1)
    ]
    ids = [library.id for library in libraries]
    terms = Terms(max_items=3, loan_days=14)
    strict = Standing(max_fines=Decimal("1.00"))
    agreements = [
        Consortium(
            id="everyone",
            kind="consortium",
            members=tuple(ids),
            categories=("staff",),
            standing=strict,
            terms=terms,
        ),
        Consortium(
            id="pair",
            kind="consortium",
            members=("lib0", "lib1"),
            categories=("staff",),
            standing=strict,
            terms=terms,
        ),
    ]
    network = policies.Agreements(libraries, agreements)
    request = BorrowRequest(
        lender="lib0",
        home_library="lib1",
        category="staff",
        on=date(2026, 6, 15),
        fines=Decimal("2.00"),
    )
    decision = assert_same(network, request, EXPAND_CONSORTIA_UP_TO)
    assert decision.agreements == ("pair", "everyone")
    assert [(r.code, r.agreement) for r in decision.reasons] == [
        (policies.Code.FINES_OVER_LIMIT, "pair"),
        (policies.Code.FINES_OVER_LIMIT, "everyone"),
    ]


def test_equally_generous_agreements_are_ranked_by_id_not_by_the_set_order() -> None:
    libraries = [Library(id=i, name=i, categories={"S": "staff"}) for i in ("north", "south")]
    agreements = [
        Bilateral(
            id=aid,
            kind="bilateral",
            lender="north",
            borrowers_from=("south",),
            categories=("staff",),
            terms=Terms(max_items=3, loan_days=14, renewals=renewals),
        )
        for aid, renewals in (("north-b", 0), ("north-a", 2))
    ]
    network = policies.Agreements(libraries, agreements)
    request = BorrowRequest(
        lender="north", home_library="south", category="staff", on=date(2026, 6, 15)
    )
    decision = assert_same(network, request, EXPAND_CONSORTIA_UP_TO)
    assert decision.agreements == ("north-a", "north-b")
    assert decision.terms is not None and decision.terms.renewals == 2
