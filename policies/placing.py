"""Where things are in YAML text: the line and column of a value by its path, and of the first
key that appears twice in a mapping, read from libyaml's events (which carry line and column)
one at a time, never as a tree of nodes: a large file costs no memory to place its problems,
and the reading stops once they are placed. Paths are the loader's (``("agreements", 3,
"terms", "loan_days")``); their parts are compared as text, as a mapping's keys are, in Unicode
NFC as the loader reads them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import yaml

from policies.validate import Path as ItemPath
from policies.yamltext import YamlRefused, events, place

Wanted = tuple[ItemPath, bool]  # a path, and whether it points at the key itself
Place = tuple[int | None, int | None]


def locate(text: str, wanted: list[Wanted]) -> dict[Wanted, Place]:
    """Line and column (1-based) in ``text`` of the value at each wanted path, or of its key,
    or of the deepest node on the way there when the path does not exist (a missing key: its
    parent). One pass over the text's events, stopping once every one is placed."""
    marks: dict[Wanted, Place] = dict.fromkeys(wanted, (None, None))
    if not wanted:
        return marks
    # every prefix of a wanted path (parts as text: a mapping's keys are matched as text)
    waiting: dict[tuple[str, ...], list[Wanted]] = {}
    for want in marks:
        parts = tuple(str(part) for part in want[0])
        for n in range(len(parts) + 1):
            waiting.setdefault(parts[:n], []).append(want)
    open_ = set(marks)
    stack: list[_Frame] = []
    try:
        for event in events(text):
            if isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                if frame.path is not None:  # nothing deeper can be found below it now
                    open_.difference_update(waiting.get(frame.path, ()))
                if not open_:
                    break
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            path = _child_path(stack, event)
            mark = place(event.start_mark)
            if path is not None and path[1]:  # a mapping's key
                for want in waiting.get(path[0], ()):
                    if want[1] and len(want[0]) == len(path[0]) and want in open_:
                        marks[want] = mark
                        open_.discard(want)
            elif path is not None:
                for want in waiting.get(path[0], ()):
                    if want in open_:
                        marks[want] = mark
                        if len(want[0]) == len(path[0]) or not isinstance(
                            event, yaml.CollectionStartEvent
                        ):
                            open_.discard(want)
            if isinstance(event, yaml.CollectionStartEvent):
                inside = path[0] if path is not None and not path[1] else None
                stack.append(_Frame(isinstance(event, yaml.MappingStartEvent), inside))
            if not open_:
                break
    except (YamlRefused, yaml.YAMLError):
        pass  # placed as far as the events went
    return marks


def duplicate_key(text: str) -> tuple[str, Place] | None:
    """The first key that appears twice in one mapping of ``text``, and where it is."""
    stack: list[_Frame] = []
    try:
        for event in events(text):
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            parent = stack[-1] if stack else None
            if parent is not None and parent.mapping and parent.expect_key:
                if isinstance(event, yaml.ScalarEvent):
                    key = _nfc(event.value)
                    if key in parent.seen:
                        return key, place(event.start_mark)
                    parent.seen.add(key)
            _child_path(stack, event)
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append(_Frame(isinstance(event, yaml.MappingStartEvent), None))
    except (YamlRefused, yaml.YAMLError):
        pass
    return None


@dataclass
class _Frame:
    """An open collection while reading events: its path (parts as text; None: unreachable by a
    path, under a key that is not a scalar), and where in it the next node goes."""

    mapping: bool
    path: tuple[str, ...] | None
    expect_key: bool = True
    key: str | None = None
    index: int = 0
    seen: set[str] = field(default_factory=set)


def _child_path(stack: list[_Frame], event: yaml.NodeEvent) -> tuple[tuple[str, ...], bool] | None:
    """The path of the node ``event`` starts, and whether it is a mapping's key; the parent
    frame moves on past it."""
    if not stack:
        return (), False
    parent = stack[-1]
    if not parent.mapping:
        parent.index += 1
        return None if parent.path is None else ((*parent.path, str(parent.index - 1)), False)
    if parent.expect_key:
        parent.expect_key = False
        parent.key = _nfc(event.value) if isinstance(event, yaml.ScalarEvent) else None
        if parent.path is None or parent.key is None:
            return None
        return (*parent.path, parent.key), True
    parent.expect_key = True
    if parent.path is None or parent.key is None:
        return None
    return (*parent.path, parent.key), False


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
