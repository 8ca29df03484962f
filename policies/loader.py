"""Reading agreement files: YAML 1.2 into validated models, every problem located by file and line.

Valid files take the fast path: ``yaml_rs`` (a Rust YAML 1.2 parser that refuses duplicate keys)
builds plain data, pydantic validates each library and agreement, ``check`` cross-checks the set.
Only when something is wrong is the file composed a second time with PyYAML, whose nodes keep their
marks, to turn each problem's path into a line and column.

Every string of a file, keys and values, is read in Unicode NFC (SPEC section 6), so a category
code or name written decomposed (NFD, as some editors and ILS exports do) is the same text as
one written composed.
"""

from __future__ import annotations

import difflib
import gc
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml_rs
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from policies.agreements import Agreements, AnyAgreement
from policies.errors import InvalidAgreements, Problem
from policies.model import (
    AGREEMENT,
    FILE_KEYS,
    FLAGS,
    LIBRARY,
    Bilateral,
    Consortium,
    Effective,
    Library,
    RegistryConnector,
    Sip2Connector,
    Standing,
    Suspension,
    Terms,
)
from policies.validate import Path as ItemPath
from policies.validate import check

SUFFIXES = (".yaml", ".yml")
#: ``max_fines: 9.999`` as written: the YAML parser turns numbers into floats, rounding away
#: digits past the 15th, so over-precise money is caught in the text itself. (No ``\b`` in
#: front: it would make the regex engine try every position of the text, 20 times slower on a
#: large file; ``_money_literals`` checks that boundary itself.)
#: a YAML escape that can stand for a character outside ASCII (``"\\u0301"``)
_ESCAPE = re.compile(r"\\[xuUNLP_]")
_MONEY_LITERAL = re.compile(r"max_fines[ \t]*:[ \t]*[-+]?[0-9][0-9_]*\.([0-9_]*[0-9])\b")


def load(*paths: str | Path) -> Agreements:
    """Load agreement files (or every ``*.yaml``/``*.yml`` in a directory) as one set.

    Raises ``InvalidAgreements`` listing every problem, each with file, line and column.
    """
    return load_sources(read(*paths))


def load_sources(sources: Iterable[tuple[str, str]]) -> Agreements:
    """Load ``(name, yaml_text)`` pairs as one set, as ``load`` does with files."""
    files = [_File(name, text) for name, text in sources]
    if not files:
        raise InvalidAgreements([Problem("<none>", None, None, "no agreement files given")])
    with _gc_paused():
        for f in files:
            f.parse()
        libraries = [(f, i, lib) for f in files for i, lib in f.libraries]
        agreements = [(f, i, a) for f in files for i, a in f.agreements]
        issues = check(
            [lib for _, _, lib in libraries],
            [a for _, _, a in agreements],
            also_known_libraries={x for f in files for x in f.invalid_library_ids},
            also_known_categories={x for f in files for x in f.invalid_library_categories},
        )
        for issue in issues:
            owner, index, item = (libraries if issue.section == "libraries" else agreements)[
                issue.index
            ]
            owner.problem(
                (issue.section, index, *issue.path),
                f"{_label(issue.section, item)}: {issue.message}",
            )
        problems = [p for f in files for p in sorted(f.problems, key=_by_position)]
        if problems:
            raise InvalidAgreements(problems)
        return Agreements(
            [lib for _, _, lib in libraries],
            [a for _, _, a in agreements],
            sources={a.id: f.name for f, _, a in agreements},
            checked=True,
        )


def read(*paths: str | Path) -> list[tuple[str, str]]:
    """The ``(name, text)`` sources that ``load`` reads: each file, and every ``*.yaml``/``*.yml``
    in each directory, sorted. A file that cannot be read becomes a source that
    ``load_sources`` reports as a problem, so reading never raises."""
    return list(_read(paths))


def _read(paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield _read_file(path)
            continue
        found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        if not found:
            yield str(path), _Unreadable("no *.yaml or *.yml files in this directory")
        yield from (_read_file(p) for p in found)


def _read_file(path: Path) -> tuple[str, str]:
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the first key
        return str(path), path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return str(path), _Unreadable(f"cannot read: {exc}")


class _Unreadable(str):
    """Text standing for a file that could not be read; ``parse`` reports ``reason``."""

    reason: str

    def __new__(cls, reason: str) -> _Unreadable:
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of small containers make the cyclic collector run over and over; none are cyclic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _File:
    name: str
    text: str
    libraries: list[tuple[int, Library]] = field(default_factory=list)
    agreements: list[tuple[int, AnyAgreement]] = field(default_factory=list)
    invalid_library_ids: set[str] = field(default_factory=set)
    invalid_library_categories: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    _root: yaml.Node | None | bool = False  # False: not composed yet

    def parse(self) -> None:
        if isinstance(self.text, _Unreadable):
            self.problems.append(Problem(self.name, None, None, self.text.reason))
            return
        try:
            data = yaml_rs.loads(self.text.removeprefix("\ufeff"))
        except yaml_rs.YAMLDecodeError as exc:
            self._syntax_problem(str(exc))
            return
        for literal in _money_literals(self.text):
            if len(literal[1].replace("_", "")) > 2:
                line = self.text.count("\n", 0, literal.start()) + 1
                column = literal.start() - self.text.rfind("\n", 0, literal.start())
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
        if not data.get("libraries") and not data.get("agreements"):
            self.problem((), "no libraries or agreements in this file")
        for key in data:
            if key not in FILE_KEYS:
                self.problem((key,), _unknown_key(key, FILE_KEYS), at_key=True)
        for section in FILE_KEYS:
            items = data.get(section)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problem((section,), f"{section} must be a list")
                continue
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
            path, at_key = _data_path(item, error["loc"])
            message = _message(section, item, path, error)
            where = ".".join(str(p) for p in path)
            self.problem(
                (section, index, *path),
                f"{_label(section, item)}: {where + ': ' if where else ''}{message}",
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
        line, column = self._locate(path, at_key)
        self.problems.append(Problem(self.name, line, column, message))

    # --- locating ---------------------------------------------------------------------------

    def _compose(self) -> yaml.Node | None:
        if self._root is False:
            try:
                self._root = yaml.compose(self.text, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                self._root = None
        assert self._root is not True
        return self._root

    def _locate(self, path: ItemPath, at_key: bool) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at ``path``, or of its key, or of the deepest
        node on the way there when the path does not exist (a missing key: its parent)."""
        node = self._compose()
        if node is None:
            return None, None
        mark = node.start_mark
        for position, part in enumerate(path):
            last = position == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if _nfc(k.value) == str(part)), None)
                if pair is None:
                    break
                mark = (pair[0] if last and at_key else pair[1]).start_mark
                node = pair[1]
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and part < len(node.value)
            ):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1

    def _syntax_problem(self, message: str) -> None:
        first = message.splitlines()[0]
        if "duplicate" in first:
            duplicate = self._find_duplicate_key()
            if duplicate is not None:
                key, mark = duplicate
                self.problems.append(
                    Problem(
                        self.name,
                        mark.line + 1,
                        mark.column + 1,
                        f"key {key!r} appears twice in one mapping",
                    )
                )
                return
        found = re.search(r"line (\d+), column (\d+)", first)
        detail = message.splitlines()[-1].strip() if "\n" in message else first
        if found:
            self.problems.append(
                Problem(self.name, int(found[1]), int(found[2]), f"YAML syntax error: {detail}")
            )
        else:
            self.problems.append(Problem(self.name, None, None, f"YAML error: {first}"))

    def _find_duplicate_key(self) -> tuple[str, yaml.Mark] | None:
        stack = [self._compose()]
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in seen:
                            return str(key.value), key.start_mark
                        seen.add(key.value)
                    stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return None


# --- turning pydantic's errors into sentences ---------------------------------------------

_NESTED: dict[str, type[BaseModel]] = {"effective": Effective, "standing": Standing, "terms": Terms}
_KINDS: dict[str, type[BaseModel]] = {
    "consortium": Consortium,
    "bilateral": Bilateral,
    "suspension": Suspension,
    "registry": RegistryConnector,
    "sip2": Sip2Connector,
}


def _data_path(item: Any, loc: tuple[int | str, ...]) -> tuple[ItemPath, bool]:
    """Pydantic's ``loc`` as a path into the YAML data: without the union tags pydantic inserts
    (``('consortium', 'terms')``) and with ``[key]`` turned into "the key itself"."""
    path: list[str | int] = []
    at_key = False
    current = item
    for part in loc:
        if part == "[key]":
            at_key = True
            continue
        if isinstance(current, dict) and part not in current and current.get("kind") == part:
            continue
        path.append(part)
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            current = None
    return tuple(path), at_key


def _model_at(section: str, item: Any, parent: ItemPath) -> type[BaseModel] | None:
    if not isinstance(item, dict):
        return None
    if not parent:
        return Library if section == "libraries" else _KINDS.get(item.get("kind", ""))
    if len(parent) == 1 and parent[0] == "connector":
        connector = item.get("connector")
        return _KINDS.get(connector.get("kind", "")) if isinstance(connector, dict) else None
    return _NESTED.get(str(parent[0])) if len(parent) == 1 else None


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _unknown_key(key: object, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if key == "password":
        return (
            "unknown key 'password': secrets never go in agreement files; put the password in an "
            "environment variable and give its name as password_env"
        )
    guess = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return f"unknown key {key!r}; {hint}allowed: {', '.join(allowed)}"


def _message(section: str, item: Any, path: ItemPath, error: ErrorDetails) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        model = _model_at(section, item, path[:-1])
        return _unknown_key(path[-1], _keys(model) if model else ())
    if kind == "missing":
        return f"missing required key {path[-1]!r}" if path else "missing required key"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"unknown kind {ctx.get('tag')!r}; expected {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "missing required key 'kind'"
    if kind == "literal_error" and len(path) >= 2 and path[-2] == "blocking_flags":
        return f"unknown flag {error['input']!r}; the flags are: {', '.join(FLAGS)}"
    if kind == "model_type":
        return "expected a mapping"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{msg} (got {_shorten(error['input'])})"


def _shorten(value: object) -> str:
    """A value as it appears in a message: never pages of it (an alias can expand a lot)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _label(section: str, item: Any) -> str:
    noun = "library" if section == "libraries" else "agreement"
    identifier: object = getattr(item, "id", None)
    if identifier is None and isinstance(item, dict):
        identifier = item.get("id")
    return f"{noun} {identifier}" if isinstance(identifier, str) else noun


def _by_position(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)
