"""An audit event's before and after, as an administrator reads them: the fields that changed,
and a unified diff of the two as YAML (keys sorted, so only what changed differs)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

#: lines of context around each change
CONTEXT = 2
#: changed fields named in an event's summary; the rest are counted
NAMED = 4


@dataclass(frozen=True)
class Line:
    #: ``add``, ``del``, ``same`` or ``hunk`` (the ``@@`` line starting a part)
    kind: str
    text: str


@dataclass(frozen=True)
class Change:
    """What one event changed: ``fields`` (dotted paths of the values that differ) and
    ``lines`` (the diff)."""

    fields: list[str]
    lines: list[Line]

    @property
    def summary(self) -> str:
        if not self.fields:
            return "no change"
        named = ", ".join(self.fields[:NAMED])
        more = len(self.fields) - NAMED
        return named + (f" and {more} more" if more > 0 else "")


def change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> Change:
    return Change(changed_fields(before, after), diff(before, after))


def as_yaml(value: dict[str, Any] | None) -> list[str]:
    if value is None:
        return []
    text = yaml.safe_dump(value, sort_keys=True, allow_unicode=True, default_flow_style=False,
                          width=88)  # fmt: skip
    return text.splitlines()


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Line]:
    """The unified diff of ``before`` into ``after`` as YAML, without its file header; all
    added when there was nothing before, all removed when nothing is left."""
    old, new = as_yaml(before), as_yaml(after)
    if not old or not new:
        kind = "add" if new else "del"
        return [Line(kind, line) for line in (new or old)]
    lines = []
    for text in list(difflib.unified_diff(old, new, lineterm="", n=CONTEXT))[2:]:
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(text[:1], "same")
        lines.append(Line(kind, text if kind == "hunk" else text[1:]))
    return lines


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The dotted paths (``entry.terms.max_items``) whose values differ, in order."""
    old, new = _leaves(before or {}), _leaves(after or {})
    return [path for path in sorted({*old, *new}) if old.get(path, _NONE) != new.get(path, _NONE)]


_NONE = object()


def _leaves(value: dict[str, Any], at: str = "") -> dict[str, object]:
    found: dict[str, object] = {}
    for key, item in value.items():
        path = f"{at}{key}"
        if isinstance(item, dict) and item:
            found.update(_leaves(item, f"{path}."))
        else:
            found[path] = item
    return found
