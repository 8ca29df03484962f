"""The field types that the models of the agreement file format (``policies.model``) share:
identifiers, names, patron status flags, money, counts and dates, each with its checks, and
``Strict``, the base of every model (unknown keys are errors, types are strict)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)
from pydantic_core import PydanticKnownError

#: The patron status flags (docs/agreements.md): the 14 SIP2 patron status flags, in SIP2 order,
#: plus ``blocked`` for a manual block in the hub's own registry.
Flag = Literal[
    "charge_denied",
    "renewal_denied",
    "recall_denied",
    "hold_denied",
    "card_lost",
    "too_many_charged",
    "too_many_overdue",
    "too_many_renewals",
    "too_many_claims_returned",
    "too_many_lost",
    "excessive_fines",
    "excessive_fees",
    "recall_overdue",
    "too_many_billed",
    "blocked",
]
FLAGS: tuple[str, ...] = get_args(Flag)

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
#: Library, agreement and hub-category identifiers: lower-case letters, digits, ``.``, ``_``, ``-``.
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
#: The longest strings an entry may hold, in characters. A name is shown on every sign-in page.
TEXT_MAX = 200
REASON_MAX = 1000
CODE_MAX = 64
#: Names, a SIP2 institution and user: at most TEXT_MAX characters, surrounding spaces dropped.
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX, strip_whitespace=True)]


T = TypeVar("T")


def no_duplicates(items: tuple[T, ...]) -> tuple[T, ...]:
    if len(set(items)) == len(items):
        return items
    seen: set[T] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"{item!r} is listed twice")
        seen.add(item)
    return items


def _money(value: object) -> object:
    """Read YAML numbers as decimals: ``10.10`` is 10.10, not the float nearest to it. (The YAML
    parser reads a number into a float first, so the number is read to 15 significant digits;
    ``Money`` allows cents only, which such a float always carries exactly.)"""
    if isinstance(value, bool):
        return value  # refused by the strict Decimal type
    if isinstance(value, int | float):
        return Decimal(repr(value))
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            raise ValueError(f"money is written like 10.50, not {value!r}")
        return Decimal(value)
    return value


def _cents(value: Decimal) -> Decimal:
    """At most 11 digits, 2 of them after the point: pydantic's ``max_digits=11,
    decimal_places=2`` with its errors, done in one pass (pydantic runs two Python validators,
    each taking the decimal apart again)."""
    sign_digits_exponent = value.as_tuple()
    exponent = sign_digits_exponent.exponent
    if value.adjusted() < 9 and isinstance(exponent, int) and exponent >= -2:
        return value  # the usual amount: at most 9 whole digits and 2 places
    # as pydantic counts: a value fails a limit only if it fails it also without trailing zeros
    digits = sign_digits_exponent.digits
    assert isinstance(exponent, int)  # finite: checked before (allow_inf_nan=False)
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    raw = _places_and_digits(len(digits), exponent)
    normal = (
        (0, 1)
        if zeros == len(digits)
        else _places_and_digits(len(digits) - zeros, exponent + zeros)
    )
    if raw[1] > 11 and normal[1] > 11:
        raise PydanticKnownError("decimal_max_digits", {"max_digits": 11})
    if raw[0] > 2 and normal[0] > 2:
        raise PydanticKnownError("decimal_max_places", {"decimal_places": 2})
    if raw[1] - raw[0] > 9 and normal[1] - normal[0] > 9:
        raise PydanticKnownError("decimal_whole_digits", {"whole_digits": 9})
    return value


def _places_and_digits(count: int, exponent: int) -> tuple[int, int]:
    if exponent >= 0:
        return 0, count + exponent
    return -exponent, max(count, -exponent)


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?")


def _domain(value: str) -> str:
    """A DNS name in lower case (``student.rmit.edu.au``), at least two labels."""
    if len(value) <= 253 and _DOMAIN.fullmatch(value):
        return value
    if value != value.lower() and _DOMAIN.fullmatch(value.lower()):
        raise ValueError(f"{value!r}: write domain names in lower case ({value.lower()!r})")
    raise ValueError(
        f"{value[:80]!r} is not a domain name like rmit.edu.au (letters, digits and hyphens, "
        "lower case, two labels or more; an internationalised name in its xn-- form)"
    )


Ids = Annotated[tuple[Id, ...], AfterValidator(no_duplicates)]
#: the domains of a library's patrons' email addresses (``Library.domains``)
Domains = Annotated[
    tuple[Annotated[StrictStr, AfterValidator(_domain)], ...], AfterValidator(no_duplicates)
]
Flags = Annotated[tuple[Flag, ...], AfterValidator(no_duplicates)]
#: Material names: the same lower-case identifiers as ids, so that "AV" cannot slip past "av".
Materials = Annotated[tuple[Id, ...], AfterValidator(no_duplicates)]
Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    Field(ge=0, allow_inf_nan=False),
    AfterValidator(_cents),
]
Count = Annotated[StrictInt, Field(ge=0)]
#: A date written as a YAML date (``2026-03-01``), not a number or a quoted string.
Day = Annotated[date, Field(strict=True)]


class Strict(BaseModel):
    """Unknown keys are errors; integers and booleans must be written as such (see Count, Day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
