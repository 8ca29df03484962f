"""One entry (a library or an agreement) of an agreement set, read from the set's files.

An entry is an item with an ``id`` under ``libraries:`` or ``agreements:`` of one file, read as
``yaml_rs`` (the loader's parser) reads it: ``entries`` lists a section's entries in load order,
``find`` gives one by id. An administrator edits one entry at a time as a "mini file"
(``identity.agreements.minifile``), spliced back into its file in place
(``identity.agreements.edits``, with ``identity.agreements.layout`` saying where its lines are);
what cannot be made raises ``EntryRefused``, whose ``problem`` reads like a loader's under the file
name ``EDITED``. ``jsonable`` gives an entry as plain JSON, the same however it was written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

import yaml_rs

from policies import yamltext
from policies.errors import Problem

Section = Literal["libraries", "agreements"]
Kind = Literal["consortium", "bilateral", "suspension"]
SECTIONS: tuple[Section, ...] = get_args(Section)
KINDS: tuple[Kind, ...] = get_args(Kind)
#: the file name under which the textarea's text is validated
EDITED = "your change"

Files = Sequence[tuple[str, str]]


class EntryRefused(ValueError):
    """The edit cannot be made; ``line``/``column`` (1-based) point into the textarea when the
    reason is there. ``problem`` is the same as a loader ``Problem`` of the file ``EDITED``."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    @property
    def problem(self) -> Problem:
        return Problem(EDITED, self.line, self.column, self.message)


@dataclass(frozen=True)
class Entry:
    """One library or agreement of the set, as ``yaml_rs`` (the loader's parser) reads it."""

    section: Section
    id: str
    file: str  # the name of the file that holds it
    data: dict[str, Any]


def entries(files: Files, section: Section) -> list[Entry]:
    """Every entry of ``section`` that has an id, in load order. Unreadable files are skipped
    (the loader reports them)."""
    found: list[Entry] = []
    for name, text in files:
        for item in items_of(parsed(text), section):
            found.append(Entry(section, item["id"], name, item))
    return found


def find(files: Files, section: Section, entry_id: str) -> Entry | None:
    """The entry of ``section`` with id ``entry_id``, or None."""
    return next((e for e in entries(files, section) if e.id == entry_id), None)


def parsed(text: str) -> Any:
    """A file's text as the loader reads it, or None when it does not parse."""
    try:
        return yamltext.load(text)
    except (yamltext.YamlRefused, yaml_rs.YAMLDecodeError):
        return None


def items_of(data: Any, section: Section) -> list[dict[str, Any]]:
    """The items of ``section`` in a parsed file that have an id."""
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]


def section_of(name: str) -> Section:
    """A stored section name (a proposal's) as a ``Section``."""
    if name == "libraries":
        return "libraries"
    return "agreements"


def singular(section: str) -> str:
    return "library" if section == "libraries" else "agreement"


def jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Plain JSON (dates as ISO strings), the same for the same entry however it was written."""
    if data is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=_iso, sort_keys=True))
    return loaded


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
