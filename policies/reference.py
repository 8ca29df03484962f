"""The decision rules (docs/agreements.md) in plain Python: the readable twin of the compiled index.

``Agreements.decide`` decides with the index of ``policies/_index.pyx``: a hash table of
(lender, home) pairs in C structs, built for speed and hard to read. This module states the same
rules the way docs/agreements.md ("Decision rules") gives them, in
their order, over the models of ``policies.model`` and nothing else: the libraries, the agreements
in the order of the set, and a ``BorrowRequest``. It scans every agreement on every call, so it
is slow on a large set, and nothing in the hub decides with it. It is what a reader checks the
rules against, and what the index is checked against: tests/policies/test_reference.py asserts
that both return equal ``Decision`` objects (every field, the reasons in order, their messages)
on random networks and requests. A change to the rules is made here and in the index together.

    from policies import reference
    reference.decide(agreements.libraries.values(), agreements.agreements.values(), request)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from policies.agreements import EXPAND_CONSORTIA_UP_TO
from policies.decision import BorrowRequest, Code, Decision, Reason
from policies.model import Bilateral, Consortium, Library, Suspension

AnyAgreement = Consortium | Bilateral | Suspension
Lending = Consortium | Bilateral


def decide(
    libraries: Iterable[Library],
    agreements: Iterable[AnyAgreement],
    request: BorrowRequest,
    *,
    expand_consortia_up_to: int = EXPAND_CONSORTIA_UP_TO,
) -> Decision:
    """May ``request.lender`` lend to this patron? The same ``Decision`` as ``Agreements.decide``
    on the same libraries and agreements (``decided_at`` aside, which no comparison reads).

    ``expand_consortia_up_to`` is the size above which the index keeps a consortium apart from
    the pairs it covers (``policies.agreements.EXPAND_CONSORTIA_UP_TO``, the index's default):
    such consortia are listed after the others (see ``_between``).
    """
    libraries = tuple(libraries)
    lender, home, category, on = request.lender, request.home_library, request.category, request.on

    # Refused outright, before any agreement is read: an unknown library, a library asking
    # about its own patron (its own rules apply, not an agreement), an unknown category.
    known = {library.id for library in libraries}
    hub_categories = frozenset(c for library in libraries for c in library.categories.values())
    if lender not in known:
        return _deny(request, (), Reason(Code.UNKNOWN_LIBRARY, None, (lender,)))
    if home not in known:
        return _deny(request, (), Reason(Code.UNKNOWN_LIBRARY, None, (home,)))
    if lender == home:
        return _deny(request, (), Reason(Code.OWN_LIBRARY, None, (lender,)))
    if category not in hub_categories:
        return _deny(request, (), Reason(Code.UNKNOWN_CATEGORY, None, (category, hub_categories)))

    suspensions, bilaterals, consortia = _between(agreements, lender, home, expand_consortia_up_to)
    suspended = [s for s in suspensions if _in_force(s, on) and _covers(s, category)]
    bilateral = [a for a in bilaterals if _applies(a, request)]
    consortium = [a for a in consortia if _applies(a, request)]
    lending: list[Lending] = [*bilaterals, *consortia]

    # Rule 1: nothing applies, so not eligible (default deny). The reasons say so, then why each
    # agreement between the two libraries did not apply (suspensions are not listed).
    if not (suspended or bilateral or consortium):
        return _deny(
            request,
            (),
            Reason(Code.NO_AGREEMENT, None, (lender, home, category, on)),
            *(_why_not(a, request) for a in lending),
        )

    # Rule 2: a suspension in force for (lender, home), and for the category if it lists
    # categories, denies whatever else applies. Each suspension in force is a reason.
    if suspended:
        return _deny(
            request,
            _ids(suspended),
            *(Reason(Code.SUSPENDED, s.id, (lender, home, s.reason)) for s in suspended),
        )

    # Rule 3: the bilateral agreements in force that cover the category decide; only when none
    # does, the consortia. A bilateral that covers the patron decides even if they fail it.
    deciding: Sequence[Lending] = bilateral or consortium

    # Rule 4: eligible if any deciding agreement admits the patron (a known standing where the
    # agreement requires one; rule 5: standing checks pass, the material is not excluded).
    # When none does, the reasons are every failure of every agreement considered, in their
    # order, and ``agreements`` lists them all.
    admitting = [a for a in deciding if not _failures(a, request)]
    if not admitting:
        failures = [reason for a in deciding for reason in _failures(a, request)]
        return _deny(request, _ids(deciding), *failures)

    # The terms are the most generous admitting agreement's: most items, then longest loan,
    # then the agreement id, for a stable answer. ``agreements`` lists the admitting ones in
    # that order, the one whose terms apply first.
    admitting.sort(key=lambda a: (-a.terms.max_items, -a.terms.loan_days, a.id))
    best = admitting[0]
    return Decision(
        eligible=True,
        lender=lender,
        home_library=home,
        patron_category=category,
        terms=best.terms,
        agreements=_ids(admitting),
        reasons=(),
        valid_until=_valid_until(best, request),
    )


def _between(
    agreements: Iterable[AnyAgreement], lender: str, home: str, expand_consortia_up_to: int
) -> tuple[list[Suspension], list[Bilateral], list[Consortium]]:
    """The agreements about lending from ``lender`` to patrons of ``home``, by kind, each in the
    order of the set, except that consortia of more than ``expand_consortia_up_to`` members come
    after the smaller ones (the index reads the pair's own agreements, then the lender's large
    consortia)."""
    suspensions: list[Suspension] = []
    bilaterals: list[Bilateral] = []
    consortia: list[Consortium] = []
    for agreement in agreements:
        if isinstance(agreement, Consortium):
            if lender in agreement.members and home in agreement.members:
                consortia.append(agreement)
        elif agreement.lender == lender and home in agreement.borrowers_from:
            if isinstance(agreement, Suspension):
                suspensions.append(agreement)
            else:
                bilaterals.append(agreement)
    consortia.sort(key=lambda c: len(c.members) > expand_consortia_up_to)  # a stable sort
    return suspensions, bilaterals, consortia


def _in_force(agreement: AnyAgreement, on: date) -> bool:
    """Rule 5: ``effective.from`` and ``until`` are inclusive; either may be absent."""
    start, until = agreement.effective.from_, agreement.effective.until
    return (start is None or start <= on) and (until is None or on <= until)


def _covers(agreement: AnyAgreement, category: str) -> bool:
    """A suspension without ``categories`` covers every category."""
    return agreement.categories is None or category in agreement.categories


def _applies(agreement: Lending, request: BorrowRequest) -> bool:
    return _in_force(agreement, request.on) and _covers(agreement, request.category)


def _why_not(agreement: Lending, request: BorrowRequest) -> Reason:
    """Why an agreement between the two libraries does not apply: the category first, then the
    dates."""
    if not _covers(agreement, request.category):
        covered = frozenset(agreement.categories)
        return Reason(Code.CATEGORY_NOT_COVERED, agreement.id, (request.category, covered))
    start, until = agreement.effective.from_, agreement.effective.until
    if start is not None and request.on < start:
        return Reason(Code.NOT_YET_IN_FORCE, agreement.id, (start,))
    return Reason(Code.ENDED, agreement.id, (until,))


def _failures(agreement: Lending, request: BorrowRequest) -> list[Reason]:
    """Rules 4 and 5: why the agreement does not admit the patron, in the order of the checks
    (a known standing, card, fines, each blocking flag in name order, material); empty if it
    admits them."""
    standing, aid = agreement.standing, agreement.id
    out = []
    if standing.requires_standing_source and not request.standing_known:
        out.append(Reason(Code.STANDING_UNKNOWN, aid))
    expires = request.card_expires
    if standing.card_must_be_valid and expires is not None and expires < request.on:
        out.append(Reason(Code.CARD_EXPIRED, aid, (expires,)))
    limit = standing.max_fines
    if limit is not None and request.fines > limit:  # fines equal to the limit pass
        out.append(Reason(Code.FINES_OVER_LIMIT, aid, (request.fines, limit)))
    for flag in sorted(request.flags & set(standing.blocking_flags)):
        out.append(Reason(Code.BLOCKING_FLAG, aid, (flag,)))
    material = request.material
    if material is not None and material in agreement.terms.excluded_material:
        out.append(Reason(Code.MATERIAL_EXCLUDED, aid, (material,)))
    return out


def _valid_until(best: Lending, request: BorrowRequest) -> date | None:
    """Rule 6: the earlier of the card's expiry and the deciding agreement's ``until``. A card
    already expired (admitted by an agreement that does not require a valid card) sets no
    bound, and neither does a card that never expires."""
    until, expires = best.effective.until, request.card_expires
    if expires is None or expires < request.on:
        return until
    return expires if until is None else min(expires, until)


def _ids(agreements: Iterable[AnyAgreement]) -> tuple[str, ...]:
    return tuple(a.id for a in agreements)


def _deny(request: BorrowRequest, agreements: tuple[str, ...], *reasons: Reason) -> Decision:
    return Decision(
        eligible=False,
        lender=request.lender,
        home_library=request.home_library,
        patron_category=request.category,
        terms=None,
        agreements=agreements,
        reasons=reasons,
        valid_until=None,
    )
