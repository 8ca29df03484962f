"""An agreement's status on a day, as the lists show it: ``in force``, ``not yet`` (it starts
later), ``ended``, or ``suspended`` (in force, but a suspension in force by one of its lenders
covers some of its borrowers). Read from the entries as written (``entries.Entry.data``).

A library's status on a day (``of_library``): ``suspended`` (a suspension in force stops a
lender lending to its patrons), ``active`` (party to a lending agreement in force), or ``no
agreement`` (party to none)."""

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


def of_library(library: str, every: Iterable[dict[str, Any]], on: date) -> Status:
    """The status on ``on`` of the library ``library``, among ``every`` agreement of the set;
    the detail names the suspensions in force that name it, either way."""
    now = [a for a in every if of(a, (), on).name == "in force"]
    suspensions = [a for a in now if a.get("kind") == "suspension"]
    cut = [
        f"{s.get('lender')} suspends its {_whom(s)}"
        for s in suspensions
        if library in _borrowers(s)
    ]
    cutting = [
        f"suspends {', '.join(sorted(_borrowers(s)))}"
        for s in suspensions
        if s.get("lender") == library
    ]
    detail = "; ".join(sorted(cut) + sorted(cutting))
    if cut:
        return Status("suspended", detail)
    lending = [a for a in now if a.get("kind") != "suspension"]
    if not any(library in set().union(*_lenders_and_borrowers(a)) for a in lending):
        return Status("no agreement", detail)
    return Status("active", detail)


def _whom(suspension: dict[str, Any]) -> str:
    categories = [str(c) for c in suspension.get("categories") or ()]
    return f"{' and '.join(categories)} patrons" if categories else "patrons"


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
