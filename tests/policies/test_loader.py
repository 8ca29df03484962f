"""The loader and validator: valid sets load; every problem is reported with file, line, column."""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

import policies
from policies import BorrowRequest, InvalidAgreements
from policies.model import Standing

EXAMPLES = Path(policies.__file__).parent / "examples"

LIBRARIES = """\
libraries:
  - id: rmit
    name: RMIT University Library
    card_prefixes: ["2111"]
    categories: {STAFF: staff, UG: undergraduate}
  - id: monash
    name: Monash University Library
    card_prefixes: ["2222"]
    categories: {ST: staff, UGRD: undergraduate}
"""


def problems(*sources: tuple[str, str]) -> list[tuple[str, int | None, int | None, str]]:
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources(sources)
    return [(p.file, p.line, p.column, p.message) for p in caught.value.problems]


def one_file(body: str) -> list[tuple[int | None, int | None, str]]:
    """Problems of LIBRARIES followed by ``body`` (so ``body`` starts on line 10)."""
    return [(line, col, msg) for _, line, col, msg in problems(("net.yaml", LIBRARIES + body))]


def test_the_example_network_loads() -> None:
    agreements = policies.load(EXAMPLES)
    assert list(agreements.libraries) == [
        "rmit",
        "monash",
        "latrobe",
        "deakin",
        "swinburne",
        "vu",
        "slv",
    ]
    assert len(agreements) == 10
    assert agreements.source("caval-2026") == str(EXAMPLES / "caval.yaml")
    assert agreements.libraries["monash"].hub_category("HDR") == "postgraduate"


def test_files_combine_into_one_set() -> None:
    consortium = """\
agreements:
  - id: pair
    kind: consortium
    members: [rmit, monash]
    categories: [staff]
    terms: {max_items: 3, loan_days: 14}
"""
    agreements = policies.load_sources([("libs.yaml", LIBRARIES), ("pair.yaml", consortium)])
    decision = agreements.decide(
        BorrowRequest(lender="rmit", home_library="monash", category="staff", on=date(2026, 1, 1))
    )
    assert decision.eligible
    assert decision.agreements == ("pair",)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            """\
agreements:
  - id: caval
    kind: consortium
    members: [rmit, monash, latrobe]
    categories: [staff]
    terms: {max_items: 3, loan_days: 14}
""",
            [(13, 29, "agreement caval: unknown library 'latrobe'")],
            id="unknown-library-in-members",
        ),
        pytest.param(
            """\
agreements:
  - id: caval
    kind: consortium
    members: [rmit, monash]
    categories: [staff, postgradute]
    terms: {max_items: 3, loan_days: 14}
""",
            [(14, 25, "agreement caval: unknown category 'postgradute'; the hub categories,")],
            id="unknown-category",
        ),
        pytest.param(
            """\
agreements:
  - id: self
    kind: bilateral
    lender: rmit
    borrowers_from: [monash, rmit]
    categories: [staff]
    terms: {max_items: 3, loan_days: 14}
""",
            [(14, 30, "agreement self: the lender 'rmit' cannot be in its own borrowers_from")],
            id="lender-in-own-borrowers-from",
        ),
        pytest.param(
            """\
agreements:
  - id: backwards
    kind: bilateral
    lender: rmit
    borrowers_from: [monash]
    effective: {from: 2026-03-01, until: 2026-02-28}
    categories: [staff]
    terms: {max_items: 3, loan_days: 14}
""",
            [(15, 16, "agreement backwards: effective: 'until' 2026-02-28 is before 'from'")],
            id="until-before-from",
        ),
        pytest.param(
            """\
agreements:
  - id: typo
    kind: bilateral
    lender: rmit
    borrowers_from: [monash]
    categories: [staff]
    terms: {max_items: 3, loan_days: 14, renewal: 1}
""",
            [
                (
                    16,
                    42,
                    "agreement typo: terms.renewal: unknown key 'renewal'; "
                    "did you mean 'renewals'?",
                )
            ],
            id="unknown-key-with-suggestion",
        ),
        pytest.param(
            """\
agreements:
  - id: typo
    kind: bilateral
    lender: rmit
    borrowers_from: [monash]
    categories: [staff]
    term: {max_items: 3, loan_days: 14}
""",
            [
                (11, 5, "agreement typo: terms: missing required key 'terms'"),
                (16, 5, "agreement typo: term: unknown key 'term'; did you mean 'terms'?"),
            ],
            id="misspelt-section",
        ),
        pytest.param(
            """\
agreements:
  - id: types
    kind: bilateral
    lender: rmit
    borrowers_from: [monash]
    categories: [staff]
    standing: {card_must_be_valid: yes}
    terms: {max_items: true, loan_days: "14"}
""",
            [
                (16, 36, "agreement types: standing.card_must_be_valid: Input should be a valid"),
                (17, 24, "agreement types: terms.max_items: Input should be a valid integer"),
                (17, 41, "agreement types: terms.loan_days: Input should be a valid integer"),
            ],
            id="wrong-types",
        ),
        pytest.param(
            """\
agreements:
  - id: flags
    kind: bilateral
    lender: rmit
    borrowers_from: [monash]
    categories: [staff]
    standing: {blocking_flags: [charge_denied, lost_card]}
    terms: {max_items: 3, loan_days: 14}
""",
            [(16, 48, "agreement flags: standing.blocking_flags.1: unknown flag 'lost_card'")],
            id="unknown-flag",
        ),
        pytest.param(
            """\
agreements:
  - id: kinds
    kind: bilatral
""",
            [(11, 5, "agreement kinds: unknown kind 'bilatral'")],
            id="unknown-kind",
        ),
        pytest.param(
            """\
agreements:
  - id: one
    kind: suspension
    lender: rmit
    borrowers_from: [monash]
    reason: unpaid invoices
  - id: one
    kind: suspension
    lender: monash
    borrowers_from: [rmit]
    reason: unpaid invoices
""",
            [(16, 9, "agreement one: agreement id 'one' is defined twice")],
            id="duplicate-agreement-id",
        ),
        pytest.param(
            """\
agreements:
  - id: dup
    kind: consortium
    members: [rmit, monash, rmit]
    categories: [staff]
    terms: {max_items: 3, loan_days: 14}
""",
            [(13, 14, "agreement dup: members: 'rmit' is listed twice")],
            id="duplicate-member",
        ),
        pytest.param(
            """\
agreements:
  - id: Caval 2026
    kind: suspension
    lender: rmit
    borrowers_from: [monash]
""",
            [
                (11, 5, "agreement Caval 2026: reason: missing required key 'reason'"),
                (11, 9, "agreement Caval 2026: id: String should match pattern"),
            ],
            id="bad-id-and-missing-reason",
        ),
        pytest.param(
            """\
agreement:
  - id: top
""",
            [(10, 1, "unknown key 'agreement'; did you mean 'agreements'?")],
            id="unknown-top-level-key",
        ),
    ],
)
def test_problems_are_located(body: str, expected: list[tuple[int, int, str]]) -> None:
    found = one_file(body)
    assert [(line, col) for line, col, _ in found] == [(line, col) for line, col, _ in expected]
    for (_, _, message), (_, _, start) in zip(found, expected, strict=True):
        assert message.startswith(start), message


def test_library_problems_are_located() -> None:
    text = """\
libraries:
  - id: rmit
    name: RMIT
    card_prefixes: ["2111"]
    categories: {UG: undergraduate}
    connector: {kind: sip2, host: sip.rmit.example, port: 70000, institution: RMIT}
  - id: monash
    name: Monash
    card_prefixes: ["2111"]
    categories: {UG: undergraduate}
    connector:
      kind: sip2
      host: sip.monash.example
      port: 6001
      institution: MON
      password: hunter2
"""
    found = problems(("libs.yaml", text))
    assert [(line, col) for _, line, col, _ in found] == [(6, 59), (16, 7)]
    assert found[0][3] == (
        "library rmit: connector.port: Input should be less than or equal to 65535 (got 70000)"
    )
    assert "secrets never go in agreement files" in found[1][3]
    assert "password_env" in found[1][3]


def test_a_library_defined_in_two_files_and_a_shared_card_prefix() -> None:
    other = """\
libraries:
  - id: rmit
    name: RMIT again
  - id: latrobe
    name: La Trobe
    card_prefixes: ["2222"]
"""
    found = problems(("libs.yaml", LIBRARIES), ("other.yaml", other))
    assert found == [
        ("other.yaml", 2, 9, "library rmit: library id 'rmit' is defined twice"),
        (
            "other.yaml",
            6,
            21,
            "library latrobe: card prefix '2222' is already used by library 'monash'",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "agreements:\n  - id: a\n    id: b\n",
            [(3, 5, "key 'id' appears twice in one mapping")],
            id="duplicate-key",
        ),
        pytest.param(
            "agreements:\n  - id: [a\n  kind: x\n",
            [(3, 7, "YAML syntax error: illegal placement of ':' indicator")],
            id="syntax-error",
        ),
        pytest.param(
            "# nothing here\n",
            [(None, None, "no libraries or agreements in this file")],
            id="empty",
        ),
        pytest.param(
            "- just a list\n",
            [(1, 1, "expected a mapping with 'libraries' and/or 'agreements' at the top")],
            id="not-a-mapping",
        ),
    ],
)
def test_yaml_problems(text: str, expected: list[tuple[int | None, int | None, str]]) -> None:
    assert [(line, col, msg) for _, line, col, msg in problems(("f.yaml", text))] == expected


def test_problems_in_several_files_are_all_reported_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("agreements:\n  - id: a\n    id: b\n")
    (tmp_path / "b.yaml").write_text(LIBRARIES + "agreements:\n  - id: x\n    kind: nope\n")
    (tmp_path / "notes.txt").write_text("not an agreement file")
    with pytest.raises(InvalidAgreements) as caught:
        policies.load(tmp_path, tmp_path / "missing.yaml")
    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [
        ("a.yaml", 3),
        ("b.yaml", 11),
        ("missing.yaml", None),
    ]
    assert "cannot read" in caught.value.problems[-1].message


def test_a_directory_without_agreement_files_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(InvalidAgreements, match=r"no \*.yaml or \*.yml files in this directory"):
        policies.load(tmp_path)


def test_yaml_1_2_keeps_no_and_on_as_strings() -> None:
    text = """\
libraries:
  - id: "no"
    name: Norway Public Library
    categories: {NO: staff, ON: undergraduate}
  - id: "on"
    name: Ontario Library
    categories: {Y: staff}
agreements:
  - id: pair
    kind: consortium
    members: [no, on]
    categories: [staff, undergraduate]
    terms: {max_items: 1, loan_days: 7}
"""
    agreements = policies.load_sources([("f.yaml", text)])
    assert agreements.libraries["no"].hub_category("NO") == "staff"
    decision = agreements.decide(
        BorrowRequest(lender="on", home_library="no", category="staff", on=date(2026, 1, 1))
    )
    assert decision.eligible


@pytest.mark.parametrize(
    ("limit", "fines", "eligible"),
    [
        ("10.10", "10.10", True),
        ("10.10", "10.11", False),
        ("0.1", "0.10", True),
        ("7", "7.00", True),
    ],
)
def test_money_limits_are_exact_decimals(limit: str, fines: str, eligible: bool) -> None:
    text = LIBRARIES + (
        "agreements:\n  - id: pair\n    kind: consortium\n    members: [rmit, monash]\n"
        f"    categories: [staff]\n    standing: {{max_fines: {limit}}}\n"
        "    terms: {max_items: 1, loan_days: 7}\n"
    )
    agreements = policies.load_sources([("f.yaml", text)])
    request = BorrowRequest(
        lender="rmit",
        home_library="monash",
        category="staff",
        on=date(2026, 1, 1),
        fines=Decimal(fines),
    )
    assert agreements.decide(request).eligible is eligible


def test_building_from_models_checks_the_set_too() -> None:
    library = policies.Library(id="rmit", name="RMIT", categories={"UG": "undergraduate"})
    bilateral = policies.Bilateral.model_validate(
        {
            "id": "b",
            "kind": "bilateral",
            "lender": "rmit",
            "borrowers_from": ["monash"],
            "categories": ["undergraduate"],
            "terms": {"max_items": 1, "loan_days": 7},
        }
    )
    with pytest.raises(InvalidAgreements) as caught:
        policies.Agreements([library], [bilateral])
    assert [str(p) for p in caught.value.problems] == [
        "<data>: agreements[0].borrowers_from[0]: unknown library 'monash'"
    ]


def test_home_library_is_inferred_from_the_longest_card_prefix() -> None:
    text = """\
libraries:
  - id: city
    name: City Libraries
    card_prefixes: ["29"]
  - id: city-branch
    name: City Libraries, Branch
    card_prefixes: ["2901", "2902"]
agreements: []
"""
    agreements = policies.load_sources([("f.yaml", text)])
    assert [
        getattr(agreements.library_for_card(card), "id", None)
        for card in ("29010000001", "29990000001", "30000000001")
    ] == ["city-branch", "city", None]


def test_a_large_file_with_one_mistake_names_its_line() -> None:
    items = "".join(
        f"  - id: a{i}\n    kind: bilateral\n    lender: rmit\n    borrowers_from: [monash]\n"
        f"    categories: [staff]\n    terms: {{max_items: 3, loan_days: 14}}\n"
        for i in range(2000)
    )
    broken = items.replace(
        "  - id: a1500\n    kind: bilateral\n    lender: rmit\n",
        "  - id: a1500\n    kind: bilateral\n    lender: rmitt\n",
    )
    found = one_file("agreements:\n" + broken)
    assert found == [(11 + 1500 * 6 + 2, 13, "agreement a1500: unknown library 'rmitt'")]


def test_problem_text_is_file_line_column_message() -> None:
    problem = policies.Problem("net.yaml", 12, 5, "unknown library 'x'")
    assert str(problem) == "net.yaml:12:5: unknown library 'x'"
    assert textwrap.dedent(str(policies.Problem("net.yaml", None, None, "m"))) == "net.yaml: m"


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        ("10.001", "Decimal input should have no more than 2 decimal places"),
        ("9.999999999999999999", "max_fines: money has at most 2 decimal places"),
        ('"10.005"', "Decimal input should have no more than 2 decimal places"),
        (".nan", "Input should be a finite number"),
        ('" 1_0 "', "money is written like 10.50, not ' 1_0 '"),
        ("-1", "Input should be greater than or equal to 0"),
        ("1e12", "Decimal input should have no more than 11 digits in total"),
    ],
)
def test_money_is_cents_and_finite(limit: str, problem: str) -> None:
    text = LIBRARIES + (
        "agreements:\n  - id: pair\n    kind: consortium\n    members: [rmit, monash]\n"
        f"    categories: [staff]\n    standing: {{max_fines: {limit}}}\n"
        "    terms: {max_items: 1, loan_days: 7}\n"
    )
    found = problems(("f.yaml", text))
    assert {line for _, line, _, _ in found} == {15}
    assert any(problem in message for _, _, _, message in found), found


#: pydantic's own money limits, which policies.model_types._cents does in one pass
PYDANTIC_MONEY: TypeAdapter[Decimal] = TypeAdapter(
    Annotated[Decimal, Field(ge=0, max_digits=11, decimal_places=2, allow_inf_nan=False)]
)


def _verdict(validate: Callable[[], object]) -> tuple[str, ...]:
    try:
        validate()
    except ValidationError as exc:
        return tuple(e["type"] for e in exc.errors())
    return ()


@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=0),
        st.builds(
            lambda digits, exponent: Decimal((0, tuple(digits), exponent)),
            st.lists(st.integers(0, 9), min_size=1, max_size=14),
            st.integers(-6, 6),
        ),
    )
)
def test_money_limits_are_pydantics(amount: Decimal) -> None:
    ours = _verdict(lambda: Standing(max_fines=amount))
    theirs = _verdict(lambda: PYDANTIC_MONEY.validate_python(amount))
    assert ours == theirs, amount


def test_category_codes_are_taken_exactly_as_written() -> None:
    text = """\
libraries:
  - id: x
    name: X
    categories: {UG: undergraduate, "UG ": staff}
agreements: []
"""
    agreements = policies.load_sources([("f.yaml", text)])
    assert agreements.libraries["x"].hub_category("UG") == "undergraduate"
    assert agreements.libraries["x"].hub_category("UG ") == "staff"


@pytest.mark.parametrize("written", ["NFC", "NFD"])
def test_a_file_is_read_in_nfc_whichever_way_it_was_written(
    written: Literal["NFC", "NFD"],
) -> None:
    """An ILS sends ``Étudiant`` composed or decomposed; the file's key, written either way
    (an editor may save NFD), is the same text once both are NFC."""
    text = unicodedata.normalize(
        written,
        "libraries:\n"
        "  - id: uqam\n"
        "    name: Bibliothèques de l'UQAM\n"
        '    categories: {"Étudiant": undergraduate, "Employé": staff}\n'
        '    card_pattern: "[0-9]{8}|é[a-z]+"\n',
    )
    uqam = policies.load_sources([("uqam.yaml", text)]).libraries["uqam"]
    assert uqam.name == "Biblioth\u00e8ques de l'UQAM"
    assert uqam.hub_category("\u00c9tudiant") == "undergraduate"
    assert uqam.hub_category("Employ\u00e9") == "staff"
    assert uqam.card_pattern == "[0-9]{8}|\u00e9[a-z]+"


def test_a_problem_under_a_decomposed_key_is_located_at_it() -> None:
    text = 'libraries: [{id: x, name: X, categories: {"E\u0301": 7}}]\n'
    [problem] = problems(("x.yaml", text))
    assert problem[1:3] == (1, 49) and "categories.\u00c9" in problem[3]


def test_escapes_are_read_in_nfc_too() -> None:
    text = 'libraries: [{id: x, name: "Re\\u0301seau", categories: {"E\\u0301": staff}}]\n'
    x = policies.load_sources([("x.yaml", text)]).libraries["x"]
    assert x.name == "R\u00e9seau" and x.hub_category("\u00c9") == "staff"


def test_two_keys_that_are_one_text_in_nfc_are_a_repeated_key() -> None:
    text = 'libraries: [{id: x, name: X, categories: {"\u00c9": staff, "E\u0301": alumni}}]\n'
    [problem] = problems(("x.yaml", text))
    assert problem[1:] == (1, 43, "key '\u00c9' appears twice in one mapping")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "latin1.yaml",
            "libraries: [{id: x, name: Bibliothèque}]\n".encode("latin-1"),
            "cannot read: 'utf-8' codec can't decode",
            id="not-utf-8-in-a-directory",
        ),
        pytest.param(
            "bom.yaml",
            "\ufefflibraries: [{id: x, name: X}]\n".encode(),
            None,
            id="byte-order-mark",
        ),
        pytest.param(
            "complex.yaml",
            b"? [a]\n: 1\nx: 1\nx: 2\n",
            "key 'x' appears twice in one mapping",
            id="duplicate-beside-a-complex-key",
        ),
    ],
)
def test_awkward_files_never_crash(
    tmp_path: Path, name: str, content: bytes, expected: str | None
) -> None:
    (tmp_path / name).write_bytes(content)
    if expected is None:
        assert list(policies.load(tmp_path).libraries) == ["x"]
        return
    with pytest.raises(InvalidAgreements) as caught:
        policies.load(tmp_path)
    assert expected in caught.value.problems[0].message


def test_long_values_are_shortened_in_messages() -> None:
    text = (
        LIBRARIES
        + "agreements:\n  - id: a\n    kind: consortium\n    members: "
        + "x" * 5000
        + "\n"
    )
    messages = [message for _, _, _, message in problems(("f.yaml", text))]
    assert messages and all(len(m) < 300 for m in messages)


# --- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("    name: " + "N" * 201, 3, "name: String should have at most 200 characters"),
        ("    name: Long\n    card_prefixes: ['" + "9" * 33 + "']", 4, "at most 32 characters"),
        ("    name: Long\n    categories: {" + "C" * 65 + ": staff}", 4, "at most 64 characters"),
    ],
    ids=["name", "card-prefix", "category-code"],
)
def test_strings_in_entries_have_a_length_limit(entry: str, line: int, message: str) -> None:
    """A 50 MB library name made every sign-in page 50 MB."""
    found = problems(("long.yaml", f"libraries:\n  - id: long\n{entry}\n"))
    assert [(at, message in text) for _, at, _, text in found] == [(line, True)], found
    assert all(len(text) < 300 for *_, text in found)  # the value itself is shortened


def test_a_suspension_reason_has_a_length_limit() -> None:
    body = (
        "agreements:\n  - id: s\n    kind: suspension\n    lender: rmit\n"
        "    borrowers_from: [monash]\n    reason: " + "r" * 1001 + "\n"
    )
    ((line, _, message),) = one_file(body)
    assert line == 15 and "reason: String should have at most 1000 characters" in message
    assert policies.load_sources([("net.yaml", LIBRARIES + body.replace("r" * 1001, "r" * 1000))])


def test_only_the_first_problems_are_listed_and_the_rest_counted() -> None:
    body = "agreements:\n" + "".join(
        f"  - {{id: a{n}, kind: bilateral, lender: rmit, borrowers_from: [monash], "
        f"categories: [staff], terms: {{max_items: 1, loan_days: 0}}}}\n"
        for n in range(150)
    )
    found = one_file(body)
    assert len(found) == 101
    assert found[0] == (11, 125, "agreement a0: terms.loan_days: Input should be greater than "
                                 "or equal to 1 (got 0)")  # fmt: skip
    assert found[99][0] == 110
    assert found[100] == (None, None, "and 50 more problems, not listed")
    limits = policies.Limits(max_problems=3)
    with pytest.raises(InvalidAgreements, match="150 problems in the agreements") as caught:
        policies.load_sources([("net.yaml", LIBRARIES + body)], limits=limits)
    assert [p.line for p in caught.value.problems] == [11, 12, 13, None]


def test_a_set_over_its_size_limits_is_refused_at_the_file_that_passes_them() -> None:
    limits = policies.Limits(max_bytes=len(LIBRARIES) + 20, max_entries=3)
    body = "agreements: []\n# " + "x" * 20 + "\n"
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources([("a.yaml", LIBRARIES), ("b.yaml", body)], limits=limits)
    ((file, line, _, message),) = [(p.file, p.line, p.column, p.message)
                                   for p in caught.value.problems]  # fmt: skip
    assert (file, line) == ("b.yaml", 2)
    assert message.startswith(
        f"the agreement set is larger than the limit of {len(LIBRARIES) + 20:,} bytes"
    )
    three = "libraries:\n" + "".join(f"  - {{id: l{n}, name: L}}\n" for n in range(4))
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources([("c.yaml", three)], limits=limits)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (5, 5)
    assert problem.message.startswith("the agreement set has more than 3 libraries and agreements")


def test_a_library_that_signs_in_with_openid_connect() -> None:
    text = """\
libraries:
  - id: uni
    name: University Library
    categories: {student@uni.example: undergraduate}
    connector: {kind: oidc, issuer: "https://login.uni.example/realms/library", client_id: hub,
                client_secret_env: UNI_OIDC_SECRET}
"""
    library = policies.load_sources([("uni.yaml", text)]).libraries["uni"]
    connector = library.connector
    assert connector.kind == "oidc"
    assert connector.issuer == "https://login.uni.example/realms/library"
    assert connector.scopes == ("openid", "profile")
    assert (connector.patron_id, connector.name) == ("sub", "name")
    assert connector.category == "eduperson_scoped_affiliation"


def test_openid_connect_settings_are_checked() -> None:
    text = """\
libraries:
  - id: uni
    name: University Library
    connector:
      kind: oidc
      issuer: http://login.uni.example
      client_id: hub
      client_secret: hunter2
      scopes: [profile, email]
  - id: poly
    name: Polytechnic Library
    connector: {kind: oidc, issuer: "https://idp.poly.example/?tenant=1", client_id: ""}
"""
    found = [message for *_, message in problems(("libs.yaml", text))]
    assert any("the issuer must be an https URL (http only on loopback)" in m for m in found)
    assert any("secrets never go in agreement files" in m and "client_secret_env" in m
               for m in found)  # fmt: skip
    assert any("scopes must include openid" in m for m in found)
    assert any("the issuer has no query or fragment" in m for m in found)
    assert any("library poly: connector.client_id" in m for m in found)
    assert len(found) == 5


def test_what_patrons_read_is_in_the_files_and_checked() -> None:
    """A library's contact, a suspension's public note, the network's currency and names of
    material ids: read, and each mistake located."""
    good = policies.load(EXAMPLES)
    assert good.network.currency == "AUD" and good.network.materials["av"]
    rmit = good.libraries["rmit"].contact
    assert rmit is not None and rmit.url == "https://library.rmit.edu.au"
    suspension = good.agreements["latrobe-suspends-rmit"]
    assert isinstance(suspension, policies.Suspension) and suspension.public_note
    assert policies.load_sources([("n.yaml", LIBRARIES)]).network == policies.Network()

    text = """\
network:
  currency: aud
  materials: {av: Audio-visual, Reserve: x}
libraries:
  - id: rmit
    name: RMIT
    contact: {url: "ftp://files.rmit.example", emial: help@rmit.example}
  - id: monash
    name: Monash
    contact: {}
"""
    found = problems(("a.yaml", text), ("b.yaml", "network: {currency: EUR}\n"))
    assert [(f, line, col, message) for f, line, col, message in found] == [
        ("a.yaml", 2, 13,
         "network: currency: the currency is an ISO 4217 code in capitals, like AUD, not 'aud'"),
        ("a.yaml", 3, 33, "network: materials.Reserve: String should match pattern "
         "'^[a-z0-9][a-z0-9._-]*$' (got 'Reserve')"),
        ("a.yaml", 7, 20, "library rmit: contact.url: the contact url must be an http or "
         "https URL, not 'ftp://files.rmit.example'"),
        ("a.yaml", 7, 48, "library rmit: contact.emial: unknown key 'emial'; did you mean "
         "'email'? allowed: url, email, phone"),
        ("a.yaml", 10, 14, "library monash: contact: give at least one of url, email and phone"),
        ("b.yaml", 1, 1, "network is set in a.yaml already: set it once"),
    ]  # fmt: skip


def test_email_domains_are_lowercase_dns_names_unique_across_the_set() -> None:
    other = """\
libraries:
  - id: uni
    name: University
    domains: [student.uni.edu, UNI.edu, uni]
  - id: twice
    name: Twice
    domains: [twice.edu, twice.edu]
  - id: college
    name: College
    domains: [college.edu]
  - id: again
    name: Again
    domains: [college.edu]
"""
    found = problems(("libs.yaml", LIBRARIES), ("other.yaml", other))
    assert found == [
        ("other.yaml", 4, 32, "library uni: domains.1: 'UNI.edu': write domain names in lower "
                              "case ('uni.edu')"),
        ("other.yaml", 4, 41, "library uni: domains.2: 'uni' is not a domain name like "
                              "rmit.edu.au (letters, digits and hyphens, lower case, two labels "
                              "or more; an internationalised name in its xn-- form)"),
        ("other.yaml", 7, 14, "library twice: domains: 'twice.edu' is listed twice"),
        ("other.yaml", 13, 15, "library again: domain 'college.edu' is already used by library "
                               "'college'"),
    ]  # fmt: skip


def test_an_email_address_names_the_library_of_its_whole_domain() -> None:
    text = """\
libraries:
  - id: rmit
    name: RMIT University Library
    domains: [student.rmit.edu.au, rmit.edu.au]
  - id: ku
    name: Kyoto
    domains: [xn--1lq68wkwb350h.jp]
agreements: []
"""
    agreements = policies.load_sources([("f.yaml", text)])
    found = {
        address: getattr(agreements.library_for_address(address), "id", None)
        for address in (
            "s1234567@student.rmit.edu.au",
            " Alice@RMIT.edu.au. ",
            "alice@staff.rmit.edu.au",  # a domain not listed: matched whole, never a suffix
            "alice@evilrmit.edu.au",
            "rmit.edu.au",  # not an address
            "alice@",
            "tanaka@京都大学.jp",
        )
    }
    assert found == {
        "s1234567@student.rmit.edu.au": "rmit",
        " Alice@RMIT.edu.au. ": "rmit",
        "alice@staff.rmit.edu.au": None,
        "alice@evilrmit.edu.au": None,
        "rmit.edu.au": None,
        "alice@": None,
        "tanaka@京都大学.jp": "ku",
    }
