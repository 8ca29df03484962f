"""``identity.agreements.whatif``: the decisions a change to the agreement set flips, and how many
registry patrons each flip touches. The pairs it decides are checked against deciding every
pair, on random edits of the example network and of random networks."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine, event
from sqlmodel import Session

import policies
from identity.agreements import whatif
from identity.store.database import transaction
from identity.store.models import RegistryPatron
from policies.model import Effective, Sip2Connector
from tests.conftest import EXAMPLES

BASE = policies.load(EXAMPLES)
ON = date(2026, 11, 22)
DAYS = [date(2025, 6, 1), date(2026, 2, 28), ON, date(2026, 12, 31), date(2027, 6, 1)]
UNIVERSITIES = ["deakin", "latrobe", "monash", "rmit", "swinburne", "vu"]

AnyAgreement = policies.Consortium | policies.Bilateral | policies.Suspension
Network = tuple[list[policies.Library], list[AnyAgreement]]


def network(agreements: policies.Agreements) -> Network:
    return list(agreements.libraries.values()), list(agreements.agreements.values())


def changed(
    *,
    add: Sequence[AnyAgreement] = (),
    remove: Sequence[str] = (),
    update: dict[str, dict[str, Any]] | None = None,
    libraries: dict[str, dict[str, Any]] | None = None,
) -> policies.Agreements:
    """The example set with agreements added, removed or updated, and library entries updated."""
    libs, ags = network(BASE)
    ags = [
        a.model_copy(update=(update or {}).get(a.id, {})) for a in ags if a.id not in remove
    ] + list(add)
    libs = [lib.model_copy(update=(libraries or {}).get(lib.id, {})) for lib in libs]
    return policies.Agreements(libs, ags)


def bilateral(id: str, lender: str, borrowers: Sequence[str], **fields: Any) -> policies.Bilateral:
    fields.setdefault("categories", ("staff",))
    fields.setdefault("terms", policies.Terms(max_items=10, loan_days=28))
    return policies.Bilateral(
        kind="bilateral", id=id, lender=lender, borrowers_from=tuple(borrowers), **fields
    )


def suspension(
    id: str, lender: str, borrowers: Sequence[str], **fields: Any
) -> policies.Suspension:
    return policies.Suspension(
        kind="suspension",
        id=id,
        lender=lender,
        borrowers_from=tuple(borrowers),
        reason="Testing",
        **fields,
    )


def shown(flips: Sequence[whatif.Flip]) -> list[tuple[str, str, str, str]]:
    return [(f.lender, f.home, f.category, f.kind) for f in flips]


# --- flips on the example network ----------------------------------------------------------


def test_nothing_changed_flips_nothing() -> None:
    assert whatif.flips(BASE, policies.load(EXAMPLES), on=ON) == []


def test_a_bilateral_for_alumni_flips_exactly_that_decision() -> None:
    terms = policies.Terms(max_items=2, loan_days=7)
    after = changed(
        add=[
            bilateral(
                "monash-latrobe-alumni", "monash", ["latrobe"], categories=("alumni",), terms=terms
            )
        ]
    )
    (flip,) = whatif.flips(BASE, after, on=ON)
    assert shown([flip]) == [("monash", "latrobe", "alumni", "now eligible")]
    assert flip.before.terms is None and flip.after.terms == terms
    assert flip.after.agreements == ("monash-latrobe-alumni",)
    assert flip.patrons is None


@pytest.mark.parametrize(
    ("fields", "flipped"),
    [
        # staff were eligible under monash-rmit-staff, the others under caval-2026; monash never
        # lent to rmit alumni, so suspending them flips nothing
        ({}, ["postgraduate", "staff", "undergraduate"]),
        ({"categories": ("undergraduate", "alumni")}, ["undergraduate"]),
        ({"effective": Effective.model_validate({"from": date(2027, 1, 1)})}, []),
    ],
)
def test_a_suspension_makes_the_categories_it_covers_no_longer_eligible(
    fields: dict[str, Any], flipped: list[str]
) -> None:
    after = changed(add=[suspension("monash-suspends-rmit", "monash", ["rmit"], **fields)])
    assert shown(whatif.flips(BASE, after, on=ON)) == [
        ("monash", "rmit", category, "no longer eligible") for category in flipped
    ]


def test_longer_loans_in_the_consortium_change_the_terms_where_the_consortium_decides() -> None:
    caval = BASE.agreements["caval-2026"]
    assert isinstance(caval, policies.Consortium)
    terms = caval.terms.model_copy(update={"loan_days": 21})
    result = whatif.flips(BASE, changed(update={"caval-2026": {"terms": terms}}), on=ON)
    # every ordered pair of universities for the three consortium categories, except where a
    # bilateral agreement decides (staff between monash and rmit) or a suspension denies
    elsewhere = {
        ("monash", "rmit", "staff"),
        ("rmit", "monash", "staff"),
        ("latrobe", "rmit", "staff"),
        ("latrobe", "rmit", "postgraduate"),
        ("latrobe", "rmit", "undergraduate"),
        ("vu", "swinburne", "undergraduate"),
    }
    expected = [
        (lender, home, category, "terms changed")
        for lender in UNIVERSITIES
        for home in UNIVERSITIES
        for category in ["postgraduate", "staff", "undergraduate"]
        if lender != home and (lender, home, category) not in elsewhere
    ]
    assert shown(result) == expected and len(expected) == 84
    assert all(f.before.terms == caval.terms and f.after.terms == terms for f in result)


def test_an_earlier_end_is_a_change_of_terms_even_when_the_terms_stay() -> None:
    effective = Effective.model_validate({"from": date(2026, 1, 1), "until": date(2026, 12, 31)})
    after = changed(update={"deakin-alumni": {"effective": effective}})
    result = whatif.flips(BASE, after, on=ON)
    assert shown(result) == [
        ("deakin", "monash", "alumni", "terms changed"),
        ("deakin", "rmit", "alumni", "terms changed"),
    ]
    assert all(f.before.terms == f.after.terms for f in result)
    assert [(f.before.valid_until, f.after.valid_until) for f in result] == [
        (None, date(2026, 12, 31))
    ] * 2


def test_a_category_map_change_flips_no_decision() -> None:
    after = changed(
        libraries={
            "rmit": {"categories": {"STAFF": "staff", "PG": "postgraduate", "HON": "undergraduate"}}
        }
    )
    assert after.libraries["rmit"] != BASE.libraries["rmit"]
    assert whatif.flips(BASE, after, on=ON) == []


def test_removing_a_library_with_its_agreements_ends_what_they_allowed() -> None:
    libs, ags = network(BASE)
    after = policies.Agreements(
        [lib for lib in libs if lib.id != "slv"],
        [a for a in ags if a.id not in ("slv-university-researchers", "monash-slv-researchers")],
    )
    result = whatif.flips(BASE, after, on=ON)
    assert {f.kind for f in result} == {"no longer eligible"}
    assert ("monash", "slv", "researcher") in {(f.lender, f.home, f.category) for f in result}
    assert {f.lender for f in result if f.home != "slv"} == {"slv"}
    assert len(result) == 1 + 6 * 2


# --- the pairs decided never miss a flip ----------------------------------------------------


def every_flip(
    before: policies.Agreements, after: policies.Agreements, on: date
) -> list[tuple[str, str, str]]:
    """Brute force: every lender, home library and category of either set."""
    libraries = sorted(before.libraries.keys() | after.libraries.keys())
    out = []
    for lender in libraries:
        for home in libraries:
            for category in sorted(before.categories | after.categories):
                request = policies.BorrowRequest(
                    lender=lender, home_library=home, category=category, on=on
                )
                was, now = before.decide(request), after.decide(request)
                if (was.eligible, was.terms, was.valid_until) != (
                    now.eligible,
                    now.terms,
                    now.valid_until,
                ):
                    out.append((lender, home, category))
    return out


def random_terms(rng: random.Random) -> policies.Terms:
    # few values, so that agreements often tie on items or on loan days
    return policies.Terms(max_items=rng.choice([2, 3, 5]), loan_days=rng.choice([14, 21, 28]))


def random_effective(rng: random.Random) -> Effective:
    start = rng.choice([None, date(2026, 1, 1), date(2026, 12, 1)])
    until = rng.choice([None, date(2026, 11, 30), date(2027, 6, 30)])
    if start is not None and until is not None and until < start:
        start, until = until, start
    return Effective.model_validate({"from": start, "until": until})


def some(rng: random.Random, items: Sequence[str], least: int = 1) -> tuple[str, ...]:
    # too few items gives too short a list, which the model refuses (an edit that is dropped)
    return tuple(rng.sample(sorted(items), rng.randint(min(least, len(items)), len(items))))


def random_agreement(
    rng: random.Random, libraries: Sequence[str], categories: Sequence[str], id: str
) -> AnyAgreement:
    kind = rng.choice(["consortium", "bilateral", "bilateral", "suspension"])
    effective = random_effective(rng)
    if kind == "consortium":
        return policies.Consortium(
            kind="consortium",
            id=id,
            members=some(rng, libraries, 2),
            categories=some(rng, categories),
            effective=effective,
            terms=random_terms(rng),
        )
    lender = rng.choice(sorted(libraries))
    borrowers = some(rng, [lib for lib in libraries if lib != lender])
    if kind == "bilateral":
        return bilateral(
            id,
            lender,
            borrowers,
            categories=some(rng, categories),
            effective=effective,
            terms=random_terms(rng),
        )
    return suspension(
        id,
        lender,
        borrowers,
        effective=effective,
        categories=rng.choice([None, some(rng, categories)]),
    )


def edit(rng: random.Random, libs: list[policies.Library], ags: list[AnyAgreement]) -> Network:
    """One random edit: an agreement added, removed or changed, or a library entry."""
    ids = [lib.id for lib in libs]
    categories = sorted({c for lib in libs for c in lib.categories.values()})
    what = rng.choice(
        ["add", "remove", "terms", "effective", "categories", "parties", "map", "connector",
         "new library", "drop library"]
    )  # fmt: skip
    if what == "add" or not ags:
        return libs, [*ags, random_agreement(rng, ids, categories, f"new-{rng.randrange(10**6)}")]
    i = rng.randrange(len(ags))
    agreement = ags[i]
    update: dict[str, Any] = {}
    if what == "remove":
        return libs, ags[:i] + ags[i + 1 :]
    if what == "terms" and not isinstance(agreement, policies.Suspension):
        update["terms"] = random_terms(rng)
    elif what == "effective":
        update["effective"] = random_effective(rng)
    elif what == "categories":
        update["categories"] = some(rng, categories)
    elif what == "parties" and isinstance(agreement, policies.Consortium):
        update["members"] = some(rng, ids, 2)
    elif what == "parties" and not isinstance(agreement, policies.Consortium):
        lender = rng.choice(ids)
        update["lender"] = lender
        update["borrowers_from"] = some(rng, [lib for lib in ids if lib != lender])
    elif what in ("map", "connector", "new library", "drop library"):
        return edit_library(rng, what, libs, ags, categories)
    return libs, [*ags[:i], agreement.model_copy(update=update), *ags[i + 1 :]]


def edit_library(
    rng: random.Random,
    what: str,
    libs: list[policies.Library],
    ags: list[AnyAgreement],
    categories: list[str],
) -> Network:
    pool = [*categories, "visitor"]
    if what == "new library":
        library = policies.Library(
            id=f"lib{rng.randrange(10**6)}",
            name="New",
            categories={f"C{k}": rng.choice(pool) for k in range(rng.randint(0, 3))},
        )
        return [*libs, library], ags
    i = rng.randrange(len(libs))
    library = libs[i]
    if what == "drop library":
        gone = library.id
        kept: list[AnyAgreement] = []
        for a in ags:
            if isinstance(a, policies.Consortium):
                members = tuple(m for m in a.members if m != gone)
                if len(members) >= 2:
                    kept.append(a.model_copy(update={"members": members}))
            elif a.lender != gone:
                borrowers = tuple(b for b in a.borrowers_from if b != gone)
                if borrowers:
                    kept.append(a.model_copy(update={"borrowers_from": borrowers}))
        return libs[:i] + libs[i + 1 :], kept
    if what == "map":
        codes = {code: rng.choice(pool) for code in rng.sample(["A", "B", "C", "D"], 2)}
        update: dict[str, Any] = {"categories": {**library.categories, **codes}}
        if library.categories and rng.random() < 0.5:
            update["categories"].pop(rng.choice(sorted(library.categories)))
    else:
        registry = library.connector.kind == "registry"
        update = {
            "connector": Sip2Connector(kind="sip2", host="ils.example", port=6001, institution="X")
            if registry
            else policies.Library.model_fields["connector"].default
        }
    return [*libs[:i], library.model_copy(update=update), *libs[i + 1 :]], ags


def edited(rng: random.Random, before: policies.Agreements) -> Iterator[policies.Agreements]:
    """Valid sets one to three random edits away from ``before`` (invalid ones are dropped)."""
    while True:
        libs, ags = network(before)
        try:
            for _ in range(rng.randint(1, 3)):
                libs, ags = edit(rng, libs, ags)
            after = policies.Agreements(libs, ags)
        except (policies.InvalidAgreements, ValidationError):
            continue
        yield after


def assert_same_as_brute_force(
    before: policies.Agreements, after: policies.Agreements, on: date
) -> list[whatif.Flip]:
    result = whatif.flips(before, after, on=on)
    assert [(f.lender, f.home, f.category) for f in result] == every_flip(before, after, on)
    return result


def test_random_edits_of_the_examples_flip_what_deciding_every_pair_finds() -> None:
    rng = random.Random(20261122)
    sets = edited(rng, BASE)
    flipped = 0
    for _ in range(400):
        after = next(sets)
        on = rng.choice(DAYS)
        if assert_same_as_brute_force(BASE, after, on):
            flipped += 1
        # the change undone flips the same decisions back
        assert_same_as_brute_force(after, BASE, on)
    assert flipped > 150, "too few edits flipped anything for the comparison to mean much"


@st.composite
def random_networks(draw: st.DrawFn) -> tuple[policies.Agreements, policies.Agreements, date]:
    """A small network of libraries and agreements, a set a few edits from it, and a day."""
    rng = draw(st.randoms(use_true_random=False))
    ids = [f"l{k}" for k in range(rng.randint(2, 5))]
    libs = [
        policies.Library(
            id=lib,
            name=lib,
            categories={code: rng.choice(["a", "b", "c"]) for code in rng.sample("PQRS", 2)},
        )
        for lib in ids
    ]
    categories = sorted({c for lib in libs for c in lib.categories.values()})
    ags = [random_agreement(rng, ids, categories, f"a{k}") for k in range(rng.randint(0, 6))]
    before = policies.Agreements(libs, ags)
    return before, next(edited(rng, before)), rng.choice(DAYS)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(random_networks())
def test_random_networks_flip_what_deciding_every_pair_finds(
    case: tuple[policies.Agreements, policies.Agreements, date],
) -> None:
    before, after, on = case
    assert_same_as_brute_force(before, after, on)
    assert_same_as_brute_force(after, before, on)


# --- counting registry patrons (SQLite and PostgreSQL) -------------------------------------


def add_patrons(engine: Engine, library: str, codes: dict[str, int]) -> None:
    with transaction(engine) as session:
        for code, number in codes.items():
            for k in range(number):
                card = f"{library}-{code}-{k}"
                session.add(
                    RegistryPatron(
                        library=library, card=card, pin_hash="x", name=card, category=code
                    )
                )


@pytest.fixture
def patrons(engine: Engine) -> Engine:
    add_patrons(engine, "rmit", {"UG": 3, "HON": 1, "PG": 1, "STAFF": 2, "ALUM": 1, "XX": 2})
    add_patrons(engine, "latrobe", {"STF": 2})
    add_patrons(engine, "monash", {"ST": 5})
    add_patrons(engine, "slv", {"RES": 2, "MEMBER": 3})
    return engine


@pytest.mark.db
def test_patrons_are_counted_by_hub_category_through_the_new_category_map(
    patrons: Engine,
) -> None:
    # rmit maps a new code to undergraduate; monash suspends rmit; latrobe becomes a SIP2
    # library (its patrons are not the hub's) that monash now lends more to
    rmit = BASE.libraries["rmit"]
    latrobe_ils = Sip2Connector(kind="sip2", host="sip.latrobe.example", port=6001, institution="L")
    after = changed(
        add=[
            suspension("monash-suspends-rmit", "monash", ["rmit"]),
            bilateral("monash-latrobe-staff", "monash", ["latrobe"]),
        ],
        libraries={
            "rmit": {"categories": {**rmit.categories, "HON": "undergraduate"}},
            "latrobe": {"connector": latrobe_ils},
        },
    )
    found = whatif.flips(BASE, after, on=ON)
    statements: list[str] = []
    event.listen(patrons, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(patrons) as session:
        counted = whatif.count_patrons(session, found, after)
    assert [(*row, f.patrons) for row, f in zip(shown(counted), counted, strict=True)] == [
        ("monash", "latrobe", "staff", "terms changed", None),
        ("monash", "rmit", "postgraduate", "no longer eligible", 1),
        ("monash", "rmit", "staff", "no longer eligible", 2),
        ("monash", "rmit", "undergraduate", "no longer eligible", 3 + 1),
    ]
    assert len(statements) == 1 and "GROUP BY" in statements[0]  # rmit's; latrobe is not asked
    assert [f.patrons for f in found] == [None] * 4  # the flips given are left as they were


@pytest.mark.db
def test_a_library_gone_from_the_new_set_is_counted_through_its_old_map(patrons: Engine) -> None:
    libs, ags = network(BASE)
    after = policies.Agreements(
        [lib for lib in libs if lib.id != "slv"],
        [a for a in ags if a.id not in ("slv-university-researchers", "monash-slv-researchers")],
    )
    found = whatif.flips(BASE, after, on=ON)
    with Session(patrons) as session:
        counted = whatif.count_patrons(session, found, after, before=BASE)
    to_slv = [(f.lender, f.category, f.patrons) for f in counted if f.home == "slv"]
    assert to_slv == [("monash", "researcher", 2)]
    # slv lent to staff and postgraduates of six universities: rmit's are counted by its map
    by_home = {(f.home, f.category): f.patrons for f in counted if f.lender == "slv"}
    assert by_home[("rmit", "staff")] == 2 and by_home[("rmit", "postgraduate")] == 1
    assert by_home[("latrobe", "staff")] == 2 and by_home[("deakin", "staff")] == 0
