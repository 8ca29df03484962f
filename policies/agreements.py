"""The evaluator: a validated set of libraries and agreements, and the rules of docs/agreements.md.

``Agreements.decide`` is pure and its cost does not depend on how many agreements there are:
agreements are compiled at construction into the index of ``policies._index`` (a Cython module,
built with the package), one hash slot per (lender, home) pair, a consortium under each ordered
pair of its members; this module turns the models into the rows that index takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from policies._index import FLAG_BITS, Index
from policies.decision import BorrowRequest, Decision
from policies.errors import InvalidAgreements, Problem
from policies.model import Bilateral, Consortium, Library, Network, Suspension, Terms
from policies.validate import check

AnyAgreement = Consortium | Bilateral | Suspension
#: what agreements share, and one agreement, as ``Index._build`` takes them
Profile = tuple[int, int, int, int, int, int, Terms | str]
#: the bits of a profile's ``needs`` (``policies/_index.pyx``)
NEEDS_VALID_CARD, NEEDS_KNOWN_STANDING = 1, 2
Row = tuple[str, int, int | None, int, int, int, tuple[int, ...]]


#: Consortia with more members are not expanded into (lender, home) pairs, which would take
#: memory in the square of their size; each member scans its few large consortia instead.
EXPAND_CONSORTIA_UP_TO = 256

_KINDS = {"suspension": 0, "bilateral": 1, "consortium": 2}


def _rows(
    libraries: Mapping[str, int], categories: frozenset[str], agreements: tuple[AnyAgreement, ...]
) -> tuple[
    list[str], list[frozenset[str]], list[frozenset[str]], list[Decimal], list[Profile], list[Row]
]:
    """The agreements as the profiles and rows ``Index._build`` compiles (see there), and the
    tables their numbers refer to. What agreements share (category sets, excluded material,
    limits, terms, standing: a profile) is stored once, so that what a decision reads besides
    its own pair stays in the CPU's caches."""
    category_sets: dict[frozenset[str], int] = {}
    excluded: dict[frozenset[str], int] = {}
    limit_of: dict[tuple[Decimal, str], Decimal] = {}
    profiles: dict[Profile, int] = {}
    lendings = [a for a in agreements if not isinstance(a, Suspension)]
    ranked = sorted((-a.terms.max_items, -a.terms.loan_days, a.id) for a in lendings)
    rank = {key[2]: n for n, key in enumerate(ranked)}
    for lending in lendings:
        limit = lending.standing.max_fines
        if limit is not None:
            limit_of.setdefault((limit, str(limit)), limit)
    limits = sorted(limit_of.values())
    limit_number = {(v, str(v)): n for n, v in enumerate(limits)}
    # each distinct standing and terms worked out once, keyed by value (every agreement has
    # its own model objects); terms equal by value become one shared object
    standings: dict[tuple[object, ...], tuple[int, int, int]] = {}
    shared_terms: dict[tuple[object, ...], tuple[Terms, int]] = {}

    # the ids decisions return: copies made in one go, so that the ids of a large set lie
    # together in memory, not scattered among the models (a decision touches each id it names)
    ids = [a.id.encode().decode() for a in agreements]
    texts: dict[str, str] = {}
    cats_of: dict[tuple[str, ...], int] = {}  # category set numbers by the tuple as written
    library_number = libraries.__getitem__
    rows: list[Row] = []
    for aid, agreement in zip(ids, agreements, strict=True):
        effective = agreement.effective
        start = (effective.from_ or date.min).toordinal()
        end = None if effective.until is None else effective.until.toordinal()
        cats = -1
        if agreement.categories is not None:
            cats = cats_of.get(agreement.categories, -2)
            if cats == -2:
                cats = category_sets.setdefault(frozenset(agreement.categories), len(category_sets))
                cats_of[agreement.categories] = cats
        if isinstance(agreement, Suspension):
            text = texts.setdefault(agreement.reason, agreement.reason)
            profile: Profile = (0, cats, -1, -1, 0, 0, text)
            homes = tuple(map(library_number, agreement.borrowers_from))
            number = profiles.setdefault(profile, len(profiles))
            rows.append((aid, start, end, -1, number, libraries[agreement.lender], homes))
            continue
        standing, terms = agreement.standing, agreement.terms
        standing_key = (
            standing.max_fines,
            standing.card_must_be_valid,
            standing.blocking_flags,
            standing.requires_standing_source,
        )
        judged = standings.get(standing_key)
        if judged is None:
            limit = standing.max_fines
            blocking = 0
            for flag in standing.blocking_flags:
                blocking |= FLAG_BITS[flag]
            judged = standings[standing_key] = (
                -1 if limit is None else limit_number[(limit, str(limit))],
                blocking,
                NEEDS_VALID_CARD * standing.card_must_be_valid
                | NEEDS_KNOWN_STANDING * standing.requires_standing_source,
            )
        terms_key = (
            terms.max_items,
            terms.loan_days,
            terms.renewals,
            terms.holds,
            terms.excluded_material,
            frozenset(terms.model_fields_set),
        )
        offered = shared_terms.get(terms_key)
        if offered is None:
            excl = -1
            if terms.excluded_material:
                excl = excluded.setdefault(frozenset(terms.excluded_material), len(excluded))
            offered = shared_terms[terms_key] = (terms, excl)
        terms, excl = offered
        fines, blocking, needs = judged
        profile = (_KINDS[agreement.kind], cats, excl, fines, blocking, needs, terms)
        # terms are shared by value above, so the same terms are the same object here
        number = profiles.setdefault(profile, len(profiles))
        if isinstance(agreement, Consortium):
            lender, homes = -1, tuple(map(library_number, agreement.members))
        else:
            lender = libraries[agreement.lender]
            homes = tuple(map(library_number, agreement.borrowers_from))
        rows.append((aid, start, end, rank[agreement.id], number, lender, homes))
    return (
        sorted(categories),
        list(category_sets),
        list(excluded),
        limits,
        list(profiles),
        rows,
    )


class Agreements:
    """A consistent set of libraries and agreements that can decide borrow requests.

    Build it with ``policies.load(*paths)``, or directly from models; either way the set is
    checked first and ``InvalidAgreements`` lists every problem.
    """

    #: ``decide(request) -> Decision``: may ``request.lender`` lend to this patron? The rules of
    #: docs/agreements.md, decided by the compiled index. It is the index's own method, so that no
    #: Python call stands between the caller and it (a wrapper would add a tenth to a decision).
    #: ``policies.reference`` holds the same rules in plain Python.
    decide: Callable[[BorrowRequest], Decision]

    def __init__(
        self,
        libraries: Iterable[Library],
        agreements: Iterable[AnyAgreement],
        *,
        sources: Mapping[str, str] | None = None,
        checked: bool = False,
        network: Network | None = None,
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
        self._network = network or Network()
        self._categories = frozenset(c for lib in libs for c in lib.categories.values())
        self._prefixes: dict[str, Library] = {p: lib for lib in libs for p in lib.card_prefixes}
        self._prefix_lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        self._domains: dict[str, Library] = {d: lib for lib in libs for d in lib.domains}

        # the compiled index that decides: see policies/_index.pyx
        numbers = {lib.id: n for n, lib in enumerate(libs)}
        names, category_sets, excluded, limits, profiles, rows = _rows(
            numbers, self._categories, ags
        )
        self._index = Index()
        self._index._build(
            list(numbers),
            names,
            self._categories,
            category_sets,
            excluded,
            limits,
            profiles,
            rows,
            EXPAND_CONSORTIA_UP_TO,
        )
        self.decide = self._index.decide

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
    def network(self) -> Network:
        """What holds for the whole network: the currency of fines, names of material ids."""
        return self._network

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

    def library_for_address(self, address: str) -> Library | None:
        """The library one of whose ``domains`` is the domain of the email ``address``
        (matched whole, in lower case; an internationalised domain as its ``xn--`` form), if
        any."""
        _, at, domain = address.strip().rpartition("@")
        domain = domain.strip().rstrip(".").lower()
        if not at or not domain:
            return None
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        return self._domains.get(domain)

    def __len__(self) -> int:
        return len(self._agreements)
