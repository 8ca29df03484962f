"""Reading agreement files: YAML 1.2 into validated models, every problem located by file and line.

Valid files take the fast path: ``yaml_rs`` (a Rust YAML 1.2 parser that refuses duplicate keys)
builds plain data, pydantic validates each library and agreement, ``check`` cross-checks the set.
Only when something is wrong is the file read a second time, as libyaml's events (which carry
line and column), to turn the path of each problem listed into a line and column; the reading
stops once they are all placed. Every text reaches its parsers through ``policies.yamltext``,
which refuses what could crash one (deep nesting, characters YAML does not allow) with a line.

A set's size is bounded by ``Limits``: its text, its entries, and how many problems are listed.

Every string of a file, keys and values, is read in Unicode NFC (docs/agreements.md), so a category
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

import yaml_rs
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from policies import placing
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
from policies.placing import Place, Wanted
from policies.validate import Path as ItemPath
from policies.validate import check
from policies.yamltext import YamlRefused, position
from policies.yamltext import load as load_yaml

SUFFIXES = (".yaml", ".yml")
#: ``max_fines: 9.999`` as written: the YAML parser turns numbers into floats, rounding away
#: digits past the 15th, so over-precise money is caught in the text itself. (No ``\b`` in
#: front: it would make the regex engine try every position of the text, 20 times slower on a
#: large file; ``_money_literals`` checks that boundary itself.)
#: a YAML escape that can stand for a character outside ASCII (``"\\u0301"``)
_ESCAPE = re.compile(r"\\[xuUNLP_]")
_MONEY_LITERAL = re.compile(r"max_fines[ \t]*:[ \t]*[-+]?[0-9][0-9_]*\.([0-9_]*[0-9])\b")


@dataclass(frozen=True)
class Limits:
    """How large a set may be: ``max_bytes`` of text (UTF-8) in all its files together,
    ``max_entries`` libraries and agreements (None: no limit), and how many problems an
    ``InvalidAgreements`` lists (the rest are counted). ``max_bytes_name`` and
    ``max_entries_name`` name the settings in a refusal (``HUB_AGREEMENTS_MAX_MB``)."""

    max_bytes: int | None = None
    max_entries: int | None = None
    max_problems: int = 100
    max_bytes_name: str = ""
    max_entries_name: str = ""


#: the limits of ``load`` and ``load_sources`` unless given: none on size, 100 problems listed
DEFAULT_LIMITS = Limits()


def load(*paths: str | Path, limits: Limits = DEFAULT_LIMITS) -> Agreements:
    """Load agreement files (or every ``*.yaml``/``*.yml`` in a directory) as one set.

    Raises ``InvalidAgreements`` listing the problems (at most ``limits.max_problems``, then how
    many more there are), each with file, line and column.
    """
    return load_sources(read(*paths), limits=limits)


def load_sources(
    sources: Iterable[tuple[str, str]],
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Agreements:
    """Load ``(name, yaml_text)`` pairs as one set, as ``load`` does with files."""
    files = [_File(name, text) for name, text in sources]
    if not files:
        raise InvalidAgreements([Problem("<none>", None, None, "no agreement files given")])
    _check_size(files, limits)
    with _gc_paused():
        for f in files:
            f.parse()
        _check_entries(files, limits)
        for f in files:
            f.validate()
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
        _raise_problems(files, limits.max_problems)
        return Agreements(
            [lib for _, _, lib in libraries],
            [a for _, _, a in agreements],
            sources={a.id: f.name for f, _, a in agreements},
            checked=True,
        )


def _check_size(files: list[_File], limits: Limits) -> None:
    if limits.max_bytes is None:
        return
    total = 0
    for f in files:
        size = len(f.text) if f.text.isascii() else len(f.text.encode(errors="surrogatepass"))
        total += size
        if total > limits.max_bytes:
            over = len(f.text) - (total - limits.max_bytes)  # about where the limit is passed
            line, _ = position(f.text, max(0, min(over, len(f.text) - 1)))
            named = f" ({limits.max_bytes_name})" if limits.max_bytes_name else ""
            message = (
                f"the agreement set is larger than the limit of {_size(limits.max_bytes)}"
                f"{named}; nothing was read"
            )
            raise InvalidAgreements([Problem(f.name, line, None, message)])


def _check_entries(files: list[_File], limits: Limits) -> None:
    if limits.max_entries is None:
        return
    seen = 0
    for f in files:
        for section, items in f.sections:
            if seen + len(items) > limits.max_entries:
                index = limits.max_entries - seen
                line, column = f.locate([((section, index), False)])[((section, index), False)]
                named = f" ({limits.max_entries_name})" if limits.max_entries_name else ""
                message = (
                    f"the agreement set has more than {limits.max_entries:,} libraries and "
                    f"agreements, the limit{named}; this is the first one over it"
                )
                raise InvalidAgreements([Problem(f.name, line, column, message)])
            seen += len(items)


def _size(count: int) -> str:
    if count % 2**20 == 0:
        return f"{count // 2**20} MiB"
    return f"{count:,} bytes"


def _raise_problems(files: list[_File], most: int) -> None:
    """Raise ``InvalidAgreements`` with the first ``most`` problems, by file and position,
    placing only those; the rest are counted."""
    total = sum(len(f.problems) + len(f.pending) for f in files)
    if not total:
        return
    shown: list[Problem] = []
    for f in files:
        room = most - len(shown)
        if room <= 0:
            break
        shown += f.first_problems(room)
    raise InvalidAgreements(shown, more=total - len(shown))


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
    #: the sections' lists as parsed, in the file's order
    sections: list[tuple[str, list[Any]]] = field(default_factory=list)
    libraries: list[tuple[int, Library]] = field(default_factory=list)
    agreements: list[tuple[int, AnyAgreement]] = field(default_factory=list)
    invalid_library_ids: set[str] = field(default_factory=set)
    invalid_library_categories: set[str] = field(default_factory=set)
    #: problems placed already (syntax, money literals), and those known by their path
    problems: list[Problem] = field(default_factory=list)
    pending: list[tuple[ItemPath, bool, str]] = field(default_factory=list)
    _keys: dict[str, int] = field(default_factory=dict)  # top-level key -> its rank

    def parse(self) -> None:
        if isinstance(self.text, _Unreadable):
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
            self.sections.append((section, items))
        self.sections.sort(key=lambda pair: self._keys[pair[0]])

    def validate(self) -> None:
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
