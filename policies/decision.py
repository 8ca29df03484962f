"""What a caller asks (``BorrowRequest``) and what it gets back (``Decision`` with its reasons).

The JSON form of a decision, ``Decision.to_dict()``, is the answer of docs/eligibility.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from time import time
from typing import Any

from policies.model import Terms


class Code(StrEnum):
    """Stable reason codes. A lender's system may branch on them; their wording may change."""

    #: no agreement in force covers this lender, home library and category (default deny)
    NO_AGREEMENT = "no_agreement"
    #: an agreement covers the two libraries but not the patron's category
    CATEGORY_NOT_COVERED = "category_not_covered"
    #: an agreement covers the patron but its ``effective.from`` is after the date asked about
    NOT_YET_IN_FORCE = "not_yet_in_force"
    #: an agreement covers the patron but its ``effective.until`` is before the date asked about
    ENDED = "ended"
    #: a suspension in force for this lender and home library
    SUSPENDED = "suspended"
    #: the card expired before the date asked about, and the agreement requires a valid card
    CARD_EXPIRED = "card_expired"
    #: fines owed exceed the agreement's ``max_fines``
    FINES_OVER_LIMIT = "fines_over_limit"
    #: the home library flags the patron with one of the agreement's ``blocking_flags``
    BLOCKING_FLAG = "blocking_flag"
    #: the agreement requires a known standing (``requires_standing_source``), and nobody knows
    #: the patron's: their library's identity provider proved membership only
    STANDING_UNKNOWN = "standing_unknown"
    #: the requested material is in the agreement's ``excluded_material``
    MATERIAL_EXCLUDED = "material_excluded"
    #: the lender or the home library is not in the agreements
    UNKNOWN_LIBRARY = "unknown_library"
    #: the category is not a hub category of any library's category map
    UNKNOWN_CATEGORY = "unknown_category"
    #: lender and home library are the same: the library's own rules apply, not an agreement
    OWN_LIBRARY = "own_library"


@dataclass(frozen=True, slots=True, kw_only=True)
class BorrowRequest:
    """May ``lender`` lend to this patron of ``home_library`` on ``on``?

    ``category`` is the hub category (map a home ILS code with ``Library.hub_category``);
    ``fines``, ``flags`` and ``card_expires`` are what the home library says about the card.
    ``card_expires=None`` means the card does not expire. ``standing_known=False`` says that
    nobody told the fines and flags (a sign-in at the library's identity provider proves
    membership today and nothing more): an agreement that ``requires_standing_source`` does
    not admit the patron, whatever they are.
    """

    lender: str
    home_library: str
    category: str
    on: date
    material: str | None = None
    fines: Decimal = Decimal(0)
    flags: frozenset[str] = frozenset()
    card_expires: date | None = None
    standing_known: bool = True

    def __post_init__(self) -> None:
        """Refuse facts that no rule could judge rightly, rather than decide on them."""
        if not isinstance(self.fines, Decimal) or not self.fines.is_finite() or self.fines < 0:
            raise ValueError(f"fines must be a finite, non-negative Decimal, not {self.fines!r}")
        for name in ("on", "card_expires"):
            value = getattr(self, name)
            if isinstance(value, datetime) or not isinstance(value, date | None):
                raise ValueError(f"{name} must be a date, not {value!r}")
        if not isinstance(self.standing_known, bool):
            raise ValueError(f"standing_known must be a bool, not {self.standing_known!r}")
        if not isinstance(self.flags, frozenset):
            object.__setattr__(self, "flags", frozenset(self.flags))
        if self.material is not None:
            # material names in agreements are lower-case ids; "AV" asks about "av"
            object.__setattr__(self, "material", self.material.strip().lower())


@dataclass(slots=True)
class Reason:
    """Why not: a stable ``code``, the agreement it comes from (if any), a sentence for people.

    The sentence is written when asked for (``message``), from ``facts``: most decisions are never
    explained to a person, and formatting it eagerly would double the cost of a refusal.
    """

    code: Code
    agreement: str | None
    facts: tuple[Any, ...] = ()

    @property
    def message(self) -> str:
        a, f = self.agreement, self.facts
        match self.code:
            case Code.NO_AGREEMENT:  # lender, home, category, on
                return (
                    f"No agreement in force lets {f[0]} lend to {f[2]} patrons of {f[1]} on {f[3]}"
                )
            case Code.CATEGORY_NOT_COVERED:  # category, covered categories
                return f"{a} does not cover the category {f[0]} (it covers {_join(f[1])})"
            case Code.NOT_YET_IN_FORCE:  # from
                return f"{a} comes into force on {f[0]}"
            case Code.ENDED:  # until
                return f"{a} ended on {f[0]}"
            case Code.SUSPENDED:  # lender, home, reason
                return f"{f[0]} has suspended lending to patrons of {f[1]}: {f[2]}"
            case Code.STANDING_UNKNOWN:
                return (
                    f"{a} requires the home library's record of fines, blocks and card expiry, "
                    "and nobody knows it: the patron's sign-in proved membership only"
                )
            case Code.CARD_EXPIRED:  # expiry
                return f"Card expired on {f[0]}; {a} requires a valid card"
            case Code.FINES_OVER_LIMIT:  # fines, limit
                return f"Fines owed {money(f[0])} exceed the limit {money(f[1])} set by {a}"
            case Code.BLOCKING_FLAG:  # flag
                return f"The home library reports {f[0]}, which {a} treats as blocking"
            case Code.MATERIAL_EXCLUDED:  # material
                return f"{a} excludes {f[0]} from reciprocal loans"
            case Code.UNKNOWN_LIBRARY:  # library
                return f"No library {f[0]!r} in the agreements"
            case Code.OWN_LIBRARY:  # library
                return f"{f[0]} patrons borrow at {f[0]} under its own rules, not an agreement"
            case Code.UNKNOWN_CATEGORY:  # category, known categories
                return f"{f[0]!r} is not a hub category (known: {_join(f[1])})"
        raise AssertionError(self.code)  # pragma: no cover - every code is matched above

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "agreement": self.agreement, "message": self.message}


def money(amount: Decimal) -> str:
    """Two decimal places, or more when the amount has them: 10 -> 10.00, 10.001 -> 10.001."""
    try:
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to show in cents
        return f"{amount:f}"
    return f"{cents if cents == amount else amount:f}"


def _join(items: Any) -> str:
    return ", ".join(sorted(items))


@dataclass(slots=True)
class Decision:
    """The answer, carrying its explanation. Treat it as read-only (not frozen only because a
    frozen dataclass costs a microsecond to build, half the budget of a decision).

    ``agreements`` lists every agreement that admitted the patron, the one whose ``terms`` apply
    first; or, when none did, every agreement considered. ``reasons`` is empty when eligible.
    ``decided_at`` is a POSIX timestamp; ``to_dict`` gives it as ISO 8601 UTC.
    """

    eligible: bool
    lender: str
    home_library: str
    patron_category: str
    terms: Terms | None
    agreements: tuple[str, ...]
    reasons: tuple[Reason, ...]
    valid_until: date | None
    decided_at: float = field(default_factory=time, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of docs/eligibility.md, The answer."""
        return {
            "eligible": self.eligible,
            "lender": self.lender,
            "home_library": self.home_library,
            "patron_category": self.patron_category,
            "terms": None if self.terms is None else self.terms.to_dict(),
            "agreements": list(self.agreements),
            "reasons": [r.to_dict() for r in self.reasons],
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "decided_at": datetime.fromtimestamp(self.decided_at, UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
        }
