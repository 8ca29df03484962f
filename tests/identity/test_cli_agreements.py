"""``hub agreements check`` and ``hub agreements explain``, run as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import policies
from tests.conftest import run_hub

EXAMPLES = Path(policies.__file__).parent / "examples"
hub = run_hub


def test_check_reports_what_it_loaded() -> None:
    result = hub("agreements", "check", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "OK: 7 libraries, 10 agreements (2 consortium, 6 bilateral, 2 suspension) from 4 files"
    )


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "agreements:\n"
        "  - id: caval\n"
        "    kind: consortium\n"
        "    members: [rmit, monash, latrobbe]\n"
        "    categories: [staff]\n"
        "    terms: {max_items: 3, loan_days: 14, loan_dayz: 3}\n"
    )
    result = hub("agreements", "check", str(EXAMPLES), str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{bad}:6:42: agreement caval: terms.loan_dayz: unknown key 'loan_dayz'; "
        "did you mean 'loan_days'? allowed: max_items, loan_days, renewals, holds, "
        "excluded_material",
    ]
    assert "1 problem; nothing loaded." in result.stderr
    bad.write_text(bad.read_text().replace(", loan_dayz: 3", ""))
    result = hub("agreements", "check", str(EXAMPLES), str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{bad}:4:29: agreement caval: unknown library 'latrobbe'"
    ]


@pytest.mark.parametrize(
    ("args", "request_"),
    [
        pytest.param(
            ["--lender", "monash", "--home", "rmit", "--ils-category", "UG", "--fines", "25.50"],
            policies.BorrowRequest(
                lender="monash",
                home_library="rmit",
                category="undergraduate",
                on=date(2026, 11, 22),
                fines=Decimal("25.50"),
            ),
            id="fines",
        ),
        pytest.param(
            [
                "--lender",
                "monash",
                "--home",
                "rmit",
                "--category",
                "staff",
                "--material",
                "av",
                "--card-expires",
                "2027-01-31",
            ],
            policies.BorrowRequest(
                lender="monash",
                home_library="rmit",
                category="staff",
                on=date(2026, 11, 22),
                material="av",
                card_expires=date(2027, 1, 31),
            ),
            id="bilateral-staff",
        ),
        pytest.param(
            [
                "--lender",
                "latrobe",
                "--home",
                "rmit",
                "--category",
                "staff",
                "--flags",
                "charge_denied,card_lost",
            ],
            policies.BorrowRequest(
                lender="latrobe",
                home_library="rmit",
                category="staff",
                on=date(2026, 11, 22),
                flags=frozenset({"charge_denied", "card_lost"}),
            ),
            id="suspended",
        ),
    ],
)
def test_explain_json_is_the_decision_of_the_python_api(
    args: list[str], request_: policies.BorrowRequest
) -> None:
    result = hub("agreements", "explain", str(EXAMPLES), *args, "--on", "2026-11-22", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    expected = policies.load(EXAMPLES).decide(request_).to_dict()
    assert printed.pop("decided_at").endswith("Z")
    expected.pop("decided_at")
    assert printed == expected


def test_explain_in_words() -> None:
    result = hub(
        "agreements",
        "explain",
        str(EXAMPLES),
        "--lender",
        "monash",
        "--home",
        "rmit",
        "--category",
        "staff",
        "--on",
        "2026-11-22",
        "--card-expires",
        "2027-01-31",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        f"ELIGIBLE under monash-rmit-staff (bilateral, {EXAMPLES / 'bilateral.yaml'})",
        "  terms: up to 10 items for 28 days, 2 renewals, 5 holds",
        "  valid until: 2027-01-31",
    ]
    denied = hub(
        "agreements",
        "explain",
        str(EXAMPLES),
        "--lender",
        "latrobe",
        "--home",
        "rmit",
        "--category",
        "staff",
        "--on",
        "2026-11-22",
    )
    assert denied.stdout.splitlines()[-3:] == [
        "NOT ELIGIBLE",
        "  considered: latrobe-suspends-rmit",
        "  - latrobe has suspended lending to patrons of rmit: Unpaid lost-item invoices"
        " [suspended]",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lender", "monsh", "--home", "rmit", "--category", "staff"], "unknown library 'monsh'"),
        (
            ["--lender", "monash", "--home", "rmit"],
            "give exactly one of --category and --ils-category",
        ),
        (
            ["--lender", "monash", "--home", "rmit", "--ils-category", "XX"],
            "rmit has no category code 'XX'",
        ),
        (
            ["--lender", "monash", "--home", "rmit", "--category", "staff", "--flags", "lost"],
            "unknown flag 'lost'",
        ),
        (
            ["--lender", "monash", "--home", "rmit", "--category", "staff", "--on", "22/11/2026"],
            "expected a date like 2026-11-22",
        ),
        (
            ["--lender", "monash", "--home", "rmit", "--category", "staff", "--fines", "NaN"],
            "fines must be a finite, non-negative Decimal",
        ),
        (
            ["--lender", "monash", "--home", "rmit", "--category", "staff", "--fines", "lots"],
            "expected an amount like 12.50",
        ),
    ],
)
def test_explain_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = hub("agreements", "explain", str(EXAMPLES), *args)
    assert result.returncode == 2
    plain = " ".join(result.stderr.replace("│", " ").split())  # typer may draw a box around it
    assert message in plain


def test_a_file_nested_past_any_use_is_a_located_problem_not_a_crash(tmp_path: Path) -> None:
    """15,000 levels of ``- - - x`` (30 kB) overflowed the YAML parser's stack: signal 11."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("agreements:\n  - " + "- " * 15_000 + "x\n", encoding="utf-8")
    result = hub("agreements", "check", str(deep), process=True)  # a crash shows in a process
    assert result.returncode == 1, (result.returncode, result.stderr[-500:])
    assert result.stdout.startswith(f"{deep}:2:65: nested more than 32 levels deep"), result.stdout


def test_a_set_over_the_size_limits_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    name = "x" * 100
    entries = [f"  - {{id: l{n}, name: {name}}}\n" for n in range(12_000)]
    big.write_text("libraries:\n" + "".join(entries), encoding="utf-8")  # 1.4 MiB
    too_big = hub("agreements", "check", str(big), env={"HUB_AGREEMENTS_MAX_MB": "1"})
    assert too_big.returncode == 1
    assert too_big.stdout.startswith(f"{big}:")
    assert "larger than the limit of 1 MiB (HUB_AGREEMENTS_MAX_MB)" in too_big.stdout
    too_many = hub("agreements", "check", str(big), env={"HUB_AGREEMENTS_MAX_ENTRIES": "10000"})
    assert too_many.returncode == 1
    assert too_many.stdout.startswith(f"{big}:10002:5: the agreement set has more than 10,000")
    assert hub("agreements", "check", str(big)).returncode == 0


def test_the_first_100_problems_are_listed_and_all_counted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agreements:\n" + "".join(
        f"  - {{id: a{n}, kind: bilateral, lender: rmit, borrowers_from: [monash], "
        "categories: [staff], terms: {max_items: 1, loan_days: 0}}\n"
        for n in range(150)
    ), encoding="utf-8")  # fmt: skip
    result = hub("agreements", "check", str(EXAMPLES), str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 101 and lines[0].startswith(f"{bad}:2:")
    assert lines[-1] == f"{bad}: and 50 more problems, not listed"
    assert result.stderr == "150 problems; nothing loaded.\n"


def test_check_prints_warnings_and_still_exits_0(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "agreements:\n"
        "  - id: monash-latrobe-alumni\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [latrobe]\n"
        "    categories: [alumni]\n"
        "    terms: {max_items: 2, loan_days: 14}\n"
    )
    result = hub("agreements", "check", str(EXAMPLES), str(extra))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"warning: {extra}: agreement monash-latrobe-alumni: can apply to nobody: latrobe maps "
        "no patron to alumni",
        "1 warning (not problems: the files load as they are)",
    ]
