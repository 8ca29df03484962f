"""The evaluator: a validated set of libraries and agreements, and the decision rules of SPEC 6.

``Agreements.decide`` is pure and its cost does not depend on how many agreements there are:
agreements are compiled into small rule objects at construction and indexed by lender, then by
home library (a consortium under each ordered pair of its members).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from time import time
from types import MappingProxyType

from policies.decision import BorrowRequest, Code, Decision, Reason
from policies.errors import InvalidAgreements, Problem
from policies.model import Bilateral, Consortium, Library, Suspension, Terms
from policies.validate import check

AnyAgreement = Consortium | Bilateral | Suspension


class _Rule:
    """One agreement compiled for evaluation: open-ended dates become date.min and date.max."""

    __slots__ = (
        "id",
        "kind",
        "start",
        "end",
        "until",
        "categories",
        "all_categories",
        "members",
        "max_fines",
        "must_be_valid",
        "blocking",
        "excluded",
        "terms",
        "rank",
        "reason",
    )

    def __init__(self, agreement: AnyAgreement) -> None:
        self.id = agreement.id
        self.kind = agreement.kind
        self.start = agreement.effective.from_ or date.min
        self.until = agreement.effective.until
        self.end = self.until or date.max
        self.all_categories = agreement.categories is None
        self.categories = frozenset(agreement.categories or ())
        self.members: frozenset[str] = frozenset()
        self.max_fines: Decimal | None = None
        self.must_be_valid = False
        self.blocking: frozenset[str] = frozenset()
        self.excluded: frozenset[str] = frozenset()
        self.terms: Terms | None = None
        self.rank: tuple[int, int, str] = (0, 0, self.id)
        self.reason = ""
        if isinstance(agreement, Suspension):
            self.reason = agreement.reason
            return
        if isinstance(agreement, Consortium):
            self.members = frozenset(agreement.members)
        standing, terms = agreement.standing, agreement.terms
        self.max_fines = standing.max_fines
        self.must_be_valid = standing.card_must_be_valid
        self.blocking = frozenset(standing.blocking_flags)
        self.excluded = frozenset(terms.excluded_material)
        self.terms = terms
        # most generous first: most items, then longest loan, then by id for a stable answer
        self.rank = (-terms.max_items, -terms.loan_days, self.id)

    def admits(self, request: BorrowRequest) -> bool:
        """Standing checks pass and the material is not excluded. ``failures`` says why not."""
        expires = request.card_expires
        return (
            (not self.must_be_valid or expires is None or expires >= request.on)
            and (self.max_fines is None or request.fines <= self.max_fines)
            and not (request.flags and request.flags & self.blocking)
            and (request.material is None or request.material not in self.excluded)
        )

    def failures(self, request: BorrowRequest) -> list[Reason]:
        """Why this agreement does not admit the patron; empty exactly when ``admits``."""
        out: list[Reason] = []
        expires = request.card_expires
        if self.must_be_valid and expires is not None and expires < request.on:
            out.append(Reason(Code.CARD_EXPIRED, self.id, (expires,)))
        if self.max_fines is not None and request.fines > self.max_fines:
            out.append(Reason(Code.FINES_OVER_LIMIT, self.id, (request.fines, self.max_fines)))
        for flag in sorted(request.flags & self.blocking):
            out.append(Reason(Code.BLOCKING_FLAG, self.id, (flag,)))
        if request.material is not None and request.material in self.excluded:
            out.append(Reason(Code.MATERIAL_EXCLUDED, self.id, (request.material,)))
        return out

    def why_not_applicable(self, category: str, on: date) -> Reason:
        """For an agreement covering the two libraries that does not apply to this request."""
        if not self.all_categories and category not in self.categories:
            return Reason(Code.CATEGORY_NOT_COVERED, self.id, (category, self.categories))
        if on < self.start:
            return Reason(Code.NOT_YET_IN_FORCE, self.id, (self.start,))
        return Reason(Code.ENDED, self.id, (self.end,))


#: Consortia with more members are not expanded into (lender, home) pairs, which would take
#: memory in the square of their size; each member scans its few large consortia instead.
EXPAND_CONSORTIA_UP_TO = 256


class _Pair:
    """What one lender has agreed with one home library."""

    __slots__ = ("suspensions", "bilateral", "consortia")

    def __init__(self) -> None:
        self.suspensions: list[_Rule] = []
        self.bilateral: list[_Rule] = []
        self.consortia: list[_Rule] = []


def _pair(homes: dict[str, _Pair], home: str) -> _Pair:
    pair = homes.get(home)
    if pair is None:
        pair = homes[home] = _Pair()
    return pair


class _Lender:
    """What one library has agreed as a lender, by home library; and its large consortia."""

    __slots__ = ("homes", "large_consortia")

    def __init__(self) -> None:
        self.homes: dict[str, _Pair] = {}
        self.large_consortia: list[_Rule] = []


class Agreements:
    """A consistent set of libraries and agreements that can decide borrow requests.

    Build it with ``policies.load(*paths)``, or directly from models; either way the set is
    checked first and ``InvalidAgreements`` lists every problem.
    """

    def __init__(
        self,
        libraries: Iterable[Library],
        agreements: Iterable[AnyAgreement],
        *,
        sources: Mapping[str, str] | None = None,
        checked: bool = False,
    ) -> None:
        libs = tuple(libraries)
        ags = tuple(agreements)
        if not checked:
            issues = check(libs, ags)
            if issues:
                raise InvalidAgreements(
                    [Problem("<data>", None, None, f"{i.where()}: {i.message}") for i in issues]
                )
        self._libraries: dict[str, Library] = {lib.id: lib for lib in libs}
        self._agreements: dict[str, AnyAgreement] = {a.id: a for a in ags}
        self._sources = dict(sources or {})
        self._categories = frozenset(c for lib in libs for c in lib.categories.values())
        self._prefixes: dict[str, Library] = {p: lib for lib in libs for p in lib.card_prefixes}
        self._prefix_lengths = sorted({len(p) for p in self._prefixes}, reverse=True)

        # lender -> what it has agreed, so that deciding hashes nothing but the two library ids
        self._lenders: dict[str, _Lender] = {lib.id: _Lender() for lib in libs}
        for agreement in ags:
            rule = _Rule(agreement)
            if isinstance(agreement, Consortium):
                members = agreement.members
                if len(members) > EXPAND_CONSORTIA_UP_TO:
                    for member in members:
                        self._lenders[member].large_consortia.append(rule)
                    continue
                for lender in members:
                    homes = self._lenders[lender].homes
                    for home in members:
                        if home != lender:
                            _pair(homes, home).consortia.append(rule)
                continue
            homes = self._lenders[agreement.lender].homes
            for home in agreement.borrowers_from:
                pair = _pair(homes, home)
                if isinstance(agreement, Suspension):
                    pair.suspensions.append(rule)
                else:
                    pair.bilateral.append(rule)

    # --- what is in the set ---------------------------------------------------------------

    @property
    def libraries(self) -> Mapping[str, Library]:
        """Libraries by id, in file order."""
        return MappingProxyType(self._libraries)

    @property
    def agreements(self) -> Mapping[str, AnyAgreement]:
        """Agreements by id, in file order."""
        return MappingProxyType(self._agreements)

    @property
    def categories(self) -> frozenset[str]:
        """The hub categories: every value of every library's category map."""
        return self._categories

    def source(self, agreement_id: str) -> str | None:
        """The file an agreement was read from, if it came from one."""
        return self._sources.get(agreement_id)

    def library_for_card(self, card: str) -> Library | None:
        """The library whose card prefix is the longest prefix of ``card``, if any."""
        for length in self._prefix_lengths:
            library = self._prefixes.get(card[:length])
            if library is not None:
                return library
        return None

    def __len__(self) -> int:
        return len(self._agreements)

    # --- deciding -------------------------------------------------------------------------

    def decide(self, request: BorrowRequest) -> Decision:
        """May ``request.lender`` lend to this patron? The rules of SPEC section 6, in order:

        1. nothing applies: not eligible (default deny), saying why each near miss did not apply;
        2. a suspension in force for (lender, home) and the category denies, whatever else applies;
        3. bilateral agreements in force covering the category decide; only if none does, consortia;
        4. eligible if any deciding agreement admits the patron (standing, material); the terms
           are the most generous admitting agreement's (most items, then longest loan).
        """
        lender, home, category = request.lender, request.home_library, request.category
        agreed = self._lenders.get(lender)
        if (
            agreed is None
            or lender == home
            or home not in self._libraries
            or category not in self._categories
        ):
            return self._deny(request, (), (self._refusal(lender, home, category),))
        on = request.on

        considered: list[_Rule] = []
        pair = agreed.homes.get(home)
        if pair is not None:
            if pair.suspensions:
                in_force = [
                    s
                    for s in pair.suspensions
                    if s.start <= on <= s.end and (s.all_categories or category in s.categories)
                ]
                if in_force:
                    return self._suspended(request, in_force)
            if pair.bilateral:
                considered = [
                    r for r in pair.bilateral if r.start <= on <= r.end and category in r.categories
                ]
        if not considered:
            if pair is not None and pair.consortia:
                considered = [
                    r for r in pair.consortia if r.start <= on <= r.end and category in r.categories
                ]
            if agreed.large_consortia:
                considered.extend(
                    r
                    for r in agreed.large_consortia
                    if home in r.members and r.start <= on <= r.end and category in r.categories
                )
            if not considered:
                return self._nothing_applies(request, agreed)

        admitted = [r for r in considered if r.admits(request)]
        if not admitted:
            reasons = tuple(reason for r in considered for reason in r.failures(request))
            return self._deny(request, tuple([r.id for r in considered]), reasons)
        if len(admitted) > 1:
            admitted.sort(key=_rank)
        best = admitted[0]
        # valid until the earlier of the card's expiry and the agreement's end; a card already
        # expired (admitted by an agreement that does not require a valid card) sets no bound
        until, expires = best.until, request.card_expires
        if expires is None or expires < on or (until is not None and until < expires):
            expires = until
        return Decision(
            True,
            lender,
            home,
            category,
            best.terms,
            (best.id,) if len(admitted) == 1 else tuple([r.id for r in admitted]),
            (),
            expires,
            time(),
        )

    def _suspended(self, request: BorrowRequest, in_force: list[_Rule]) -> Decision:
        facts = (request.lender, request.home_library)
        reasons = tuple([Reason(Code.SUSPENDED, s.id, (*facts, s.reason)) for s in in_force])
        return self._deny(request, tuple([s.id for s in in_force]), reasons)

    def _refusal(self, lender: str, home: str, category: str) -> Reason:
        for library in (lender, home):
            if library not in self._libraries:
                return Reason(Code.UNKNOWN_LIBRARY, None, (library,))
        if lender == home:
            return Reason(Code.OWN_LIBRARY, None, (lender,))
        return Reason(Code.UNKNOWN_CATEGORY, None, (category, self._categories))

    def _nothing_applies(self, request: BorrowRequest, agreed: _Lender) -> Decision:
        """Default deny: say so, then why each agreement between the two libraries did not apply."""
        lender, home, category, on = (
            request.lender,
            request.home_library,
            request.category,
            request.on,
        )
        reasons = [Reason(Code.NO_AGREEMENT, None, (lender, home, category, on))]
        pair = agreed.homes.get(home)
        near_misses = [*pair.bilateral, *pair.consortia] if pair is not None else []
        near_misses.extend(r for r in agreed.large_consortia if home in r.members)
        reasons.extend(rule.why_not_applicable(category, on) for rule in near_misses)
        return self._deny(request, (), tuple(reasons))

    @staticmethod
    def _deny(
        request: BorrowRequest, agreements: tuple[str, ...], reasons: tuple[Reason, ...]
    ) -> Decision:
        return Decision(
            False,
            request.lender,
            request.home_library,
            request.category,
            None,
            agreements,
            reasons,
            None,
            time(),
        )


def _rank(rule: _Rule) -> tuple[int, int, str]:
    return rule.rank
