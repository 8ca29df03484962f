"""Warnings about a valid set: things that are allowed but are likely mistakes. They never stop
a set from loading or being published; ``hub agreements check`` and the admin pages show them.

- An agreement lends a category to a borrowing library that maps no ILS code to it: none of
  that library's patrons is ever in that category, so the agreement lends it to nobody there.
- An agreement that can apply to nobody: no borrowing library maps any of its categories, or a
  suspension by the same lender covers every library and category it lends to.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.agreements import Agreements
from policies.errors import Problem
from policies.model import Bilateral, Consortium, Suspension


def warnings(agreements: Agreements) -> list[Problem]:
    """The warnings about ``agreements``, in file order of the agreements."""
    maps = {lib.id: frozenset(lib.categories.values()) for lib in agreements.libraries.values()}
    suspensions = [a for a in agreements.agreements.values() if isinstance(a, Suspension)]
    found: list[Problem] = []
    for agreement in agreements.agreements.values():
        if isinstance(agreement, Suspension):
            continue
        file = agreements.source(agreement.id) or "<data>"

        def warn(message: str, agreement_id: str = agreement.id, file: str = file) -> None:
            found.append(Problem(file, None, None, f"agreement {agreement_id}: {message}"))

        borrowers = _borrowers(agreement)
        if not any(c in maps.get(b, ()) for b in borrowers for c in agreement.categories):
            warn(
                f"can apply to nobody: {_listed(borrowers)} "
                f"{'maps' if len(borrowers) == 1 else 'map'} no patron to "
                f"{_listed(agreement.categories, 'or')}"
            )
            continue
        if isinstance(agreement, Bilateral) and _suspended(agreement, suspensions):
            warn(f"can apply to nobody: {agreement.lender} suspends lending to all its borrowers")
            continue
        for borrower in borrowers:
            missing = [c for c in agreement.categories if c not in maps.get(borrower, ())]
            if missing:
                warn(
                    f"{borrower} maps no patron to {_listed(missing, 'or')}, so this agreement "
                    f"lends {'it' if len(missing) == 1 else 'them'} to none of {borrower}'s "
                    "patrons"
                )
    return found


def _borrowers(agreement: Consortium | Bilateral) -> tuple[str, ...]:
    if isinstance(agreement, Consortium):
        return tuple(agreement.members)
    return tuple(agreement.borrowers_from)


def _suspended(agreement: Bilateral, suspensions: Iterable[Suspension]) -> bool:
    """Whether suspensions by its lender, in force whenever it is, cover every borrower and
    category of ``agreement``."""
    covered = set()
    for s in suspensions:
        if s.lender != agreement.lender or s.effective.from_ or s.effective.until:
            continue
        for borrower in s.borrowers_from:
            for category in s.categories or agreement.categories:
                covered.add((borrower, category))
    return all((b, c) in covered for b in agreement.borrowers_from for c in agreement.categories)


def _listed(names: Iterable[str], joiner: str = "and") -> str:
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def introduced(before: Agreements | None, after: Agreements) -> list[Problem]:
    """The warnings of ``after`` that ``before`` does not have (told apart by their message,
    which names the agreement: an entry edited under another file name is the same entry)."""
    had = {w.message for w in warnings(before)} if before is not None else set()
    return [w for w in warnings(after) if w.message not in had]
