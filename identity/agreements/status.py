"""An agreement's status on a day, as the lists show it: ``in force``, ``not yet`` (it starts
later), ``ended``, or ``suspended`` (in force, but a suspension in force by one of its lenders
covers some of its borrowers). Read from the entries as written (``entries.Entry.data``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Status:
    #: in force, not yet, ended or suspended
    name: str
    #: what it means here, in words ("from 2027-01-01", "monash suspends rmit")
    detail: str = ""


def of(data: dict[str, Any], every: Iterable[dict[str, Any]], on: date) -> Status:
    """The status on ``on`` of the agreement ``data``, among ``every`` agreement of the set."""
    start, end = _day(data, "from"), _day(data, "until")
    if start is not None and on < start:
        return Status("not yet", f"from {start}")
    if end is not None and end < on:
        return Status("ended", f"on {end}")
    if data.get("kind") == "suspension":
        return Status("in force", f"until {end}" if end else "")
    lenders, borrowers = _lenders_and_borrowers(data)
    cut = sorted(
        f"{s.get('lender')} suspends {', '.join(sorted(borrowers & _borrowers(s)))}"
        for s in every
        if s.get("kind") == "suspension"
        and s.get("lender") in lenders
        and borrowers & _borrowers(s)
        and of(s, (), on).name == "in force"
    )
    if cut:
        return Status("suspended", "; ".join(cut))
    return Status("in force", f"until {end}" if end else "")


def _borrowers(data: dict[str, Any]) -> set[str]:
    return {str(b) for b in data.get("borrowers_from") or ()}


def _lenders_and_borrowers(data: dict[str, Any]) -> tuple[set[str], set[str]]:
    if data.get("kind") == "consortium":
        members = {str(m) for m in data.get("members") or ()}
        return members, members
    return {str(data.get("lender"))}, _borrowers(data)


def _day(data: dict[str, Any], key: str) -> date | None:
    value = (data.get("effective") or {}).get(key)
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
