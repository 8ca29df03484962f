"""Field types the JSON APIs share, so that each is read the same way everywhere."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _full_date(value: object) -> object:
    """Only RFC 3339 ``full-date`` text, as the document's ``format: date`` says: pydantic alone
    would read a number, or text such as ``0``, as seconds since 1970."""
    if isinstance(value, date):  # a default, or a caller in Python
        return value
    if not isinstance(value, str) or not FULL_DATE.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD, e.g. 2026-11-22")
    return value


#: a day, written YYYY-MM-DD (in a JSON body or a query)
Day = Annotated[date, BeforeValidator(_full_date)]
