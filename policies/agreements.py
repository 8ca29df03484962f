"""The evaluator: a validated set of libraries and agreements, and the decision rules of SPEC 6.

``Agreements.decide`` is pure and its cost does not depend on how many agreements there are:
agreements are indexed by (lender, home library) for bilateral agreements and suspensions, and by
member library for consortia, then compiled into small rule objects at construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
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

    def failures(self, request: BorrowRequest) -> list[Reason]:
        """Why this agreement does not admit the patron; empty when it does."""
        out: list[Reason] = []
        expires = request.card_expires
        if self.must_be_valid and expires is not None and expires < request.on:
            out.append(
                Reason(
                    Code.CARD_EXPIRED,
                    self.id,
                    f"Card expired on {expires.isoformat()}; {self.id} requires a valid card",
                )
            )
        if self.max_fines is not None and request.fines > self.max_fines:
            out.append(
                Reason(
                    Code.FINES_OVER_LIMIT,
                    self.id,
                    f"Fines owed {request.fines:.2f} exceed the limit {self.max_fines:.2f} "
                    f"set by {self.id}",
                )
            )
        if request.flags and self.blocking:
            for flag in sorted(request.flags & self.blocking):
                out.append(
                    Reason(
                        Code.BLOCKING_FLAG,
                        self.id,
                        f"The home library reports {flag}, which {self.id} treats as blocking",
                    )
                )
        if request.material is not None and request.material in self.excluded:
            out.append(
                Reason(
                    Code.MATERIAL_EXCLUDED,
                    self.id,
                    f"{self.id} excludes {request.material} from reciprocal loans",
                )
            )
        return out

    def why_not_applicable(self, category: str, on: date) -> Reason:
        """For an agreement covering the two libraries that does not apply to this request."""
        if not self.all_categories and category not in self.categories:
            covered = ", ".join(sorted(self.categories))
            return Reason(
                Code.CATEGORY_NOT_COVERED,
                self.id,
                f"{self.id} does not cover the category {category} (it covers {covered})",
            )
        if on < self.start:
            return Reason(
                Code.NOT_YET_IN_FORCE,
                self.id,
                f"{self.id} comes into force on {self.start.isoformat()}",
            )
        return Reason(Code.ENDED, self.id, f"{self.id} ended on {self.end.isoformat()}")


_NONE: tuple[_Rule, ...] = ()


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

        suspensions: dict[tuple[str, str], list[_Rule]] = {}
        bilateral: dict[tuple[str, str], list[_Rule]] = {}
        consortia: dict[str, list[_Rule]] = {}
        for agreement in ags:
            rule = _Rule(agreement)
            if isinstance(agreement, Consortium):
                for member in agreement.members:
                    consortia.setdefault(member, []).append(rule)
            else:
                index = suspensions if isinstance(agreement, Suspension) else bilateral
                for home in agreement.borrowers_from:
                    index.setdefault((agreement.lender, home), []).append(rule)
        self._suspensions = {k: tuple(v) for k, v in suspensions.items()}
        self._bilateral = {k: tuple(v) for k, v in bilateral.items()}
        self._consortia = {k: tuple(v) for k, v in consortia.items()}

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
        """Where an agreement was read from, as ``file:line``, if it came from a file."""
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
        refusal = self._refuse_outright(lender, home, category)
        if refusal is not None:
            return self._deny(request, (), (refusal,))
        on = request.on
        pair = (lender, home)

        suspensions = self._suspensions.get(pair)
        if suspensions is not None:
            in_force = [
                s
                for s in suspensions
                if s.start <= on <= s.end and (s.all_categories or category in s.categories)
            ]
            if in_force:
                reasons = tuple(
                    Reason(
                        Code.SUSPENDED,
                        s.id,
                        f"{lender} has suspended lending to patrons of {home}: {s.reason}",
                    )
                    for s in in_force
                )
                return self._deny(request, tuple(s.id for s in in_force), reasons)

        considered = [
            r
            for r in self._bilateral.get(pair, _NONE)
            if r.start <= on <= r.end and category in r.categories
        ]
        if not considered:
            considered = [
                r
                for r in self._consortia.get(lender, _NONE)
                if home in r.members and r.start <= on <= r.end and category in r.categories
            ]
            if not considered:
                return self._nothing_applies(request)

        admitted: list[_Rule] = []
        reasons_: list[Reason] = []
        for rule in considered:
            failures = rule.failures(request)
            if failures:
                reasons_.extend(failures)
            else:
                admitted.append(rule)
        if not admitted:
            return self._deny(request, tuple(r.id for r in considered), tuple(reasons_))
        if len(admitted) > 1:
            admitted.sort(key=_rank)
        best = admitted[0]
        valid_until = _earliest(request.card_expires, best.until)
        return Decision(
            True, lender, home, category, best.terms, tuple(r.id for r in admitted), (), valid_until
        )

    def _refuse_outright(self, lender: str, home: str, category: str) -> Reason | None:
        for library in (lender, home):
            if library not in self._libraries:
                return Reason(
                    Code.UNKNOWN_LIBRARY, None, f"No library {library!r} in the agreements"
                )
        if lender == home:
            return Reason(
                Code.OWN_LIBRARY,
                None,
                f"{home} patrons borrow at {lender} under its own rules, not an agreement",
            )
        if category not in self._categories:
            return Reason(
                Code.UNKNOWN_CATEGORY,
                None,
                f"{category!r} is not a hub category "
                f"(known: {', '.join(sorted(self._categories))})",
            )
        return None

    def _nothing_applies(self, request: BorrowRequest) -> Decision:
        lender, home, category, on = (
            request.lender,
            request.home_library,
            request.category,
            request.on,
        )
        near_misses: Sequence[_Rule] = self._bilateral.get((lender, home), _NONE) + tuple(
            r for r in self._consortia.get(lender, _NONE) if home in r.members
        )
        reasons = [
            Reason(
                Code.NO_AGREEMENT,
                None,
                f"No agreement in force lets {lender} lend to {category} patrons of {home} "
                f"on {on.isoformat()}",
            )
        ]
        reasons.extend(r.why_not_applicable(category, on) for r in near_misses)
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
        )


def _rank(rule: _Rule) -> tuple[int, int, str]:
    return rule.rank


def _earliest(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
