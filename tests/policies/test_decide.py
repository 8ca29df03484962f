"""The decision rules of docs/agreements.md, read from the page, as tables.

Each network below is a small agreement set written as YAML, loaded with ``policies.load_sources``;
each row is one ``BorrowRequest`` and what a partner library system would see in the answer of
docs/eligibility.md: ``eligible``, ``agreements``, the reasons' codes and agreements, ``terms`` and
``valid_until``. The request date is 2026-11-22 (the docs' example) unless a row says otherwise.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

import policies
from policies import Agreements, BorrowRequest, Code, Decision

ON = date(2026, 11, 22)

# --- the network -------------------------------------------------------------------------------

LIBRARIES = """\
libraries:
  - id: rmit
    name: RMIT University Library
    card_prefixes: ["2111"]
    categories: {STAFF: staff, PG: postgraduate, UG: undergraduate, ALUM: alumni}
  - id: monash
    name: Monash University Library
    card_prefixes: ["2222"]
    categories: {S: staff, HDR: postgraduate, U: undergraduate}
  - id: latrobe
    name: La Trobe University Library
    categories: {STF: staff, PGR: postgraduate, UGR: undergraduate}
  - id: deakin
    name: Deakin University Library
    categories: {ACAD: staff, STU: undergraduate}
"""

# Agreement snippets, each one item of the ``agreements:`` list.
SNIPPETS: dict[str, str] = {
    # CAVAL-style: every member lends to every other member; deakin is not a member here.
    "caval": """\
  - id: caval-2026
    kind: consortium
    members: [rmit, monash, latrobe]
    effective: {from: 2026-03-01, until: 2027-02-28}
    categories: [staff, postgraduate, undergraduate]
    standing: {max_fines: 10.00, card_must_be_valid: true,
               blocking_flags: [charge_denied, card_lost, excessive_fines, too_many_overdue]}
    terms: {max_items: 3, loan_days: 14, renewals: 1, holds: 3, excluded_material: [reserve, av]}
""",
    # One way: monash lends to rmit's staff. Stricter on fines than caval, laxer on flags.
    "staff": """\
  - id: monash-rmit-staff
    kind: bilateral
    lender: monash
    borrowers_from: [rmit]
    categories: [staff]
    standing: {max_fines: 5.00, card_must_be_valid: true, blocking_flags: [charge_denied]}
    terms: {max_items: 10, loan_days: 28, renewals: 2, holds: 5, excluded_material: [reserve]}
""",
    # latrobe lends to rmit's staff (used to show a suspension beats a bilateral too).
    "latrobe-staff": """\
  - id: latrobe-rmit-staff
    kind: bilateral
    lender: latrobe
    borrowers_from: [rmit]
    categories: [staff]
    terms: {max_items: 6, loan_days: 21, renewals: 1, holds: 1}
""",
    # A bilateral for the same staff that has ended, and one that starts next year.
    "staff-ended": """\
  - id: monash-rmit-staff-2025
    kind: bilateral
    lender: monash
    borrowers_from: [rmit]
    effective: {from: 2025-01-01, until: 2026-06-30}
    categories: [staff]
    terms: {max_items: 10, loan_days: 28, renewals: 2, holds: 5}
""",
    "staff-next": """\
  - id: monash-rmit-staff-2027
    kind: bilateral
    lender: monash
    borrowers_from: [rmit]
    effective: {from: 2027-01-01}
    categories: [staff]
    terms: {max_items: 8, loan_days: 21, renewals: 0, holds: 2}
""",
    # rmit lends to deakin without checking cards or fines (deakin is outside caval).
    "deakin-open": """\
  - id: rmit-deakin
    kind: bilateral
    lender: rmit
    borrowers_from: [deakin]
    categories: [staff, undergraduate]
    standing: {card_must_be_valid: false}
    terms: {max_items: 2, loan_days: 7, renewals: 0, holds: 0}
""",
    "suspend": """\
  - id: latrobe-suspends-rmit
    kind: suspension
    lender: latrobe
    borrowers_from: [rmit]
    effective: {from: 2026-11-01}
    reason: Unpaid lost-item invoices
""",
    "suspend-ug": """\
  - id: latrobe-suspends-rmit-ug
    kind: suspension
    lender: latrobe
    borrowers_from: [rmit]
    categories: [undergraduate]
    effective: {from: 2026-11-01}
    reason: Undergraduate loans unreturned
""",
    "suspend-later": """\
  - id: monash-suspends-rmit
    kind: suspension
    lender: monash
    borrowers_from: [rmit]
    effective: {from: 2026-12-01}
    reason: Stocktake
""",
    "suspend-over": """\
  - id: monash-suspended-rmit-spring
    kind: suspension
    lender: monash
    borrowers_from: [rmit]
    effective: {from: 2026-09-01, until: 2026-11-21}
    reason: Building works
""",
    # Three consortia between rmit and monash, for "the most generous admitting agreement".
    "gen-a": """\
  - id: gen-a
    kind: consortium
    members: [rmit, monash]
    effective: {until: 2027-12-31}
    categories: [undergraduate]
    standing: {max_fines: 20.00}
    terms: {max_items: 5, loan_days: 14, renewals: 1, holds: 1}
""",
    "gen-b": """\
  - id: gen-b
    kind: consortium
    members: [rmit, monash]
    effective: {until: 2027-06-30}
    categories: [undergraduate]
    standing: {max_fines: 5.00}
    terms: {max_items: 5, loan_days: 28, renewals: 2, holds: 2}
""",
    "gen-c": """\
  - id: gen-c
    kind: consortium
    members: [rmit, monash]
    categories: [undergraduate]
    standing: {max_fines: 100.00}
    terms: {max_items: 3, loan_days: 60, renewals: 3, holds: 3}
""",
    # A stingy bilateral: less generous than every consortium, yet it decides (rule 3).
    "ug-small": """\
  - id: monash-rmit-ug-small
    kind: bilateral
    lender: monash
    borrowers_from: [rmit]
    categories: [undergraduate]
    terms: {max_items: 1, loan_days: 7, renewals: 0, holds: 0}
""",
}

WINDOW = """\
  - id: window
    kind: consortium
    members: [rmit, monash]
    effective: {effective}
    categories: [undergraduate]
    terms: {{max_items: 4, loan_days: 10, renewals: 0, holds: 0}}
"""
# An agreement in force from/until a date relative to ON, for the inclusive-date rows.
for _name, _effective in {
    "until-yesterday": "{until: 2026-11-21}",
    "until-today": "{until: 2026-11-22}",
    "until-tomorrow": "{until: 2026-11-23}",
    "from-today": "{from: 2026-11-22}",
    "from-tomorrow": "{from: 2026-11-23}",
    "open-ended": "{}",
}.items():
    SNIPPETS[f"window-{_name}"] = WINDOW.format(effective=_effective)


@cache
def network(*names: str) -> Agreements:
    """The libraries above plus the named agreements, loaded as two files of one set."""
    text = "agreements:\n" + "".join(SNIPPETS[name] for name in names)
    return policies.load_sources([("libraries.yaml", LIBRARIES), ("agreements.yaml", text)])


# --- expected answers ----------------------------------------------------------------------------

CAVAL_TERMS = {
    "max_items": 3,
    "loan_days": 14,
    "renewals": 1,
    "holds": 3,
    "excluded_material": ["reserve", "av"],
}
STAFF_TERMS = {
    "max_items": 10,
    "loan_days": 28,
    "renewals": 2,
    "holds": 5,
    "excluded_material": ["reserve"],
}
STAFF_NEXT_TERMS = {
    "max_items": 8,
    "loan_days": 21,
    "renewals": 0,
    "holds": 2,
    "excluded_material": [],
}
LATROBE_STAFF_TERMS = {
    "max_items": 6,
    "loan_days": 21,
    "renewals": 1,
    "holds": 1,
    "excluded_material": [],
}
DEAKIN_TERMS = {"max_items": 2, "loan_days": 7, "renewals": 0, "holds": 0, "excluded_material": []}
WINDOW_TERMS = {"max_items": 4, "loan_days": 10, "renewals": 0, "holds": 0, "excluded_material": []}
GEN_A = {"max_items": 5, "loan_days": 14, "renewals": 1, "holds": 1, "excluded_material": []}
GEN_B = {"max_items": 5, "loan_days": 28, "renewals": 2, "holds": 2, "excluded_material": []}
GEN_C = {"max_items": 3, "loan_days": 60, "renewals": 3, "holds": 3, "excluded_material": []}
UG_SMALL = {"max_items": 1, "loan_days": 7, "renewals": 0, "holds": 0, "excluded_material": []}

SKIP: Any = object()  # "not asserted by this row" (only where the docs leave it open)


@dataclass(frozen=True)
class Ask:
    """One request: defaults are an rmit undergraduate at monash on ON, in good standing."""

    lender: str = "monash"
    home: str = "rmit"
    category: str = "undergraduate"
    on: date = ON
    material: str | None = None
    fines: str = "0"
    flags: frozenset[str] = frozenset()
    card_expires: date | None = None

    def request(self) -> BorrowRequest:
        return BorrowRequest(
            lender=self.lender,
            home_library=self.home,
            category=self.category,
            on=self.on,
            material=self.material,
            fines=Decimal(self.fines),
            flags=self.flags,
            card_expires=self.card_expires,
        )


@dataclass(frozen=True)
class Yes:
    """Eligible: ``agreements`` exactly, ``terms`` of the most generous, no reasons."""

    agreements: list[str]
    terms: dict[str, Any]
    valid_until: date | None | Any


@dataclass(frozen=True)
class No:
    """Not eligible: exactly these ``(code, agreement)`` reasons (in any order), no terms, no
    ``valid_until``. ``agreements`` exactly, unless SKIP."""

    reasons: list[tuple[Code, str | None]]
    agreements: list[str] | Any = SKIP


@dataclass(frozen=True)
class NothingApplies:
    """Default deny (rule 1) explained by near misses: every listed ``(code, agreement)`` reason
    is given; the only other reason allowed is a bare ``no_agreement``. ``agreements`` may only
    name agreements that a near miss names."""

    near_misses: list[tuple[Code, str]] = field(default_factory=list)


Expected = Yes | No | NothingApplies


def reasons_of(decision: Decision) -> list[tuple[str, str | None]]:
    return sorted(
        ((r["code"], r["agreement"]) for r in decision.to_dict()["reasons"]),
        key=lambda pair: (pair[0], pair[1] or ""),
    )


def check(decision: Decision, expected: Expected) -> None:
    answer = decision.to_dict()
    if isinstance(expected, Yes):
        assert answer["eligible"] is True, answer["reasons"]
        assert answer["agreements"] == expected.agreements
        assert answer["terms"] == expected.terms
        assert answer["reasons"] == []
        if expected.valid_until is not SKIP:
            want = None if expected.valid_until is None else expected.valid_until.isoformat()
            assert answer["valid_until"] == want
        return
    assert answer["eligible"] is False
    assert answer["terms"] is None
    assert answer["valid_until"] is None
    got = reasons_of(decision)
    if isinstance(expected, No):
        want_reasons = sorted(
            ((code.value, agreement) for code, agreement in expected.reasons),
            key=lambda pair: (pair[0], pair[1] or ""),
        )
        assert got == want_reasons
        if expected.agreements is not SKIP:
            assert answer["agreements"] == expected.agreements
        return
    near = {(code.value, agreement) for code, agreement in expected.near_misses}
    assert near <= set(got), f"missing near-miss reasons: {near - set(got)}"
    assert set(got) <= near | {(Code.NO_AGREEMENT.value, None)}, got
    assert got, "a default deny must say why"
    assert set(answer["agreements"]) <= {agreement for _, agreement in near}


def run(names: tuple[str, ...], ask: Ask, expected: Expected) -> None:
    check(network(*names).decide(ask.request()), expected)


CAVAL = ("caval",)
CAVAL_STAFF = ("caval", "staff")
NOT_COVERED = NothingApplies()  # nothing covers the pair at all

# --- rule 1 and the CAVAL-style consortium --------------------------------------------------------

MEMBERS = ["rmit", "monash", "latrobe"]


@pytest.mark.parametrize(
    ("lender", "home"),
    [(lender, home) for lender in MEMBERS for home in MEMBERS if lender != home],
    ids=lambda value: str(value),
)
@pytest.mark.parametrize("category", ["staff", "postgraduate", "undergraduate"])
def test_every_consortium_member_lends_to_every_other(
    lender: str, home: str, category: str
) -> None:
    run(
        CAVAL,
        Ask(lender=lender, home=home, category=category),
        Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
    )


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        pytest.param(
            Ask(lender="monash", home="deakin"),
            No([(Code.NO_AGREEMENT, None)], agreements=[]),
            id="non-member-patron",
        ),
        pytest.param(
            Ask(lender="deakin", home="rmit"),
            No([(Code.NO_AGREEMENT, None)], agreements=[]),
            id="non-member-lender",
        ),
        pytest.param(
            Ask(lender="deakin", home="rmit", category="staff", fines="0"),
            No([(Code.NO_AGREEMENT, None)], agreements=[]),
            id="non-member-lender-staff",
        ),
    ],
)
def test_default_deny_outside_the_consortium(ask: Ask, expected: Expected) -> None:
    run(CAVAL, ask, expected)


def test_default_deny_says_so_in_words() -> None:
    decision = network(*CAVAL).decide(Ask(lender="monash", home="deakin").request())
    (reason,) = decision.to_dict()["reasons"]
    assert reason["code"] == "no_agreement"
    assert reason["agreement"] is None
    assert reason["message"].strip()


# --- one-way bilateral ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        pytest.param(
            Ask(lender="monash", home="rmit", category="staff"),
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="monash-lends-to-rmit-staff",
        ),
        pytest.param(
            Ask(lender="rmit", home="monash", category="staff"),
            No([(Code.NO_AGREEMENT, None)], agreements=[]),
            id="reverse-direction-not-covered",
        ),
        pytest.param(
            Ask(lender="latrobe", home="rmit", category="staff"),
            No([(Code.NO_AGREEMENT, None)], agreements=[]),
            id="other-lender-not-covered",
        ),
        pytest.param(
            Ask(lender="monash", home="rmit", category="undergraduate"),
            NothingApplies([(Code.CATEGORY_NOT_COVERED, "monash-rmit-staff")]),
            id="category-outside-bilateral",
        ),
        pytest.param(
            Ask(lender="monash", home="rmit", category="staff", card_expires=date(2026, 12, 31)),
            Yes(["monash-rmit-staff"], STAFF_TERMS, date(2026, 12, 31)),
            id="open-ended-bilateral-valid-until-card-expiry",
        ),
    ],
)
def test_bilateral_is_one_way(ask: Ask, expected: Expected) -> None:
    run(("staff",), ask, expected)


# --- rule 3: bilateral before consortium ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        pytest.param(
            Ask(category="staff"),
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="staff-by-bilateral-not-caval-until",
        ),
        pytest.param(
            Ask(category="staff", card_expires=date(2028, 1, 1)),
            Yes(["monash-rmit-staff"], STAFF_TERMS, date(2028, 1, 1)),
            id="staff-valid-until-ignores-caval-until",
        ),
        pytest.param(
            Ask(category="undergraduate"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="student-by-consortium",
        ),
        pytest.param(
            Ask(category="postgraduate", fines="7.00"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="postgraduate-by-consortium-fines-within-caval",
        ),
        pytest.param(
            Ask(lender="latrobe", category="staff"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="staff-at-other-lender-by-consortium",
        ),
        pytest.param(
            Ask(lender="rmit", home="monash", category="staff"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="reverse-direction-staff-by-consortium",
        ),
        # The bilateral decides even when it refuses: no fallback to caval (which would admit).
        pytest.param(
            Ask(category="staff", fines="7.00"),
            No([(Code.FINES_OVER_LIMIT, "monash-rmit-staff")], agreements=["monash-rmit-staff"]),
            id="staff-fines-over-bilateral-not-rescued",
        ),
        pytest.param(
            Ask(category="staff", flags=frozenset({"charge_denied"})),
            No([(Code.BLOCKING_FLAG, "monash-rmit-staff")], agreements=["monash-rmit-staff"]),
            id="staff-flag-blocked-by-bilateral",
        ),
        pytest.param(
            Ask(category="staff", material="reserve"),
            No([(Code.MATERIAL_EXCLUDED, "monash-rmit-staff")], agreements=["monash-rmit-staff"]),
            id="staff-material-excluded-by-bilateral",
        ),
        pytest.param(
            Ask(category="staff", card_expires=date(2026, 11, 21)),
            No([(Code.CARD_EXPIRED, "monash-rmit-staff")], agreements=["monash-rmit-staff"]),
            id="staff-card-expired-under-bilateral",
        ),
        # ... and when it admits, caval's stricter rules do not apply either.
        pytest.param(
            Ask(category="staff", flags=frozenset({"card_lost"})),
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="staff-flag-only-caval-blocks",
        ),
        pytest.param(
            Ask(category="staff", material="av"),
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="staff-material-only-caval-excludes",
        ),
        pytest.param(
            Ask(category="staff", fines="5.00"),
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="staff-fines-at-bilateral-limit",
        ),
    ],
)
def test_bilateral_decides_before_consortium(ask: Ask, expected: Expected) -> None:
    run(CAVAL_STAFF, ask, expected)


def test_bilateral_decides_even_when_less_generous() -> None:
    run(
        ("gen-a", "gen-b", "gen-c", "ug-small"),
        Ask(),
        Yes(["monash-rmit-ug-small"], UG_SMALL, None),
    )


@pytest.mark.parametrize(
    ("names", "ask", "expected"),
    [
        pytest.param(
            ("caval", "staff-ended"),
            Ask(category="staff"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="ended-bilateral-consortium-decides",
        ),
        pytest.param(
            ("caval", "staff-ended"),
            Ask(category="staff", fines="7.00"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="ended-bilateral-caval-standing-applies",
        ),
        pytest.param(
            ("caval", "staff-next"),
            Ask(category="staff"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="future-bilateral-consortium-decides",
        ),
        pytest.param(
            ("caval", "staff-ended", "staff-next"),
            Ask(category="staff", on=date(2027, 1, 15)),
            Yes(["monash-rmit-staff-2027"], STAFF_NEXT_TERMS, None),
            id="future-bilateral-decides-once-in-force",
        ),
        pytest.param(
            ("caval", "staff-ended", "staff-next"),
            Ask(category="staff", on=date(2027, 1, 1)),
            Yes(["monash-rmit-staff-2027"], STAFF_NEXT_TERMS, None),
            id="future-bilateral-decides-on-its-first-day",
        ),
        pytest.param(
            ("caval", "staff-ended", "staff-next"),
            Ask(category="staff", on=date(2026, 6, 30)),
            Yes(
                ["monash-rmit-staff-2025"],
                {**STAFF_TERMS, "excluded_material": []},
                date(2026, 6, 30),
            ),
            id="ended-bilateral-decides-on-its-last-day",
        ),
        pytest.param(
            ("staff-ended",),
            Ask(category="staff"),
            NothingApplies([(Code.ENDED, "monash-rmit-staff-2025")]),
            id="ended-bilateral-alone",
        ),
        pytest.param(
            ("staff-next",),
            Ask(category="staff"),
            NothingApplies([(Code.NOT_YET_IN_FORCE, "monash-rmit-staff-2027")]),
            id="future-bilateral-alone",
        ),
    ],
)
def test_bilateral_not_in_force_does_not_apply(
    names: tuple[str, ...], ask: Ask, expected: Expected
) -> None:
    run(names, ask, expected)


# --- rule 2: suspensions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "ask", "expected"),
    [
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="latrobe"),
            No([(Code.SUSPENDED, "latrobe-suspends-rmit")], agreements=["latrobe-suspends-rmit"]),
            id="suspension-overrides-consortium",
        ),
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="latrobe", on=date(2026, 11, 1)),
            No([(Code.SUSPENDED, "latrobe-suspends-rmit")], agreements=["latrobe-suspends-rmit"]),
            id="suspension-from-first-day",
        ),
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="latrobe", on=date(2026, 10, 31)),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-not-yet-in-force",
        ),
        pytest.param(
            ("caval", "suspend", "latrobe-staff"),
            Ask(lender="latrobe", category="staff"),
            No([(Code.SUSPENDED, "latrobe-suspends-rmit")], agreements=["latrobe-suspends-rmit"]),
            id="suspension-overrides-bilateral",
        ),
        pytest.param(
            ("caval", "suspend", "latrobe-staff"),
            Ask(lender="latrobe", category="staff", on=date(2026, 10, 31)),
            Yes(["latrobe-rmit-staff"], LATROBE_STAFF_TERMS, None),
            id="bilateral-before-suspension-starts",
        ),
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="monash"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-only-for-its-lender",
        ),
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="latrobe", home="monash"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-only-for-its-home-library",
        ),
        pytest.param(
            ("caval", "suspend"),
            Ask(lender="rmit", home="latrobe"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-is-one-way",
        ),
        pytest.param(
            ("caval", "suspend-ug"),
            Ask(lender="latrobe", category="undergraduate"),
            No(
                [(Code.SUSPENDED, "latrobe-suspends-rmit-ug")],
                agreements=["latrobe-suspends-rmit-ug"],
            ),
            id="category-suspension-hits-its-category",
        ),
        pytest.param(
            ("caval", "suspend-ug"),
            Ask(lender="latrobe", category="staff"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="category-suspension-spares-other-categories",
        ),
        pytest.param(
            ("caval", "suspend-later"),
            Ask(lender="monash"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-starting-next-month",
        ),
        pytest.param(
            ("caval", "suspend-later"),
            Ask(lender="monash", on=date(2026, 12, 1)),
            No([(Code.SUSPENDED, "monash-suspends-rmit")], agreements=["monash-suspends-rmit"]),
            id="suspension-started",
        ),
        pytest.param(
            ("caval", "suspend-over"),
            Ask(lender="monash"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="suspension-ended-yesterday",
        ),
        pytest.param(
            ("caval", "suspend-over"),
            Ask(lender="monash", on=date(2026, 11, 21)),
            No(
                [(Code.SUSPENDED, "monash-suspended-rmit-spring")],
                agreements=["monash-suspended-rmit-spring"],
            ),
            id="suspension-on-its-last-day",
        ),
    ],
)
def test_suspensions(names: tuple[str, ...], ask: Ask, expected: Expected) -> None:
    run(names, ask, expected)


def test_suspension_message_gives_its_reason() -> None:
    decision = network("caval", "suspend").decide(Ask(lender="latrobe").request())
    (reason,) = decision.to_dict()["reasons"]
    assert "Unpaid lost-item invoices" in reason["message"]


# --- category mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("library", "code", "hub_category"),
    [
        pytest.param("rmit", "UG", "undergraduate", id="rmit-UG"),
        pytest.param("rmit", "STAFF", "staff", id="rmit-STAFF"),
        pytest.param("rmit", "ALUM", "alumni", id="rmit-ALUM"),
        pytest.param("monash", "HDR", "postgraduate", id="monash-HDR"),
        pytest.param("latrobe", "UGR", "undergraduate", id="latrobe-UGR"),
        pytest.param("rmit", "XX", None, id="rmit-unmapped-code"),
        pytest.param("monash", "UG", None, id="another-librarys-code"),
        pytest.param("rmit", "ug", None, id="codes-are-exact"),
    ],
)
def test_home_ils_codes_map_to_hub_categories(
    library: str, code: str, hub_category: str | None
) -> None:
    assert network(*CAVAL).libraries[library].hub_category(code) == hub_category


@pytest.mark.parametrize(
    ("lender", "home", "code", "expected"),
    [
        pytest.param(
            "monash",
            "rmit",
            "UG",
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="rmit-UG-at-monash",
        ),
        pytest.param(
            "monash",
            "rmit",
            "STAFF",
            Yes(["monash-rmit-staff"], STAFF_TERMS, None),
            id="rmit-STAFF-at-monash",
        ),
        pytest.param(
            "rmit",
            "monash",
            "S",
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="monash-S-at-rmit",
        ),
        pytest.param(
            "monash",
            "rmit",
            "ALUM",
            NothingApplies(
                [
                    (Code.CATEGORY_NOT_COVERED, "caval-2026"),
                    (Code.CATEGORY_NOT_COVERED, "monash-rmit-staff"),
                ]
            ),
            id="rmit-ALUM-not-covered",
        ),
    ],
)
def test_mapped_category_decides(lender: str, home: str, code: str, expected: Expected) -> None:
    agreements = network(*CAVAL_STAFF)
    category = agreements.libraries[home].hub_category(code)
    assert category is not None
    decision = agreements.decide(Ask(lender=lender, home=home, category=category).request())
    check(decision, expected)
    assert decision.to_dict()["patron_category"] == category


# --- refusals before any agreement ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ask", "code"),
    [
        pytest.param(Ask(lender="nowhere"), Code.UNKNOWN_LIBRARY, id="unknown-lender"),
        pytest.param(Ask(home="nowhere"), Code.UNKNOWN_LIBRARY, id="unknown-home"),
        pytest.param(Ask(lender="rmit", home="rmit"), Code.OWN_LIBRARY, id="own-library"),
        pytest.param(
            Ask(lender="monash", home="monash", category="staff"),
            Code.OWN_LIBRARY,
            id="own-library-staff",
        ),
        pytest.param(Ask(category="visitor"), Code.UNKNOWN_CATEGORY, id="unknown-category"),
        pytest.param(Ask(category="UG"), Code.UNKNOWN_CATEGORY, id="unmapped-ils-code"),
    ],
)
def test_refused_before_any_agreement(ask: Ask, code: Code) -> None:
    run(CAVAL_STAFF, ask, No([(code, None)], agreements=[]))


# --- rule 5 and 6: card expiry and valid_until ----------------------------------------------------


@pytest.mark.parametrize(
    ("card_expires", "expected"),
    [
        pytest.param(None, Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)), id="no-expiry"),
        pytest.param(
            date(2026, 12, 31),
            Yes(["caval-2026"], CAVAL_TERMS, date(2026, 12, 31)),
            id="card-expires-first",
        ),
        pytest.param(
            date(2027, 2, 28),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="card-and-agreement-same-day",
        ),
        pytest.param(
            date(2027, 6, 30),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="agreement-ends-first",
        ),
        pytest.param(
            ON,
            Yes(["caval-2026"], CAVAL_TERMS, ON),
            id="card-expires-on-the-day-passes",
        ),
        pytest.param(
            date(2026, 11, 21),
            No([(Code.CARD_EXPIRED, "caval-2026")], agreements=["caval-2026"]),
            id="card-expired-the-day-before",
        ),
        pytest.param(
            date(2020, 1, 1),
            No([(Code.CARD_EXPIRED, "caval-2026")], agreements=["caval-2026"]),
            id="card-expired-long-ago",
        ),
    ],
)
def test_card_expiry(card_expires: date | None, expected: Expected) -> None:
    run(CAVAL, Ask(card_expires=card_expires), expected)


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        pytest.param(
            Ask(lender="rmit", home="deakin", category="staff", card_expires=date(2026, 1, 1)),
            Yes(["rmit-deakin"], DEAKIN_TERMS, SKIP),
            id="expired-card-ignored",
        ),
        pytest.param(
            Ask(lender="rmit", home="deakin", category="undergraduate", fines="1000.00"),
            Yes(["rmit-deakin"], DEAKIN_TERMS, None),
            id="no-fines-limit",
        ),
        pytest.param(
            Ask(lender="rmit", home="deakin", flags=frozenset({"card_lost", "blocked"})),
            Yes(["rmit-deakin"], DEAKIN_TERMS, None),
            id="no-blocking-flags",
        ),
        pytest.param(
            Ask(lender="rmit", home="deakin", card_expires=date(2027, 3, 1)),
            Yes(["rmit-deakin"], DEAKIN_TERMS, date(2027, 3, 1)),
            id="valid-card-still-bounds-valid-until",
        ),
    ],
)
def test_card_need_not_be_valid(ask: Ask, expected: Expected) -> None:
    run(("caval", "deakin-open"), ask, expected)


# --- standing: fines and flags; material ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        pytest.param(
            Ask(fines="10.00"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="fines-at-limit",
        ),
        pytest.param(
            Ask(fines="10"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="fines-at-limit-other-scale",
        ),
        pytest.param(
            Ask(fines="9.99"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="fines-under-limit",
        ),
        pytest.param(
            Ask(fines="10.01"),
            No([(Code.FINES_OVER_LIMIT, "caval-2026")], agreements=["caval-2026"]),
            id="fines-one-cent-over",
        ),
        pytest.param(
            Ask(fines="25.50"),
            No([(Code.FINES_OVER_LIMIT, "caval-2026")], agreements=["caval-2026"]),
            id="fines-spec-example",
        ),
        pytest.param(
            Ask(flags=frozenset({"card_lost"})),
            No([(Code.BLOCKING_FLAG, "caval-2026")], agreements=["caval-2026"]),
            id="blocking-flag",
        ),
        pytest.param(
            Ask(flags=frozenset({"too_many_overdue"})),
            No([(Code.BLOCKING_FLAG, "caval-2026")], agreements=["caval-2026"]),
            id="another-blocking-flag",
        ),
        pytest.param(
            Ask(flags=frozenset({"renewal_denied", "hold_denied"})),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="flags-not-listed-do-not-block",
        ),
        pytest.param(
            Ask(flags=frozenset({"renewal_denied", "charge_denied"})),
            No([(Code.BLOCKING_FLAG, "caval-2026")], agreements=["caval-2026"]),
            id="one-blocking-flag-among-others",
        ),
        pytest.param(
            Ask(material="av"),
            No([(Code.MATERIAL_EXCLUDED, "caval-2026")], agreements=["caval-2026"]),
            id="material-excluded",
        ),
        pytest.param(
            Ask(material="reserve"),
            No([(Code.MATERIAL_EXCLUDED, "caval-2026")], agreements=["caval-2026"]),
            id="other-material-excluded",
        ),
        pytest.param(
            Ask(material="book"),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="material-not-excluded",
        ),
        pytest.param(
            Ask(material=None),
            Yes(["caval-2026"], CAVAL_TERMS, date(2027, 2, 28)),
            id="no-material-given",
        ),
        pytest.param(
            Ask(
                fines="25.50",
                flags=frozenset({"card_lost"}),
                material="av",
                card_expires=date(2026, 1, 31),
            ),
            No(
                [
                    (Code.FINES_OVER_LIMIT, "caval-2026"),
                    (Code.BLOCKING_FLAG, "caval-2026"),
                    (Code.MATERIAL_EXCLUDED, "caval-2026"),
                    (Code.CARD_EXPIRED, "caval-2026"),
                ],
                agreements=["caval-2026"],
            ),
            id="every-failure-reported",
        ),
    ],
)
def test_standing_and_material(ask: Ask, expected: Expected) -> None:
    run(CAVAL, ask, expected)


@pytest.mark.parametrize(
    ("fines", "message"),
    [
        pytest.param(
            "25.50", "Fines owed 25.50 exceed the limit 10.00 set by caval-2026", id="spec"
        ),
        pytest.param(
            "10.01", "Fines owed 10.01 exceed the limit 10.00 set by caval-2026", id="cent"
        ),
    ],
)
def test_fines_message(fines: str, message: str) -> None:
    decision = network(*CAVAL).decide(Ask(fines=fines).request())
    assert [r["message"] for r in decision.to_dict()["reasons"]] == [message]


def test_blocking_flag_message_names_the_flag() -> None:
    decision = network(*CAVAL).decide(Ask(flags=frozenset({"card_lost"})).request())
    (reason,) = decision.to_dict()["reasons"]
    assert "card_lost" in reason["message"]
    assert "caval-2026" in reason["message"]


# --- rule 5: inclusive dates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        pytest.param(
            "until-yesterday", NothingApplies([(Code.ENDED, "window")]), id="ended-yesterday"
        ),
        pytest.param("until-today", Yes(["window"], WINDOW_TERMS, ON), id="ends-today"),
        pytest.param(
            "until-tomorrow", Yes(["window"], WINDOW_TERMS, date(2026, 11, 23)), id="ends-tomorrow"
        ),
        pytest.param("from-today", Yes(["window"], WINDOW_TERMS, None), id="starts-today"),
        pytest.param(
            "from-tomorrow",
            NothingApplies([(Code.NOT_YET_IN_FORCE, "window")]),
            id="starts-tomorrow",
        ),
        pytest.param("open-ended", Yes(["window"], WINDOW_TERMS, None), id="open-ended"),
    ],
)
def test_effective_dates_are_inclusive(window: str, expected: Expected) -> None:
    run((f"window-{window}",), Ask(), expected)


def test_card_expiry_before_agreement_end_on_the_last_day() -> None:
    run(
        ("window-until-tomorrow",),
        Ask(card_expires=ON),
        Yes(["window"], WINDOW_TERMS, ON),
    )


# --- rule 4: several agreements of the deciding kind ----------------------------------------------

GENEROUS = ("gen-a", "gen-b", "gen-c")


@pytest.mark.parametrize(
    ("ask", "first", "admitting", "terms", "valid_until"),
    [
        # gen-a and gen-b both lend 5 items; gen-b lends longer. gen-c lends longest but fewer.
        pytest.param(
            Ask(),
            "gen-b",
            {"gen-a", "gen-b", "gen-c"},
            GEN_B,
            date(2027, 6, 30),
            id="all-admit-most-items-then-longest-loan",
        ),
        pytest.param(
            Ask(home="monash", lender="rmit"),
            "gen-b",
            {"gen-a", "gen-b", "gen-c"},
            GEN_B,
            date(2027, 6, 30),
            id="all-admit-other-direction",
        ),
        pytest.param(
            Ask(fines="10.00"),
            "gen-a",
            {"gen-a", "gen-c"},
            GEN_A,
            date(2027, 12, 31),
            id="most-generous-refuses",
        ),
        pytest.param(
            Ask(fines="50.00"), "gen-c", {"gen-c"}, GEN_C, None, id="only-least-generous-admits"
        ),
    ],
)
def test_most_generous_admitting_agreement(
    ask: Ask, first: str, admitting: set[str], terms: dict[str, Any], valid_until: date | None
) -> None:
    answer = network(*GENEROUS).decide(ask.request()).to_dict()
    assert answer["eligible"] is True
    assert answer["reasons"] == []
    assert answer["terms"] == terms
    assert answer["agreements"][0] == first
    assert sorted(answer["agreements"]) == sorted(admitting)
    expected_until = None if valid_until is None else valid_until.isoformat()
    assert answer["valid_until"] == expected_until


def test_none_admits_lists_every_considered_with_reasons_from_each() -> None:
    run(
        GENEROUS,
        Ask(fines="500.00"),
        No(
            [
                (Code.FINES_OVER_LIMIT, "gen-a"),
                (Code.FINES_OVER_LIMIT, "gen-b"),
                (Code.FINES_OVER_LIMIT, "gen-c"),
            ]
        ),
    )
    answer = network(*GENEROUS).decide(Ask(fines="500.00").request()).to_dict()
    assert sorted(answer["agreements"]) == ["gen-a", "gen-b", "gen-c"]


def test_considered_means_the_deciding_kind_only() -> None:
    """A failing bilateral decides; the consortium that would admit is neither listed nor cited."""
    answer = network(*CAVAL_STAFF).decide(Ask(category="staff", fines="7.00").request()).to_dict()
    assert answer["agreements"] == ["monash-rmit-staff"]
    assert all(r["agreement"] != "caval-2026" for r in answer["reasons"])


# --- the JSON answer of docs/eligibility.md ------------------------------------------------------

ANSWER_KEYS = {
    "eligible",
    "lender",
    "home_library",
    "patron_category",
    "terms",
    "agreements",
    "reasons",
    "valid_until",
    "decided_at",
}


def test_to_dict_reproduces_the_spec_example() -> None:
    decision = network(*CAVAL).decide(
        Ask(lender="monash", home="rmit", material="book", fines="25.50").request()
    )
    answer = decision.to_dict()
    assert set(answer) == ANSWER_KEYS
    decided_at = answer.pop("decided_at")
    assert answer == {
        "eligible": False,
        "lender": "monash",
        "home_library": "rmit",
        "patron_category": "undergraduate",
        "terms": None,
        "agreements": ["caval-2026"],
        "reasons": [
            {
                "code": "fines_over_limit",
                "agreement": "caval-2026",
                "message": "Fines owed 25.50 exceed the limit 10.00 set by caval-2026",
            }
        ],
        "valid_until": None,
    }
    assert isinstance(decided_at, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", decided_at), decided_at


@pytest.mark.parametrize(
    ("ask", "eligible"),
    [
        pytest.param(Ask(card_expires=date(2026, 12, 31)), True, id="eligible"),
        pytest.param(Ask(flags=frozenset({"card_lost"})), False, id="refused"),
        pytest.param(Ask(home="deakin"), False, id="default-deny"),
        pytest.param(Ask(lender="nowhere"), False, id="unknown-library"),
    ],
)
def test_to_dict_is_the_json_answer(ask: Ask, eligible: bool) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    answer = network(*CAVAL).decide(ask.request()).to_dict()
    after = datetime.now(UTC)
    assert set(answer) == ANSWER_KEYS
    assert json.loads(json.dumps(answer)) == answer  # plain JSON values only
    assert answer["eligible"] is eligible
    assert answer["lender"] == ask.lender
    assert answer["home_library"] == ask.home
    assert answer["patron_category"] == ask.category
    for reason in answer["reasons"]:
        assert set(reason) == {"code", "agreement", "message"}
        assert reason["code"] in {code.value for code in Code}
    decided_at = answer["decided_at"]
    assert decided_at.endswith("Z")
    moment = datetime.fromisoformat(decided_at.removesuffix("Z") + "+00:00")
    assert before <= moment <= after
    if eligible:
        assert answer["valid_until"] == "2026-12-31"
        assert set(answer["terms"]) == set(CAVAL_TERMS)
        assert answer["reasons"] == []
    else:
        assert answer["terms"] is None
        assert answer["valid_until"] is None
        assert answer["reasons"]
