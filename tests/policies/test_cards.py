"""A library's ``card_pattern`` and ``pin_format``: checked when the file loads (a bad pattern is a
located problem), matched in full and in linear time, and telling the sign-in form its keyboard."""

from __future__ import annotations

import time

import pytest

import policies
from policies import InvalidAgreements
from policies.cards import MAX_PATTERN, digits_only, fits

HEAD = """\
libraries:
  - id: koha
    name: Koha Public Library
"""


def library(extra: str) -> policies.Library:
    return policies.load_sources([("koha.yaml", HEAD + extra)]).libraries["koha"]


def problems(extra: str) -> list[tuple[int | None, int | None, str]]:
    with pytest.raises(InvalidAgreements) as caught:
        policies.load_sources([("koha.yaml", HEAD + extra)])
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def test_a_library_without_them_takes_any_card_and_a_text_pin() -> None:
    koha = library("    card_prefixes: ['K']\n")
    assert koha.card_pattern is None and koha.pin_format == "text"


@pytest.mark.parametrize(
    ("pattern", "card", "fits_"),
    [
        ("[0-9]{14}", "21110000000001", True),
        ("[0-9]{14}", "2111000000000", False),  # one short
        ("[0-9]{14}", "21110000000001x", False),  # the whole card must match
        ("^[0-9]{14}$", "21110000000001", True),
        ("[A-Z]{2}[0-9]{4}", "KO1234", True),
        ("[A-Z]{2}[0-9]{4}", "ko1234", False),
        ("(?i)[a-z]{2}[0-9]{4}", "ko1234", True),
        (r"\d+", "\u0663\u0664", False),  # \d is ASCII digits only
        (r"\p{L}+[0-9]", "dj\u00e91", True),
    ],
)
def test_the_whole_card_must_match(pattern: str, card: str, fits_: bool) -> None:
    koha = library(f"    card_pattern: '{pattern}'\n")
    assert koha.card_pattern == pattern
    assert fits(pattern, card) is fits_


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[0-9", "missing ]"),
        ("(?=a)b", "invalid perl operator"),  # look-ahead: RE2 has none
        (r"(a)\1", "invalid escape sequence"),  # nor back-references
        ("a{1001}", "invalid repetition size"),
        ("", "card_pattern is empty"),
        ("[0-9]" * 41, f"longer than {MAX_PATTERN} characters"),
    ],
)
def test_a_pattern_the_hub_cannot_use_is_a_located_problem(pattern: str, message: str) -> None:
    [(line, column, text)] = problems(f"    card_pattern: '{pattern}'\n")
    assert (line, column) == (4, 19)
    assert text.startswith("library koha: card_pattern: ") and message in text


def test_pin_format_is_numeric_or_text() -> None:
    assert library("    pin_format: numeric\n").pin_format == "numeric"
    [(line, column, text)] = problems("    pin_format: digits\n")
    assert (line, column) == (4, 17)
    assert "pin_format" in text and "'numeric' or 'text'" in text


def test_a_catastrophic_pattern_is_matched_in_linear_time() -> None:
    """``(a+)+b`` takes Python's backtracking ``re`` about 2**n steps on n a's; the card's
    pattern is RE2, so one sign-in can never hold a thread."""
    pattern = "(a+)+b"
    library(f"    card_pattern: '{pattern}'\n")
    start = time.perf_counter()
    for _ in range(1000):
        assert not fits(pattern, "a" * 64)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("pattern", "numeric"),
    [
        ("[0-9]{14}", True),
        (r"^\d{10,14}$", True),
        ("2111[0-9]{10}|2222[0-9]{10}", True),
        ("[0-9A-Z]{14}", False),
        ("[A-Za-z0-9]+", False),
        (".*", False),
        (None, False),
    ],
)
def test_a_numeric_keyboard_only_for_digits(pattern: str | None, numeric: bool) -> None:
    assert digits_only(pattern) is numeric
