"""Who lends to whom: for one hub category on one day, every lender library's decision about a
patron of every home library, as the network page shows it (``/admin/network``).

Each cell is the decision engine's own answer (``policies.Agreements.decide``, the index that
answers the eligibility API) for a patron in good standing: no fines, no flags, a card that does
not expire, a standing the home library knows. Nothing here restates a rule: a cell only reads
the decision, its terms and the agreements it names (the admitting ones, the one whose terms
apply first; or the suspensions that stop it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import policies

State = Literal["lends", "no", "suspended", "own"]
#: what each state is called in the page's key and in the CSV
LABELS: dict[State, str] = {
    "lends": "lends",
    "no": "does not lend",
    "suspended": "suspended",
    "own": "own library",
}
CSV_COLUMNS = (
    "lender",
    "home_library",
    "category",
    "on",
    "state",
    "max_items",
    "loan_days",
    "renewals",
    "holds",
    "excluded_material",
    "agreements",
)


@dataclass(frozen=True)
class Cell:
    """What ``lender`` does for a patron of ``home`` in good standing: ``state``, the ``terms``
    it lends on (when it lends), and the agreements that decide it (those admitting the
    patron, the one whose terms apply first; or the suspensions in force)."""

    lender: str
    home: str
    state: State
    terms: policies.Terms | None = None
    agreements: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return LABELS[self.state]


@dataclass(frozen=True)
class Row:
    lender: policies.Library
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Matrix:
    """The decisions of ``category`` on ``on``: one row per lender, one cell per home library in
    the order of ``libraries`` (by name). ``unmapped`` are the libraries whose category map has
    no code for ``category``: none of their patrons can be in it."""

    category: str
    on: date
    libraries: tuple[policies.Library, ...]
    rows: tuple[Row, ...]
    unmapped: tuple[policies.Library, ...]

    def cell(self, lender: str, home: str) -> Cell:
        for row in self.rows:
            if row.lender.id == lender:
                return next(c for c in row.cells if c.home == home)
        raise KeyError(lender)

    def counts(self) -> dict[State, int]:
        """How many cells (the diagonal aside) are in each state."""
        found: dict[State, int] = {state: 0 for state in LABELS if state != "own"}
        for row in self.rows:
            for cell in row.cells:
                if cell.state != "own":
                    found[cell.state] += 1
        return found


def categories(agreements: policies.Agreements) -> list[str]:
    """The network's categories (every library's category map's), sorted."""
    return sorted(agreements.categories)


def build(agreements: policies.Agreements, category: str, on: date) -> Matrix:
    """Every lender's decision about a patron in good standing of every home library, asked of
    ``agreements`` (the set in force). ``category`` must be one of ``categories(agreements)``
    (``ValueError`` otherwise)."""
    if category not in agreements.categories:
        raise ValueError(f"{category!r} is not a category of the network")
    libraries = tuple(sorted(agreements.libraries.values(), key=lambda lib: (lib.name, lib.id)))
    rows = tuple(
        Row(
            lender, tuple(_cell(agreements, lender.id, home.id, category, on) for home in libraries)
        )
        for lender in libraries
    )
    unmapped = tuple(lib for lib in libraries if category not in lib.categories.values())
    return Matrix(category, on, libraries, rows, unmapped)


def _cell(agreements: policies.Agreements, lender: str, home: str, category: str, on: date) -> Cell:
    if lender == home:
        return Cell(lender, home, "own")
    request = policies.BorrowRequest(lender=lender, home_library=home, category=category, on=on)
    decision = agreements.decide(request)
    if decision.eligible:
        return Cell(lender, home, "lends", decision.terms, decision.agreements)
    if any(reason.code == policies.Code.SUSPENDED for reason in decision.reasons):
        return Cell(lender, home, "suspended", None, decision.agreements)
    return Cell(lender, home, "no")


def short_terms(terms: policies.Terms) -> str:
    """The terms in a few characters, for a cell: ``3 × 14 d``."""
    return f"{terms.max_items} × {terms.loan_days} d"


def to_csv(matrix: Matrix) -> str:
    """One line per (lender, home library) under a header, the diagonal included; agreements
    separated by spaces. Every value is an id, a date, a number or a state (nothing a
    spreadsheet could read as a formula)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in matrix.rows:
        for cell in row.cells:
            terms = cell.terms
            numbers: Sequence[object] = (
                ("", "", "", "", "")
                if terms is None
                else (
                    terms.max_items,
                    terms.loan_days,
                    terms.renewals,
                    terms.holds,
                    " ".join(terms.excluded_material),
                )
            )
            writer.writerow(
                [
                    cell.lender,
                    cell.home,
                    matrix.category,
                    matrix.on.isoformat(),
                    cell.state,
                    *numbers,
                    " ".join(cell.agreements),
                ]  # fmt: skip
            )
    return out.getvalue()
