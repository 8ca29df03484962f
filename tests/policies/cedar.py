"""A second opinion on docs/agreements.md in Cedar: the agreements as data, the rules as policies.

Every agreement becomes one entity ``Agreement::"<id>"`` whose attributes carry its data; the rules
are the handful of policies in ``POLICIES``, the same for every network. For each borrow request the
candidate agreements (found by ``CedarModel``'s own index, not the engine's) are asked two questions
in one ``is_authorized_batch`` call:

* ``Action::"applies"``: does the agreement cover this lender, home library and category, and is it
  in force on the day asked about?
* ``Action::"admits"``: does it apply, and does the patron pass its standing checks (and is the
  material not excluded)? A suspension never admits.

Only docs/agreements.md's rules 2-5 are combined in Python, in ``_combine``: a suspension that
applies denies; otherwise bilateral agreements that apply decide, else consortia; within the
deciding kind one admitting agreement is enough; nothing applies means not eligible.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import cedarpy

import policies
from policies import Bilateral, BorrowRequest, Consortium, Suspension

AnyAgreement = Consortium | Bilateral | Suspension

#: open ends of an effective window, as yyyymmdd integers
OPEN_FROM = 0
OPEN_UNTIL = 99991231

POLICIES = """
// docs/agreements.md rule 3: an agreement covers (lender, home, category) when in force on the day.
// Consortium: both libraries are members. Bilateral and suspension: one way, lender to borrowers.
// Rule 2: a suspension without categories covers every category.
// Rule 5: effective dates are inclusive; open ends are 0 and 99991231.
@id("covers")
permit (
  principal,
  action in [Action::"applies", Action::"admits"],
  resource is Agreement
)
when {
  (
    (resource.kind == "consortium" &&
     resource.members.contains(context.lender) &&
     resource.members.contains(context.home)) ||
    ((resource.kind == "bilateral" || resource.kind == "suspension") &&
     resource.lender == context.lender &&
     resource.borrowers.contains(context.home))
  ) &&
  (resource.all_categories || resource.categories.contains(context.category)) &&
  resource.effective_from <= context.on &&
  context.on <= resource.effective_until
};

// A library's own patrons borrow under its own rules, never under an agreement.
@id("own-library")
forbid (principal, action, resource)
when { context.lender == context.home };

// A suspension denies lending; it never admits anyone.
@id("suspension-never-admits")
forbid (principal, action == Action::"admits", resource is Agreement)
when { resource.kind == "suspension" };

// Rule 4: requires_standing_source fails a patron whose standing nobody knows (a sign-in at the
// library's identity provider, with no standing source).
@id("standing-unknown")
forbid (principal, action == Action::"admits", resource is Agreement)
when { resource.requires_standing_source && !context.standing_known };

// Rule 5: card_must_be_valid fails a card whose expiry is before the day asked about.
@id("card-expired")
forbid (principal, action == Action::"admits", resource is Agreement)
when {
  resource.card_must_be_valid &&
  context has card_expires &&
  context.card_expires < context.on
};

// Rule 5: fines equal to max_fines pass; more fail. No max_fines: no limit.
@id("fines-over-limit")
forbid (principal, action == Action::"admits", resource is Agreement)
when { resource has max_fines && context.fines.greaterThan(resource.max_fines) };

@id("blocking-flag")
forbid (principal, action == Action::"admits", resource is Agreement)
when { resource.blocking_flags.containsAny(context.flags) };

@id("material-excluded")
forbid (principal, action == Action::"admits", resource is Agreement)
when { resource.excluded_material.contains(context.material) };
"""

APPLIES = {"type": "Action", "id": "applies"}
ADMITS = {"type": "Action", "id": "admits"}


def day(value: date | None, default: int) -> int:
    """A date as the integer yyyymmdd, which orders like the date."""
    if value is None:
        return default
    return value.year * 10000 + value.month * 100 + value.day


def cedar_decimal(value: Decimal) -> dict[str, Any]:
    """A Cedar ``decimal`` (at most four places) in the JSON escape form."""
    exact = value.quantize(Decimal("0.0001"))
    if exact != value:
        raise ValueError(f"{value} has more decimal places than Cedar's decimal allows")
    return {"__extn": {"fn": "decimal", "arg": f"{exact:.4f}"}}


def entity(agreement: AnyAgreement) -> dict[str, Any]:
    """The Cedar entity for one agreement: every attribute present, whatever its kind."""
    effective = agreement.effective
    attrs: dict[str, Any] = {
        "kind": agreement.kind,
        "lender": "",
        "borrowers": [],
        "members": [],
        "categories": list(agreement.categories or ()),
        "all_categories": agreement.categories is None,
        "effective_from": day(effective.from_, OPEN_FROM),
        "effective_until": day(effective.until, OPEN_UNTIL),
        "card_must_be_valid": False,
        "requires_standing_source": False,
        "blocking_flags": [],
        "excluded_material": [],
    }
    if isinstance(agreement, Consortium):
        attrs["members"] = list(agreement.members)
    else:
        attrs["lender"] = agreement.lender
        attrs["borrowers"] = list(agreement.borrowers_from)
    if not isinstance(agreement, Suspension):
        standing = agreement.standing
        attrs["card_must_be_valid"] = standing.card_must_be_valid
        attrs["requires_standing_source"] = standing.requires_standing_source
        attrs["blocking_flags"] = list(standing.blocking_flags)
        attrs["excluded_material"] = list(agreement.terms.excluded_material)
        if standing.max_fines is not None:
            attrs["max_fines"] = cedar_decimal(standing.max_fines)
    return {"uid": {"type": "Agreement", "id": agreement.id}, "attrs": attrs, "parents": []}


def entities_json(agreements: Iterable[AnyAgreement]) -> str:
    """The Cedar JSON entities document for ``agreements``, built without one huge list of dicts."""
    return "[" + ",".join(json.dumps(entity(a), separators=(",", ":")) for a in agreements) + "]"


def context(request: BorrowRequest) -> dict[str, Any]:
    """The facts about the patron and the request, as the Cedar request context."""
    out: dict[str, Any] = {
        "lender": request.lender,
        "home": request.home_library,
        "category": request.category,
        "on": day(request.on, 0),
        "fines": cedar_decimal(request.fines),
        "flags": sorted(request.flags),
        "material": request.material if request.material is not None else "",
        "standing_known": request.standing_known,
    }
    if request.card_expires is not None:
        out["card_expires"] = day(request.card_expires, 0)
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """Cedar's answer for one request, with the time spent inside ``is_authorized_batch``."""

    eligible: bool
    applies: frozenset[str]
    admits: frozenset[str]
    candidates: int
    call_ns: int


class CedarModel:
    """Eligibility (docs/agreements.md) decided by Cedar over ``agreements``.

    The policy set is parsed once, here. How the agreements reach Cedar:

    * ``feed="all"`` (default): every agreement, parsed once here into one ``Entities`` handle
      that every request reuses.
    * ``feed="per-pair"``: for each (lender, home) pair asked about, only its candidate agreements,
      parsed on first use into a handle cached for that pair (``prepare`` parses them ahead of
      time, so that timing ``verdict`` measures no parsing). For networks too big for one handle.

    ``wide=True`` asks Cedar about every agreement for every request, so that Cedar alone decides
    what applies; otherwise the candidates come from a simple index: (lender, home) for bilateral
    agreements and suspensions, the consortia that list both libraries.
    """

    def __init__(
        self, agreements: policies.Agreements, *, wide: bool = False, feed: str = "all"
    ) -> None:
        if feed not in ("all", "per-pair") or (wide and feed != "all"):
            raise ValueError(f"unsupported feed {feed!r} (wide={wide})")
        items = list(agreements.agreements.values())
        self.kinds: dict[str, str] = {a.id: a.kind for a in items}
        self.wide = wide
        self.feed = feed
        self.by_pair: dict[tuple[str, str], list[str]] = {}
        self.consortia_of: dict[str, set[str]] = {}
        for a in items:
            if isinstance(a, Consortium):
                for member in a.members:
                    self.consortia_of.setdefault(member, set()).add(a.id)
            else:
                for home in a.borrowers_from:
                    self.by_pair.setdefault((a.lender, home), []).append(a.id)
        self.policy_set = cedarpy.PolicySet.from_str(POLICIES)
        self.entities_parse_ns = 0
        self.entities: cedarpy.Entities | None = None
        self.pair_entities: dict[tuple[str, str], cedarpy.Entities] = {}
        self.agreements: dict[str, AnyAgreement] = {}
        if feed == "all":
            start = time.perf_counter_ns()
            self.entities = cedarpy.Entities.from_json_str(entities_json(items))
            self.entities_parse_ns = time.perf_counter_ns() - start
        else:
            self.agreements = dict(agreements.agreements)

    def candidates(self, request: BorrowRequest) -> list[str]:
        """The agreements worth asking Cedar about; Cedar itself decides which apply."""
        if self.wide:
            return list(self.kinds)
        lender, home = request.lender, request.home_library
        shared = self.consortia_of.get(lender, set()) & self.consortia_of.get(home, set())
        return self.by_pair.get((lender, home), []) + sorted(shared)

    def entities_for(self, request: BorrowRequest, candidates: list[str]) -> cedarpy.Entities:
        """The entity handle to ask about ``request``: all agreements, or those of its pair."""
        if self.entities is not None:
            return self.entities
        pair = (request.lender, request.home_library)
        handle = self.pair_entities.get(pair)
        if handle is None:
            start = time.perf_counter_ns()
            text = entities_json(self.agreements[a] for a in candidates)
            handle = self.pair_entities[pair] = cedarpy.Entities.from_json_str(text)
            self.entities_parse_ns += time.perf_counter_ns() - start
        return handle

    def prepare(self, requests: Iterable[BorrowRequest]) -> None:
        """Parse ahead of time the entities that ``verdict`` will need for ``requests``."""
        for request in requests:
            candidates = self.candidates(request)
            if candidates:
                self.entities_for(request, candidates)

    def verdict(self, request: BorrowRequest) -> Verdict:
        """Ask Cedar whether each candidate applies and admits, then combine per the docs."""
        candidates = self.candidates(request)
        if not candidates:
            return Verdict(False, frozenset(), frozenset(), 0, 0)
        ctx = context(request)
        principal = {"type": "Library", "id": request.home_library}
        batch = [
            {
                "principal": principal,
                "action": action,
                "resource": {"type": "Agreement", "id": agreement_id},
                "context": ctx,
            }
            for agreement_id in candidates
            for action in (APPLIES, ADMITS)
        ]
        entities = self.entities_for(request, candidates)
        start = time.perf_counter_ns()
        results = cedarpy.is_authorized_batch(batch, self.policy_set, entities)
        call_ns = time.perf_counter_ns() - start
        applies = frozenset(a for a, r in zip(candidates, results[0::2], strict=True) if r.allowed)
        admits = frozenset(a for a, r in zip(candidates, results[1::2], strict=True) if r.allowed)
        return Verdict(self._combine(applies, admits), applies, admits, len(candidates), call_ns)

    def eligible(self, request: BorrowRequest) -> bool:
        """Whether Cedar finds the patron eligible."""
        return self.verdict(request).eligible

    def _combine(self, applies: frozenset[str], admits: frozenset[str]) -> bool:
        """Decision rules 2-5 (docs/agreements.md), over what Cedar found to apply and to admit."""
        if any(self.kinds[a] == "suspension" for a in applies):
            return False  # rule 2: a suspension in force denies, whatever else applies
        for kind in ("bilateral", "consortium"):  # rule 3: the most specific kind decides
            deciding = [a for a in applies if self.kinds[a] == kind]
            if deciding:
                return any(a in admits for a in deciding)  # rule 4
        return False  # rule 1: default deny
