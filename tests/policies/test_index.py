"""The compiled index (policies/_index.pyx) on what the scenario tables do not reach: its own
date arithmetic, and requests that are not exactly a ``BorrowRequest``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

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
