"""What the eligibility API takes and gives (docs/eligibility.md), as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Terms:
    """What the lender offers the patron."""

    max_items: int
    loan_days: int
    renewals: int = 0
    holds: int = 0
    excluded_material: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Terms:
        """Terms from the ``terms`` object of a decision."""
        return cls(
            max_items=int(data["max_items"]),
            loan_days=int(data["loan_days"]),
            renewals=int(data.get("renewals") or 0),
            holds=int(data.get("holds") or 0),
            excluded_material=[str(m) for m in data.get("excluded_material") or []],
        )


@dataclass(frozen=True)
class Reason:
    """Why a patron is not eligible: a stable ``code``, the agreement it comes from (if any),
    a ``message`` for staff, and ``advice`` for the patron (plain words and what to do next, in
    the language asked for with ``Accept-Language``; empty from a hub that gives none)."""

    code: str
    agreement: str | None
    message: str
    advice: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        """A reason from one item of a decision's ``reasons``."""
        agreement = data.get("agreement")
        return cls(
            code=str(data["code"]),
            agreement=None if agreement is None else str(agreement),
            message=str(data.get("message") or ""),
            advice=str(data.get("advice") or ""),
        )


@dataclass(frozen=True)
class Decision:
    """The hub's answer: may ``lender`` lend to this patron of ``home_library``, on which terms,
    and why (or why not). ``terms`` is ``None`` when not eligible."""

    eligible: bool
    lender: str
    home_library: str
    patron_category: str | None
    terms: Terms | None
    agreements: list[str]
    reasons: list[Reason]
    valid_until: date | None
    decided_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """A decision from the API's JSON. Members this version does not know are ignored."""
        eligible = data["eligible"]
        if not isinstance(eligible, bool):
            raise ValueError(f"'eligible' must be true or false, not {eligible!r}")
        terms, valid_until, category = data.get("terms"), data.get("valid_until"), None
        if data.get("patron_category") is not None:
            category = str(data["patron_category"])
        return cls(
            eligible=eligible,
            lender=str(data["lender"]),
            home_library=str(data["home_library"]),
            patron_category=category,
            terms=None if terms is None else Terms.from_json(terms),
            agreements=[str(a) for a in data.get("agreements") or []],
            reasons=[Reason.from_json(r) for r in data.get("reasons") or []],
            valid_until=None if valid_until is None else date.fromisoformat(valid_until),
            decided_at=datetime.fromisoformat(str(data["decided_at"])),
        )


@dataclass(frozen=True)
class CheckRequest:
    """One question for the eligibility API: a card of a home library, or a patron by the
    ``sub`` this lender received when they signed in; optionally for a kind of material, on a
    day (today at the hub when ``None``)."""

    home_library: str | None = None
    card: str | None = None
    patron: str | None = None
    material: str | None = None
    on: date | str | None = None

    def __post_init__(self) -> None:
        by_card = self.home_library is not None or self.card is not None
        if self.patron is not None and by_card:
            raise ValueError("give either patron, or home_library and card, not both")
        if self.patron is None and (self.home_library is None or self.card is None):
            raise ValueError("give home_library and card (or patron)")

    @classmethod
    def of(cls, value: CheckRequest | Mapping[str, Any]) -> CheckRequest:
        """``value`` itself, or a request built from a mapping with the same keys."""
        return value if isinstance(value, CheckRequest) else cls(**value)

    def to_json(self) -> dict[str, Any]:
        """The request body of ``POST /api/v1/eligibility``."""
        body: dict[str, Any] = (
            {"patron": self.patron}
            if self.patron is not None
            else {"home_library": self.home_library, "card": self.card}
        )
        if self.material is not None:
            body["material"] = self.material
        if self.on is not None:
            body["on"] = self.on.isoformat() if isinstance(self.on, date) else self.on
        return body
