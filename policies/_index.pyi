"""Types of the compiled index (policies/_index.pyx and the .pxi files it includes)."""

from datetime import date
from decimal import Decimal

from policies.decision import BorrowRequest, Decision
from policies.model import Terms

SORTED_FLAGS: tuple[str, ...]
FLAG_BITS: dict[str, int]

def ordinal(day: date) -> int: ...
def from_ordinal(n: int) -> date: ...

class Tables:
    def _build(
        self,
        library_ids: list[str],
        categories: list[str],
        hub_categories: frozenset[str],
        category_sets: list[frozenset[str]],
        excluded: list[frozenset[str]],
        limits: list[Decimal],
        profiles: list[tuple[int, int, int, int, int, int, Terms | str]],
        rows: list[tuple[str, int, int | None, int, int, int, tuple[int, ...]]],
        expand_up_to: int,
    ) -> None: ...

class Index(Tables):
    def decide(self, request: BorrowRequest) -> Decision:
        """May ``request.lender`` lend to this patron? The decision rules of docs/agreements.md."""
