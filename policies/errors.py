"""Errors raised by the policies package.

    PolicyError
     └── InvalidAgreements      one or more problems in agreement files or data (``.problems``)

Deciding never raises: an unknown library or category is a "not eligible" decision with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the agreements, located as precisely as the input allows."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class PolicyError(Exception):
    """Base class of every error the policies package raises."""


class InvalidAgreements(PolicyError):
    """The agreements could not be loaded; ``problems`` lists the problems found, in file order,
    ending with "and N more problems" when ``more`` were found past those listed."""

    def __init__(self, problems: list[Problem], *, more: int = 0) -> None:
        self.more = more
        if more:
            last = problems[-1].file if problems else "<none>"
            plural = "s" if more != 1 else ""
            problems = [
                *problems,
                Problem(last, None, None, f"and {more:,} more problem{plural}, not listed"),
            ]
        self.problems = problems
        #: how many problems were found, listed or not
        self.count = count = len(problems) - (1 if more else 0) + more
        summary = "\n".join(str(p) for p in problems[:20])
        rest = f"\n… and {count - 20} more" if count > 20 else ""
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the agreements:\n{summary}{rest}"
        )
