"""A library's ``card_pattern`` (docs/agreements.md): the regular expression its cards match.

Patterns are RE2 (Google's linear-time engine, the syntax of Go and of Python's ``re`` less
look-around and back-references): a card is matched in time proportional to its length, so no
pattern an administrator writes (``(a+)+b`` included) can make one sign-in hold a thread. A
pattern is at most ``MAX_PATTERN`` characters and compiles within ``MAX_PATTERN_MEMORY`` bytes;
``\\d`` and ``\\w`` mean ASCII digits and word characters. The whole card must match
(``fullmatch``), with or without ``^`` and ``$``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN = 200  # characters
MAX_PATTERN_MEMORY = 1 << 20  # bytes for the compiled pattern

#: a pattern that admits only ASCII digits: ``[0-9]``, ``\d``, digits, counts, groups, anchors
_DIGITS_ONLY = re2.compile(r"\^?(?:[0-9]|\\d|\[0-9\]|\{[0-9]+(?:,[0-9]*)?\}|[+*?()|])+\$?")


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a card pattern the hub can use, else ``ValueError`` saying why."""
    if not pattern:
        raise ValueError("card_pattern is empty: leave it out to take any card")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"card_pattern is longer than {MAX_PATTERN} characters")
    _compiled(pattern)
    return pattern


def fits(pattern: str, card: str) -> bool:
    """Whether the whole of ``card`` matches ``pattern`` (one checked by ``check_pattern``)."""
    return _compiled(pattern).fullmatch(card) is not None


def digits_only(pattern: str | None) -> bool:
    """Whether every card ``pattern`` admits is ASCII digits (so a numeric keyboard fits). A
    pattern written another way (``[[:digit:]]``) is taken as admitting more: a text keyboard
    types digits too."""
    return pattern is not None and _DIGITS_ONLY.fullmatch(pattern) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not a regular expression"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(
            f"card_pattern is not a regular expression the hub can use: {reason}"
        ) from None
