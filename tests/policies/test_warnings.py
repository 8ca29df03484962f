"""Warnings about a valid set (``policies.warnings``): a category a borrowing library never
maps, and agreements that can apply to nobody. They never stop a set loading."""

from __future__ import annotations

from pathlib import Path

import policies
from policies.warnings import warnings

EXAMPLES = Path(policies.__file__).parent / "examples"
EXTRA = """\
agreements:
  - id: monash-latrobe-alumni
    kind: bilateral
    lender: monash
    borrowers_from: [latrobe]
    categories: [alumni]
    terms: {max_items: 2, loan_days: 14}
  - id: rmit-lends-widely
    kind: bilateral
    lender: rmit
    borrowers_from: [latrobe, deakin]
    categories: [alumni, staff]
    terms: {max_items: 2, loan_days: 14}
  - id: monash-slv
    kind: bilateral
    lender: monash
    borrowers_from: [slv]
    categories: [public]
    terms: {max_items: 2, loan_days: 14}
  - id: monash-suspends-slv
    kind: suspension
    lender: monash
    borrowers_from: [slv]
    reason: Unreturned items
"""


def test_the_examples_have_no_warning() -> None:
    assert warnings(policies.load(EXAMPLES)) == []


def test_unmapped_categories_and_agreements_for_nobody() -> None:
    loaded = policies.load_sources([*policies.read(EXAMPLES), ("extra.yaml", EXTRA)])
    assert [str(w) for w in warnings(loaded)] == [
        # an example's agreement, now that monash suspends all of slv
        f"{EXAMPLES / 'bilateral.yaml'}: agreement monash-slv-researchers: can apply to nobody: "
        "monash suspends lending to all its borrowers",
        "extra.yaml: agreement monash-latrobe-alumni: can apply to nobody: latrobe maps no "
        "patron to alumni",
        "extra.yaml: agreement rmit-lends-widely: latrobe maps no patron to alumni, so this "
        "agreement lends it to none of latrobe's patrons",
        "extra.yaml: agreement monash-slv: can apply to nobody: monash suspends lending to all "
        "its borrowers",
    ]
