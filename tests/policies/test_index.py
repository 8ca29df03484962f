"""The compiled index (policies/_index.pyx) on what the scenario tables do not reach: its own
date arithmetic, and requests that are not exactly a ``BorrowRequest``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

import policies
from policies import _index
from policies.model import FLAGS

NETWORK = policies.load(Path(policies.__file__).parent / "examples")


def test_day_numbers_are_those_of_the_datetime_module() -> None:
    days = [date.min, date.max, date(1, 12, 31), date(2000, 2, 29), date(2100, 3, 1)]
    days += [date.min + timedelta(days=n) for n in range(0, date.max.toordinal(), 997)]
    days += [date(2023, 12, 25) + timedelta(days=n) for n in range(4 * 366 + 10)]
    for day in days:
        assert _index.ordinal(day) == day.toordinal(), day
        assert _index.from_ordinal(day.toordinal()) == day, day


def test_blocking_flags_are_numbered_in_name_order() -> None:
    assert list(_index.SORTED_FLAGS) == sorted(FLAGS)
    assert sorted(_index.FLAG_BITS.values()) == [1 << n for n in range(len(FLAGS))]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedRequest(policies.BorrowRequest):
    """A caller's own request type: read through its attributes, not the slots of ours."""

    logged_by: str = "test"


def test_a_subclass_of_borrow_request_is_decided_the_same() -> None:
    libraries = sorted(NETWORK.libraries)
    facts = itertools.product(
        libraries,
        libraries,
        sorted(NETWORK.categories),
        (date(2026, 2, 28), date(2026, 11, 22)),
        (None, "av"),
        (Decimal(0), Decimal("10.01")),
        (frozenset(), frozenset({"card_lost", "blocked"})),
        (None, date(2026, 6, 1)),
    )
    seen = set()
    for lender, home, category, on, material, fines, flags, expires in facts:
        fields = {
            "lender": lender,
            "home_library": home,
            "category": category,
            "on": on,
            "material": material,
            "fines": fines,
            "flags": flags,
            "card_expires": expires,
        }
        ours = NETWORK.decide(policies.BorrowRequest(**fields)).to_dict()  # type: ignore[arg-type]
        theirs = NETWORK.decide(LoggedRequest(**fields)).to_dict()  # type: ignore[arg-type]
        ours.pop("decided_at")
        theirs.pop("decided_at")
        assert theirs == ours
        seen.add((ours["eligible"], tuple(r["code"] for r in ours["reasons"])))
    assert len(seen) > 10  # approvals and many kinds of refusal


def test_a_pair_with_more_agreements_than_its_slot_holds() -> None:
    """A pair keeps up to seven agreements in its hash slot and the rest elsewhere: a pair with
    more (here nine bilaterals, or eight consortia) is decided from all of them, in the order
    of the set."""
    bilaterals = "".join(
        f"""\
  - id: b{n}
    kind: bilateral
    lender: a
    borrowers_from: [b, c]
    categories: [{"staff" if n % 2 else "student"}]
    standing: {{max_fines: {n}.00}}
    terms: {{max_items: {1 + n % 3}, loan_days: {7 * (1 + n)}}}
"""
        for n in range(9)
    )
    consortia = "".join(
        f"""\
  - id: c{n}
    kind: consortium
    members: [a, b, c]
    effective: {{from: 2026-0{1 + n}-01}}
    categories: [staff, student]
    terms: {{max_items: 1, loan_days: 7}}
"""
        for n in range(8)
    )
    text = f"""\
libraries:
  - {{id: a, name: A, categories: {{S: staff, U: student}}}}
  - {{id: b, name: B, categories: {{S: staff, U: student}}}}
  - {{id: c, name: C, categories: {{S: staff, U: student}}}}
agreements:
{bilaterals}{consortia}"""
    network = policies.load_sources([("net.yaml", text)])

    def ask(lender: str, category: str, fines: str) -> policies.Decision:
        return network.decide(
            policies.BorrowRequest(
                lender=lender,
                home_library="b",
                category=category,
                on=date(2026, 4, 15),
                fines=Decimal(fines),
            )
        )

    # staff: b1, b3, b5, b7 cover them; with fines of 3.00, b3, b5 and b7 admit, most items
    # first
    staff = ask("a", "staff", "3.00")
    assert staff.eligible and staff.agreements == ("b5", "b7", "b3")
    assert staff.terms is not None and staff.terms.max_items == 3
    # fines over every limit: each considered bilateral says why, in the order of the set
    fined = ask("a", "student", "99.00")
    assert not fined.eligible and fined.agreements == ("b0", "b2", "b4", "b6", "b8")
    assert [r.agreement for r in fined.reasons] == ["b0", "b2", "b4", "b6", "b8"]
    # c lends to b only through the consortia, four of which are in force on 2026-04-15
    member = ask("c", "student", "99.00")
    assert member.eligible and member.agreements == ("c0", "c1", "c2", "c3")
    early = network.decide(
        policies.BorrowRequest(
            lender="c", home_library="b", category="staff", on=date(2025, 12, 31)
        )
    )
    assert [r.code for r in early.reasons] == [policies.Code.NO_AGREEMENT] + [
        policies.Code.NOT_YET_IN_FORCE
    ] * 8


def test_misuse_is_a_clear_error_never_a_wrong_answer() -> None:
    """What a caller could get wrong: not a BorrowRequest, an unhashable field, building an
    index twice. Each raises; none reads memory it should not (found in review)."""
    agreements = policies.load(Path(policies.__file__).parent / "examples")
    duck = SimpleNamespace(
        lender="monash", home_library="rmit", category="staff", on=None, material=None,
        fines=Decimal(0), flags=(), card_expires=None,
    )  # fmt: skip
    with pytest.raises(TypeError, match="decide takes a BorrowRequest, not SimpleNamespace"):
        agreements.decide(duck)  # type: ignore[arg-type]
    listed = policies.BorrowRequest(
        lender="monash",
        home_library="rmit",
        category=["staff"],  # type: ignore[arg-type]
        on=date(2026, 6, 15),
    )
    with pytest.raises(TypeError, match="unhashable"):
        agreements.decide(listed)
    with pytest.raises(RuntimeError, match="built once"):
        agreements._index._build([], [], frozenset(), [], [], [], [], [], 0)
    good = policies.BorrowRequest(
        lender="monash", home_library="rmit", category="staff", on=date(2026, 6, 15)
    )
    assert agreements.decide(good).eligible
