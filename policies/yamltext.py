"""YAML text, parsed safely: ``guarded`` is the one way any text reaches a YAML parser.

Every YAML parser used here (yaml_rs, PyYAML's libyaml, ruamel.yaml) recurses once per level of
nesting; yaml_rs overflows its stack and kills the process at about 15,000 levels of ``- - - x``
(30 kB), and Python code handling deep data meets ``RecursionError``. Agreement files nest at
most ``MODEL_DEPTH`` levels (the file's mapping, a section's list, an entry, its ``terms`` or
``categories``, a list inside those), so ``check`` refuses, before any parser sees the text:

- characters YAML does not allow (NUL and the other control characters, lone surrogates);
- nesting deeper than ``MAX_DEPTH`` levels of block or flow collections.

The depth check is linear and costs a few regular-expression passes over the text. A block
collection whose first entry starts at column ``c`` is at most ``2c + 2`` levels deep (a nested
collection is indented further, except a list under a key, which may share the key's column), and
the first entry of any block collection starts a line, after the line's indentation and any
``-``, ``?`` and ``:`` indicators. Flow nesting is at most the running count of brackets. When
these bounds together exceed ``MAX_DEPTH`` (bracket characters in text, deep indentation), the
text is measured exactly with libyaml's event parser, which keeps its own stack (no recursion)
and stops at its first error.

Aliases are replayed by yaml_rs as copies of their anchor: at most one replayed event per
character of the text (so a "billion laughs" text is refused, not expanded), and an alias inside
an anchor's content may be replayed inside another at most ``REPLAY_DEPTH`` times.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import yaml
import yaml_rs

#: how deep the agreement file format nests (file mapping, section list, entry, a mapping such
#: as ``terms`` or ``categories``, a list such as ``blocking_flags``)
MODEL_DEPTH = 5
#: the deepest nesting any text may have: room for mistakes to be reported as such, far below
#: the depth at which a parser or Python fails (yaml_rs: about 15,000 levels in block style and
#: 300 in flow style; libyaml and Python's recursion limit: 1,000)
MAX_DEPTH = 32
#: how many times an alias inside an anchor may be replayed inside another's replay
REPLAY_DEPTH = 2

T = TypeVar("T")

#: characters YAML 1.2 allows in a stream (c-printable); a lone surrogate is not text at all
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: a line's first ``n`` characters of indentation and block indicators (group 1), in UTF-8
_PREFIXES = [re.compile(rb"\n([ \t?:-]{%d})" % n) for n in range(MAX_DEPTH + 2)]
#: what some YAML parser takes for a line break (``\x85`` and the last two only YAML 1.1)
_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_PAIR = re.compile(rb"[\[{][\]}]")


class YamlRefused(ValueError):
    """The text is not given to a parser; ``line`` and ``column`` (1-based) say where."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def guarded(parse: Callable[[str], T], text: str) -> T:
    """``parse(text)`` once ``check(text)`` has passed; a parser's ``RecursionError`` (which
    ``check`` rules out) is refused the same way."""
    check(text)
    try:
        return parse(text)
    except RecursionError:
        raise YamlRefused(_too_deep(), None, None) from None


def load(text: str) -> Any:
    """Plain data from YAML 1.2 text (yaml_rs: duplicate keys are errors), a leading byte-order
    mark ignored. Raises ``YamlRefused`` or ``yaml_rs.YAMLDecodeError``."""
    limits = yaml_rs.AliasLimits(
        max_total_replayed_events=max(len(text), 10_000), max_replay_stack_depth=REPLAY_DEPTH
    )

    def parse(body: str) -> Any:
        try:
            return yaml_rs.loads(body, alias_limits=limits)
        except yaml_rs.YAMLDecodeError:
            raise
        except TypeError:  # a key Python cannot hash: a mapping, or a list holding one
            raise YamlRefused(
                "a key that is a list or a mapping is not allowed here", *_complex_key(body)
            ) from None

    return guarded(parse, text.removeprefix("\ufeff"))


def events(text: str) -> Iterator[yaml.Event]:
    """PyYAML's events (with line and column marks) for ``text``, from libyaml's parser, which
    keeps its own stack. Raises ``YamlRefused``, and ``yaml.YAMLError`` while iterating."""
    return guarded(_events, text)


def _events(text: str) -> Iterator[yaml.Event]:
    return iter(yaml.parse(text, Loader=yaml.CSafeLoader))


def _complex_key(text: str) -> tuple[int | None, int | None]:
    """Where the first mapping key that is itself a list or mapping starts."""
    frames: list[list[bool]] = []  # per open collection: is it a mapping, is a key next
    try:
        for event in _events(text):
            if isinstance(event, yaml.CollectionEndEvent):
                frames.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            is_key = False
            if frames and frames[-1][0]:
                is_key = frames[-1][1]
                frames[-1][1] = not is_key
            if isinstance(event, yaml.CollectionStartEvent):
                if is_key:
                    return place(event.start_mark)
                frames.append([isinstance(event, yaml.MappingStartEvent), True])
    except yaml.YAMLError:
        pass
    return None, None


def check(text: str) -> None:
    """Raise ``YamlRefused`` when ``text`` must not be given to a YAML parser."""
    if not isinstance(text, str):
        raise YamlRefused(f"expected text, not {type(text).__name__}", None, None)
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        char = bad[0]
        what = (
            "a lone surrogate, not a character" if "\ud800" <= char <= "\udfff" else "not allowed"
        )
        line, column = position(text, bad.start())
        raise YamlRefused(f"character U+{ord(char):04X} is {what} in YAML", line, column)
    data = text.encode()
    for other in _BREAKS:
        if other in text:
            data = data.replace(other.encode(), b"\n")
    if _block_bound(b"\n" + data) + _flow_bound(data) > MAX_DEPTH:
        _measure(text)


def place(mark: Any) -> tuple[int | None, int | None]:
    """The 1-based line and column of a PyYAML mark (libyaml's or PyYAML's own), if any."""
    return (None, None) if mark is None else (mark.line + 1, mark.column + 1)


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _block_bound(data: bytes) -> int:
    """At least the depth of block nesting: ``2c + 2`` for the longest line prefix ``c`` of
    indentation and indicators (up to where the bound passes ``MAX_DEPTH``)."""
    longest = 0
    while 2 * longest + 2 <= MAX_DEPTH:
        found = _PREFIXES[longest + 1].search(data)
        if found is None:
            break
        start, end = found.start(1), found.end(1)
        while end < len(data) and data[end] in b" \t?:-" and end - start < MAX_DEPTH:
            end += 1
        longest = end - start
    return 2 * longest + 2


def _flow_bound(data: bytes) -> int:
    """At least the depth of flow nesting: how many brackets can be open at once, as many as
    rounds of taking out the innermost pairs (an opening bracket and the closing one next to
    it) plus the opening brackets never closed. A bracket inside a scalar or a comment can only
    raise it, except a closing bracket in a quoted scalar inside a flow collection, which the
    parsers' own limits on flow nesting then stop (yaml_rs at a few hundred levels, libyaml at
    1,000)."""
    brackets = data.translate(None, _NOT_BRACKETS)
    rounds = 0
    while rounds <= MAX_DEPTH:
        fewer = _PAIR.sub(b"", brackets)
        if len(fewer) == len(brackets):
            break
        brackets, rounds = fewer, rounds + 1
    return rounds + brackets.count(b"[") + brackets.count(b"{")


def _measure(text: str) -> None:
    """The exact depth, from libyaml's events: refuse past ``MAX_DEPTH`` or at a syntax error."""
    depth = 0
    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        for event in _events(text):
            if isinstance(event, opening):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlRefused(_too_deep(), *place(event.start_mark))
            elif isinstance(event, closing):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "not valid YAML"
        if "nesting depth" in problem:
            problem = _too_deep()
        else:
            problem = f"YAML syntax error: {problem}"
        raise YamlRefused(problem, *place(exc.problem_mark)) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"YAML error: {exc}", None, None) from None


def _too_deep() -> str:
    return (
        f"nested more than {MAX_DEPTH} levels deep (lists and mappings inside each other); "
        f"agreement files need at most {MODEL_DEPTH}"
    )
