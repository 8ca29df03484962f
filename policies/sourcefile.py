"""One agreement file read into models: its YAML 1.2 text parsed (through ``policies.yamltext``,
which refuses what could crash a parser), every string in Unicode NFC, each library and agreement
validated by pydantic, and its problems collected by path, placed at a line and column (by
``policies.placing``) only when they are listed.

Every string of a file, keys and values, is read in Unicode NFC (docs/agreements.md), so a category
code or name written decomposed (NFD, as some editors and ILS exports do) is the same text as
one written composed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml_rs
from pydantic import ValidationError

from policies import placing
from policies.agreements import AnyAgreement
from policies.errors import Problem
from policies.messages import data_path, label, message_for, unknown_key
from policies.model import AGREEMENT, FILE_KEYS, LIBRARY, NETWORK, SECTIONS, Library, Network
from policies.placing import Place, Wanted
from policies.validate import Path as ItemPath
from policies.yamltext import YamlRefused, position
from policies.yamltext import load as load_yaml

#: a YAML escape that can stand for a character outside ASCII (``"\\u0301"``)
_ESCAPE = re.compile(r"\\[xuUNLP_]")
#: ``max_fines: 9.999`` as written: the YAML parser turns numbers into floats, rounding away
#: digits past the 15th, so over-precise money is caught in the text itself. (No ``\b`` in
#: front: it would make the regex engine try every position of the text, 20 times slower on a
#: large file; ``_money_literals`` checks that boundary itself.)
_MONEY_LITERAL = re.compile(r"max_fines[ \t]*:[ \t]*[-+]?[0-9][0-9_]*\.([0-9_]*[0-9])\b")


class Unreadable(str):
    """Text standing for a file that could not be read; ``parse`` reports ``reason``."""

    reason: str

    def __new__(cls, reason: str) -> Unreadable:
        self = super().__new__(cls, "")
        self.reason = reason
        return self


def _money_literals(text: str) -> Iterator[re.Match[str]]:
    """``max_fines: 1.234`` where ``max_fines`` is a word of its own (not ``my_max_fines``)."""
    for literal in _MONEY_LITERAL.finditer(text):
        start = literal.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            yield literal


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


@dataclass
class SourceFile:
    name: str
    text: str
    #: the sections' lists as parsed, in the file's order
    sections: list[tuple[str, list[Any]]] = field(default_factory=list)
    libraries: list[tuple[int, Library]] = field(default_factory=list)
    agreements: list[tuple[int, AnyAgreement]] = field(default_factory=list)
    #: the file's ``network`` section, as written (validated into ``network``)
    network_data: Any = None
    network: Network | None = None
    invalid_library_ids: set[str] = field(default_factory=set)
    invalid_library_categories: set[str] = field(default_factory=set)
    #: problems placed already (syntax, money literals), and those known by their path
    problems: list[Problem] = field(default_factory=list)
    pending: list[tuple[ItemPath, bool, str]] = field(default_factory=list)
    _keys: dict[str, int] = field(default_factory=dict)  # top-level key -> its rank

    def parse(self) -> None:
        if isinstance(self.text, Unreadable):
            self.problems.append(Problem(self.name, None, None, self.text.reason))
            return
        try:
            data = load_yaml(self.text)
        except YamlRefused as exc:
            self.problems.append(Problem(self.name, exc.line, exc.column, exc.message))
            return
        except yaml_rs.YAMLDecodeError as exc:
            self._syntax_problem(str(exc))
            return
        for literal in _money_literals(self.text):
            if len(literal[1].replace("_", "")) > 2:
                line, column = position(self.text, literal.start())
                self.problems.append(
                    Problem(
                        self.name, line, column, "max_fines: money has at most 2 decimal places"
                    )
                )
        if data is None:
            data = {}
        if not unicodedata.is_normalized("NFC", self.text) or _ESCAPE.search(self.text):
            self._normalise(data)  # else no string can change
        if not isinstance(data, dict):
            self.problem((), "expected a mapping with 'libraries' and/or 'agreements' at the top")
            return
        self._keys = {str(key): rank for rank, key in enumerate(data)}
        if not data.get("libraries") and not data.get("agreements") and "network" not in data:
            self.problem((), "no libraries or agreements in this file")
        for key in data:
            if key not in FILE_KEYS:
                self.problem((key,), unknown_key(key, FILE_KEYS), at_key=True)
        if "network" in data:
            self.network_data = data["network"]
        for section in SECTIONS:
            items = data.get(section)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problem((section,), f"{section} must be a list")
                continue
            self.sections.append((section, items))
        self.sections.sort(key=lambda pair: self._keys[pair[0]])

    def validate(self) -> None:
        if self.network_data is not None:
            try:
                self.network = NETWORK.validate_python(self.network_data)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    path, at_key = data_path(self.network_data, error["loc"])
                    message = message_for("network", self.network_data, path, error)
                    where = ".".join(str(p) for p in path)
                    self.problem(
                        ("network", *path),
                        f"network: {where + ': ' if where else ''}{message}",
                        at_key=at_key or error["type"] == "extra_forbidden",
                    )
        for section, items in self.sections:
            for index, item in enumerate(items):
                self._validate(section, index, item)

    def _validate(self, section: str, index: int, item: Any) -> None:
        try:
            if section == "libraries":
                self.libraries.append((index, LIBRARY.validate_python(item)))
            else:
                self.agreements.append((index, AGREEMENT.validate_python(item)))
            return
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        if section == "libraries" and isinstance(item, dict):
            if isinstance(item.get("id"), str):
                self.invalid_library_ids.add(item["id"])
            if isinstance(item.get("categories"), dict):
                self.invalid_library_categories.update(
                    v for v in item["categories"].values() if isinstance(v, str)
                )
        for error in errors:
            path, at_key = data_path(item, error["loc"])
            message = message_for(section, item, path, error)
            where = ".".join(str(p) for p in path)
            self.problem(
                (section, index, *path),
                f"{label(section, item)}: {where + ': ' if where else ''}{message}",
                at_key=at_key or error["type"] == "extra_forbidden",
            )

    def _normalise(self, data: Any) -> None:
        """Every string in ``data`` (keys too) in NFC, in place; two keys of one mapping that
        are the same text once normalised are a problem, as any repeated key is."""
        stack: list[tuple[Any, ItemPath]] = [(data, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, dict):
                if not all(k.isascii() for k in node if isinstance(k, str)):
                    items = list(node.items())
                    node.clear()
                    for key, value in items:
                        key = _nfc(key)
                        if key in node:
                            self.problem((*path, key), f"key {key!r} appears twice in one mapping",
                                         at_key=True)  # fmt: skip
                        node[key] = value
                for key, value in node.items():
                    if isinstance(value, str):
                        if not value.isascii():
                            node[key] = _nfc(value)
                    elif isinstance(value, dict | list):
                        stack.append((value, (*path, key)))
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    if isinstance(value, str):
                        if not value.isascii():
                            node[index] = _nfc(value)
                    elif isinstance(value, dict | list):
                        stack.append((value, (*path, index)))

    def problem(self, path: ItemPath, message: str, *, at_key: bool = False) -> None:
        """A problem at ``path``, placed (given a line) only if it is among those listed."""
        self.pending.append((path, at_key, message))

    def first_problems(self, most: int) -> list[Problem]:
        """The file's first ``most`` problems by position: the first ``most`` of those placed
        already and of those known by path (in the order of the data, which is the file's),
        merged."""
        pending = sorted(self.pending, key=lambda p: self._order(p[0]))[:most]
        marks = self.locate([(path, at_key) for path, at_key, _ in pending])
        placed = [
            Problem(self.name, *marks[(path, at_key)], message) for path, at_key, message in pending
        ]
        return sorted([*sorted(self.problems, key=_by_position)[:most], *placed], key=_by_position)[
            :most
        ]

    def _order(self, path: ItemPath) -> tuple[int, int]:
        if not path:
            return (-1, -1)
        rank = self._keys.get(str(path[0]), len(self._keys))
        return (rank, path[1] if len(path) > 1 and isinstance(path[1], int) else -1)

    # --- locating ---------------------------------------------------------------------------

    def locate(self, wanted: list[Wanted]) -> dict[Wanted, Place]:
        return placing.locate(self.text, wanted)

    def _syntax_problem(self, message: str) -> None:
        first = message.splitlines()[0]
        if "duplicate" in first:
            duplicate = placing.duplicate_key(self.text)
            if duplicate is not None:
                key, (line, column) = duplicate
                message = f"key {key!r} appears twice in one mapping"
                self.problems.append(Problem(self.name, line, column, message))
                return
        found = re.search(r"line (\d+), column (\d+)", first)
        detail = message.splitlines()[-1].strip() if "\n" in message else first
        if found:
            self.problems.append(
                Problem(self.name, int(found[1]), int(found[2]), f"YAML syntax error: {detail}")
            )
        else:
            self.problems.append(Problem(self.name, None, None, f"YAML error: {first}"))


def _by_position(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)
