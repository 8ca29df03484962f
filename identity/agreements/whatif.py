"""What a change to the agreement set would do, shown before an administrator approves it.

``flips`` lists every (lender, home library, hub category) whose decision the change flips, asked
as for a patron in good standing; ``count_patrons`` adds how many patrons of each registry home
library (patrons the hub itself holds) a flip touches.

Only pairs a change can affect are decided. In a valid set a decision for (lender, home) depends
on nothing but the agreements covering that pair (every category an agreement names is a hub
category, and every library it names exists), so a flip needs an agreement that differs between
the two sets and has both libraries among its parties. The libraries whose entries differ are
added to the pairs too, which costs little and keeps the list right should that ever change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

import policies
from identity import errors
from identity.agreements import checks, entries
from identity.store.models import Proposal, RegistryPatron

Kind = Literal["now eligible", "no longer eligible", "terms changed"]


@dataclass(frozen=True)
class Flip:
    """One decision that differs between the two sets. ``patrons`` counts the registry patrons
    of ``home`` in ``category`` (``None``: ``home`` is not a registry library, or not counted)."""

    lender: str
    home: str
    category: str
    before: policies.Decision
    after: policies.Decision
    patrons: int | None = None

    @property
    def kind(self) -> Kind:
        if self.after.eligible and not self.before.eligible:
            return "now eligible"
        if self.before.eligible and not self.after.eligible:
            return "no longer eligible"
        return "terms changed"


def flips(before: policies.Agreements, after: policies.Agreements, *, on: date) -> list[Flip]:
    """Every (lender, home, category) decided differently by ``after`` than by ``before`` on
    ``on``, for a patron in good standing: eligible in one and not the other, or eligible in
    both on different terms or until a different day. Sorted by lender, home, category."""
    affected = _changed_libraries(before, after) | _changed_parties(before, after)
    categories = sorted(before.categories | after.categories)
    out: list[Flip] = []
    for lender in sorted(affected):
        for home in sorted(affected):
            if lender == home:
                continue
            for category in categories:
                request = policies.BorrowRequest(
                    lender=lender, home_library=home, category=category, on=on
                )
                was, now = before.decide(request), after.decide(request)
                if _differ(was, now):
                    out.append(Flip(lender, home, category, was, now))
    return out


def counted(
    session: Session, before: policies.Agreements, after: policies.Agreements, *, on: date
) -> list[Flip]:
    """``flips`` from ``before`` (the set in force) to ``after``, with their patron counts: what
    an administrator is shown before making or approving a change."""
    return count_patrons(session, flips(before, after, on=on), after, before=before)


def of_proposal(
    session: Session, proposal: Proposal, before: policies.Agreements, *, on: date
) -> list[Flip]:
    """What a pending proposal would flip if approved now against ``before`` (nothing, once it
    is decided or when it no longer applies to the set in force)."""
    if proposal.status != "pending":
        return []
    entry_id = proposal.target if proposal.before is not None else None
    section = entries.section_of(proposal.section)
    try:
        after, _ = checks.check(session, section, entry_id, proposal.text)
    except errors.NotFound:
        return []
    return [] if after is None else counted(session, before, after, on=on)


def count_patrons(
    session: Session,
    flips: list[Flip],
    after: policies.Agreements,
    *,
    before: policies.Agreements | None = None,
) -> list[Flip]:
    """``flips`` with ``patrons`` set for each home library whose connector is ``registry``:
    its patrons whose ILS code maps to the flip's category (codes the map lacks are not
    counted). One query per such library. The category map and connector are read from
    ``after``, or from ``before`` for a library that ``after`` no longer has."""
    counts: dict[str, Counter[str] | None] = {}
    for home in sorted({f.home for f in flips}):
        library = after.libraries.get(home)
        if library is None and before is not None:
            library = before.libraries.get(home)
        counts[home] = (
            _count(session, library)
            if library is not None and library.connector.kind == "registry"
            else None
        )
    out = []
    for flip in flips:
        by_category = counts[flip.home]
        out.append(
            replace(flip, patrons=None if by_category is None else by_category[flip.category])
        )
    return out


def _count(session: Session, library: policies.Library) -> Counter[str]:
    """The library's registry patrons by hub category, in one GROUP BY over the ILS codes."""
    rows = session.exec(
        select(RegistryPatron.category, func.count())
        .where(RegistryPatron.library == library.id)
        .group_by(col(RegistryPatron.category))
    )
    counts: Counter[str] = Counter()
    for code, number in rows:
        category = library.hub_category(code)
        if category is not None:
            counts[category] += number
    return counts


def _differ(was: policies.Decision, now: policies.Decision) -> bool:
    if was.eligible != now.eligible:
        return True
    return was.eligible and (was.terms != now.terms or was.valid_until != now.valid_until)


def _changed_libraries(before: policies.Agreements, after: policies.Agreements) -> set[str]:
    ids = before.libraries.keys() | after.libraries.keys()
    return {i for i in ids if before.libraries.get(i) != after.libraries.get(i)}


def _changed_parties(before: policies.Agreements, after: policies.Agreements) -> set[str]:
    """The parties of every agreement added, removed or changed, in either of its versions."""
    parties: set[str] = set()
    for agreement_id in before.agreements.keys() | after.agreements.keys():
        was, now = before.agreements.get(agreement_id), after.agreements.get(agreement_id)
        if was != now:
            parties.update(_parties(was), _parties(now))
    return parties


def _parties(
    agreement: policies.Consortium | policies.Bilateral | policies.Suspension | None,
) -> Iterable[str]:
    if agreement is None:
        return ()
    if isinstance(agreement, policies.Consortium):
        return agreement.members
    return (agreement.lender, *agreement.borrowers_from)
