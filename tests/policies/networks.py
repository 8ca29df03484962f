"""Random agreement networks and borrow requests for the differential tests of the decision
rules: against Cedar (test_differential_cedar.py) and against the plain-Python reference
(test_reference.py). A network is written as YAML text and loaded as a user's files would be."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import yaml
from hypothesis import strategies as st

import policies
from policies import BorrowRequest

BASE = date(2026, 6, 15)
CATEGORIES = ("staff", "postgraduate", "undergraduate", "alumni")
BLOCKING = ("charge_denied", "card_lost", "excessive_fines", "blocked")
MATERIAL = ("av", "reserve", "rare")
#: window ends near the request days, and far from them
EDGES = (-400, -2, -1, 0, 1, 2, 400)
#: request days: on, just inside and just outside the window ends above
DAYS = (-401, -400, -399, -3, -2, -1, 0, 1, 2, 3, 399, 400, 401)
LIMITS = ("0.00", "4.99", "5.00", "5.01", "10.00")
FINES = ("0.00", "0.01", "4.99", "5.00", "5.01", "9.99", "10.00", "10.01", "250.00")


def day(offset: int) -> date:
    return BASE + timedelta(days=offset)


# --- random networks ---------------------------------------------------------------------------
# Each strategy is made once and drawn from many times (by a network's every agreement and
# request): making and validating one costs Hypothesis more than drawing from it.


@cache
def sampled(items: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(items)


@cache
def _subsets(items: tuple[str, ...], min_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(sampled(items), min_size=min_size, max_size=len(items), unique=True)


def subset(draw: st.DrawFn, items: Sequence[str], min_size: int = 0) -> list[str]:
    return draw(_subsets(tuple(items), min_size))


BOOLEANS = st.booleans()
TENTHS = st.integers(0, 9)
MAX_ITEMS = st.integers(1, 5)
EDGE_PAIRS = st.lists(sampled(EDGES), min_size=2, max_size=2)
KINDS = ("consortium", "consortium", "bilateral", "bilateral", "bilateral", "suspension")


@st.composite
def effective(draw: st.DrawFn) -> dict[str, date]:
    ends = sorted(draw(EDGE_PAIRS))
    out: dict[str, date] = {}
    if draw(BOOLEANS):
        out["from"] = day(ends[0])
    if draw(BOOLEANS):
        out["until"] = day(ends[1])
    return out


EFFECTIVE = effective()


@st.composite
def standing(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(BOOLEANS):
        out["max_fines"] = float(draw(sampled(LIMITS)))  # a YAML number, like 10.00
    if draw(BOOLEANS):  # else the default
        out["card_must_be_valid"] = draw(BOOLEANS)
    flags = subset(draw, BLOCKING)
    if flags:
        out["blocking_flags"] = flags
    if rarely(draw):
        out["requires_standing_source"] = True
    return out


STANDING = standing()


@st.composite
def _agreement(draw: st.DrawFn, index: int, libraries: tuple[str, ...]) -> dict[str, Any]:
    kind = draw(sampled(KINDS))
    out: dict[str, Any] = {"id": f"a{index}", "kind": kind}
    if kind == "consortium":
        out["members"] = subset(draw, libraries, min_size=2)
    else:
        out["lender"] = lender = draw(sampled(libraries))
        out["borrowers_from"] = subset(draw, [x for x in libraries if x != lender], min_size=1)
    window = draw(EFFECTIVE)
    if window:
        out["effective"] = window
    if kind == "suspension":
        if draw(BOOLEANS):
            out["categories"] = subset(draw, CATEGORIES, min_size=1)
        out["reason"] = "Unpaid invoices"
        return out
    out["categories"] = subset(draw, CATEGORIES, min_size=1)
    rules = draw(STANDING)
    if rules:
        out["standing"] = rules
    terms: dict[str, Any] = {
        "max_items": draw(MAX_ITEMS),
        "loan_days": draw(sampled((7, 14, 28))),
    }
    excluded = subset(draw, MATERIAL)
    if excluded:
        terms["excluded_material"] = excluded
    out["terms"] = terms
    return out


@cache
def agreement(index: int, libraries: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return _agreement(index, libraries)


def rarely(draw: st.DrawFn) -> bool:
    return draw(TENTHS) == 0


@st.composite
def request(
    draw: st.DrawFn, libraries: list[str], agreements: list[dict[str, Any]]
) -> BorrowRequest:
    """Mostly a request some agreement is about; now and then an odd one."""
    categories: tuple[str, ...] = (*CATEGORIES, "visitor")
    if agreements and not rarely(draw):
        chosen = draw(st.sampled_from(agreements))
        if "members" in chosen:
            lender, home = draw(_pairs(tuple(chosen["members"])))
        else:
            lender, home = chosen["lender"], draw(sampled(tuple(chosen["borrowers_from"])))
        if not rarely(draw):
            categories = tuple(chosen.get("categories", CATEGORIES))
    else:
        lender = draw(sampled(tuple(libraries)))
        home = draw(sampled(tuple(x for x in libraries if x != lender)))
    if rarely(draw):
        lender, home = draw(sampled(((lender, lender), ("nowhere", home), (lender, "x"))))
    on = day(draw(sampled(DAYS)))
    expires = draw(sampled((None, -1, 0, 1, 500)))
    flags = subset(draw, (*BLOCKING, "hold_denied")) if rarely(draw) else []
    return BorrowRequest(
        lender=lender,
        home_library=home,
        category=draw(sampled(categories)),
        on=on,
        material=draw(sampled((None, None, None, *MATERIAL, "book"))),
        fines=Decimal(draw(sampled(FINES))),
        flags=frozenset(flags),
        card_expires=None if expires is None else on + timedelta(days=expires),
        standing_known=not rarely(draw),
    )


@cache
def _pairs(members: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(sampled(members), min_size=2, max_size=2, unique=True)


#: libyaml's emitter where PyYAML has it: the same text as PyYAML's own, written faster
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=DUMPER, sort_keys=False)


@dataclass
class Case:
    sources: list[tuple[str, str]]
    requests: list[BorrowRequest]


@st.composite
def cases(draw: st.DrawFn, most_libraries: int = 5) -> Case:
    """A network of 2 to ``most_libraries`` libraries (fewer: more agreements overlap) and up to
    ten agreements, and requests about it."""
    libraries = [f"lib{i}" for i in range(draw(st.integers(2, most_libraries)))]
    # the first library maps every hub category, so any agreement category is a known one
    maps = [dict(zip(("S", "P", "U", "A"), CATEGORIES, strict=True))]
    maps += [{c[:2].upper(): c for c in subset(draw, CATEGORIES)} for _ in libraries[1:]]
    lib_data = [
        {"id": lib, "name": f"Library {lib}", "categories": m}
        for lib, m in zip(libraries, maps, strict=True)
    ]
    count = draw(st.integers(0, 10))
    agreements = [draw(agreement(i, tuple(libraries))) for i in range(count)]
    # libraries in one file, agreements split across up to two more: the loader joins them
    split = draw(st.integers(0, count))
    sources = [("libraries.yaml", _yaml({"libraries": lib_data}))]
    for name, part in (("one.yaml", agreements[:split]), ("two.yaml", agreements[split:])):
        if part:
            sources.append((name, _yaml({"agreements": part})))
    requests = draw(st.lists(request(libraries, agreements), min_size=5, max_size=20))
    return Case(sources, requests)


def outcome(
    agreements: policies.Agreements, request_: BorrowRequest, decision: policies.Decision
) -> list[str]:
    """What a decision exercised: its reason codes, or which kind admitted the patron and whether
    it did so at the edge of a limit (fines equal to max_fines, card expiring that day, the first
    or last day of the agreement)."""
    if not decision.eligible:
        return [f"denied:{r.code.value}" for r in decision.reasons]
    out = [f"eligible:{agreements.agreements[decision.agreements[0]].kind}"]
    for agreement_id in decision.agreements:
        agreement = agreements.agreements[agreement_id]
        assert not isinstance(agreement, policies.Suspension)
        if agreement.standing.max_fines == request_.fines:
            out.append("edge:fines_at_limit")
        if agreement.standing.card_must_be_valid and request_.card_expires == request_.on:
            out.append("edge:card_expires_that_day")
        if request_.on in (agreement.effective.from_, agreement.effective.until):
            out.append("edge:first_or_last_day")
    return out
