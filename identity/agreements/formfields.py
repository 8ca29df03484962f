"""An entry as a form: fields read from a POST, written onto the entry's mini file, and the
validator's problems taken back to the field they concern.

A form never writes an entry afresh. ``write`` applies the posted values onto the ruamel
round-trip of the entry's mini file (``identity.agreements.minifile``): a key whose value is
unchanged is left as written (``10.00``, its quoting, its flow or block style), keys the form does
not know and comments stay, a key emptied in the form is removed, and a new key goes after the
keys that come before it in the form. The text it gives goes through the same validator and the
same in-place rewrite of the file as the YAML editor's text.

``read`` turns the posted fields into values, refusing (per field) what is not a number, a date
or one of the choices offered, so that a forged form cannot slip a value past its picker.
``field_of`` says which field a validator problem in the generated text concerns: the deepest
key whose value holds the problem's line and column, else the key path in its message.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarstring import ScalarString

from identity.agreements.entries import EDITED, Section
from identity.agreements.minifile import round_trip
from policies import Problem, yamltext

Kind = Literal["text", "long", "int", "number", "money", "date", "bool", "one", "many", "words"]
#: what was posted, or what an entry's values show as: every field's values, as strings
Posted = dict[str, list[str]]
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Field:
    """One field of a form: its name (the HTML name and id), where its value goes in the entry
    (``path``), how it is read (``kind``), its words, and, for pickers, the name of its
    ``options``. ``default`` is the format's value when the key is absent."""

    name: str
    path: tuple[str, ...]
    kind: Kind
    label: str
    hint: str = ""
    required: bool = False
    options: str = ""
    default: object = None


def shown(fields: Iterable[Field], data: Mapping[str, Any]) -> Posted:
    """An entry's values (plain data, as the loader's parser reads it) as the form shows them."""
    out: Posted = {}
    for field in fields:
        value: Any = data
        for key in field.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        out[field.name] = _as_strings(field, field.default if value is None else value)
    return out


def _as_strings(field: Field, value: Any) -> list[str]:
    if value is None:
        return []
    if field.kind == "bool":
        return ["on"] if value is True else []
    if field.kind in ("many", "words"):
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    if field.kind == "money" and isinstance(value, int | float) and not isinstance(value, bool):
        return [f"{Decimal(repr(value)):.2f}"]
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def read(
    fields: Iterable[Field], posted: Mapping[str, Sequence[str]], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted fields as values (None: left empty) and, by field name, what is wrong with
    those that cannot be values: not a number or a date, given twice, not one of the choices
    offered, required and left empty."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        given = [v.replace("\r\n", "\n") for v in posted.get(field.name, ())]
        try:
            values[field.name] = _value(field, given, options.get(field.options, ()))
        except ValueError as exc:
            problems[field.name] = str(exc)
    return values, problems


def _value(field: Field, given: list[str], offered: Iterable[str]) -> Any:
    if field.kind == "many":
        allowed = set(offered)
        for value in given:
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of the choices offered")
        if field.required and not given:
            raise ValueError(f"Choose at least one: {_lower(field.label)}")
        return list(dict.fromkeys(given))
    if field.kind == "bool":
        return bool(given)
    if len(given) > 1:
        raise ValueError(f"{field.label} was given {len(given)} times; give it once")
    text = given[0].strip() if given else ""
    if field.kind == "words":
        return [w for w in re.split(r"[\s,]+", text) if w]
    if not text:
        if field.required:
            raise ValueError(f"Enter {_lower(field.label)}")
        return None
    if field.kind == "one":
        if text not in set(offered):
            raise ValueError(f"{text!r} is not one of the choices offered")
        return text
    if field.kind == "int":
        if not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise ValueError(f"Enter {_lower(field.label)} as a whole number, like 5")
        return int(text)
    if field.kind == "number":
        try:
            number = float(Decimal(text))
        except InvalidOperation:
            raise ValueError(f"Enter {_lower(field.label)} as a number, like 5 or 2.5") from None
        return int(number) if number.is_integer() and "." not in text else number
    if field.kind == "money":
        if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,2})?", text):
            raise ValueError(f"Enter {_lower(field.label)} as an amount, like 10.50")
        return Decimal(text)
    if field.kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"Enter {_lower(field.label)} as a date, like 2026-03-01") from None
    return text


def _lower(label: str) -> str:
    """A label inside a sentence: "Loan period in days" as "loan period in days"."""
    return label[:1].lower() + label[1:]


# --- writing values onto the mini file ----------------------------------------------------


def load(text: str) -> Any:
    """The ruamel round-trip of a mini file (comments, quoting and styles kept)."""
    return yamltext.guarded(round_trip().load, text)


def dump(document: Any) -> str:
    stream = io.StringIO()
    round_trip().dump(document, stream)
    return stream.getvalue()


def fresh(section: Section, entry_id: str) -> Any:
    """The round-trip document of a new entry's mini file, holding only its id."""
    entry = CommentedMap()
    entry["id"] = entry_id
    items = CommentedSeq([entry])
    root = CommentedMap()
    root[section] = items
    return root


def write(
    entry: CommentedMap,
    fields: Sequence[Field],
    values: Mapping[str, Any],
    *,
    order: Sequence[tuple[str, ...]] = (),
) -> None:
    """Apply the form's ``values`` onto ``entry`` (a ruamel round-trip map), in place; a new
    key goes after the keys that come before it in ``order`` (else the fields' own order)."""
    order = list(order) or [f.path for f in fields]
    for field in fields:
        if field.name in values:
            put(entry, field.path, values[field.name], default=field.default, order=order)


def put(
    entry: CommentedMap,
    path: tuple[str, ...],
    value: Any,
    *,
    default: object = None,
    order: Sequence[tuple[str, ...]] = (),
) -> None:
    """Set ``path`` of ``entry`` to ``value``, or remove it (None, or an empty list where the
    format's default is empty); an unchanged value is left as written. A map left empty goes."""
    parent: Any = entry
    for depth, key in enumerate(path[:-1]):
        child = parent.get(key) if isinstance(parent, CommentedMap) else None
        if not isinstance(child, CommentedMap):
            if _absent(value, default) or _same(default, value):
                return
            child = CommentedMap()
            child.fa.set_flow_style()
            _insert(parent, key, child, _siblings(order, path[: depth + 1]))
        parent = child
    key = path[-1]
    present = key in parent
    if _same(parent.get(key) if present else default, value):
        return
    if _absent(value, default):
        if present:
            del parent[key]
        _drop_empty(entry, path[:-1])
        return
    if isinstance(value, list):
        old = parent.get(key)
        kept = [v for v in old if str(v) in value] if isinstance(old, list) else []
        quoted = [type(v) for v in old or () if isinstance(v, ScalarString)][:1]
        added = [v for v in value if v not in {str(k) for k in kept}]
        value = kept + [quoted[0](v) if quoted else v for v in added]  # quoted as the others
        if isinstance(old, CommentedSeq):
            del old[:]
            old.extend(value)
            return
        value = CommentedSeq(value)
        value.fa.set_flow_style()
    elif isinstance(value, Decimal):
        written = f"{value:.2f}"
        value = ScalarFloat(float(value), width=len(written), prec=written.index("."))
    if present:
        parent[key] = value
    else:
        _insert(parent, key, value, _siblings(order, path))


def _siblings(order: Sequence[tuple[str, ...]], path: tuple[str, ...]) -> list[str]:
    """The keys of the map that holds ``path``'s last key, in the form's order."""
    depth = len(path) - 1
    return [p[depth] for p in order if len(p) > depth and p[:depth] == path[:depth]]


def _absent(value: Any, default: object) -> bool:
    return value is None or (value == [] and default in (None, (), []))


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(new, list):  # a checkbox list posts in the page's order, not the entry's
        return isinstance(old, list | tuple) and sorted(map(str, old)) == sorted(map(str, new))
    if isinstance(new, int | float | Decimal):
        return isinstance(old, int | float) and _number(old) == _number(new)
    if isinstance(new, str):  # a quoted scalar is a str too
        return isinstance(old, str) and old == new
    return type(old) is type(new) and bool(old == new)


def _number(value: float | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return Decimal(int(value)) if isinstance(value, int) else Decimal(repr(float(value)))


def _insert(parent: CommentedMap, key: str, value: Any, order: Sequence[str | int]) -> None:
    """Put a new key after the last present key that comes before it in ``order``."""
    keys = list(parent.keys())
    position = len(keys)
    if key in order:
        before = set(order[: order.index(key)])
        after = [i for i, k in enumerate(keys) if k in before]
        known = [i for i, k in enumerate(keys) if k in order]
        position = after[-1] + 1 if after else (known[0] if known else len(keys))
    parent.insert(position, key, value)


def _drop_empty(entry: CommentedMap, path: tuple[str, ...]) -> None:
    while path:
        parent: Any = entry
        for key in path[:-1]:
            parent = parent.get(key)
        if not isinstance(parent, CommentedMap) or parent.get(path[-1]) != {}:
            return
        del parent[path[-1]]
        path = path[:-1]


# --- the validator's problems, back at their fields ---------------------------------------


def field_of(
    problem: Problem,
    text: str,
    fields: Sequence[Field],
    aliases: Mapping[Path, str] | None = None,
) -> str | None:
    """The name of the field a validator ``problem`` of the generated ``text`` concerns, if any."""
    if problem.file != EDITED:
        return None
    paths: list[Path] = []
    dotted = re.match(_DOTTED, problem.message)
    if dotted:  # the key path the message names, then the keys that hold its line and column
        paths.append(tuple(int(k) if k.isdigit() else k for k in dotted.group(1).split(".")))
    if problem.line is not None:
        where = (problem.line - 1, (problem.column or 1) - 1)
        found = [p for p, start, end in _spans(text) if start <= where < end or start == where]
        paths += sorted(found, key=len, reverse=True)
    by_path: dict[Path, str] = {f.path: f.name for f in fields}
    for names in (by_path, {**by_path, **(aliases or {})}):  # a field's own key first
        for path in paths:
            keys = tuple(k for k in path if isinstance(k, str))
            while keys:
                if keys in names:
                    return names[keys]
                keys = keys[:-1]
    return None


_DOTTED = r"^(?:agreement|library) [^:\s]+: ([a-z_]+(?:\.[a-z0-9_]+)*): "


def message_of(problem: Problem) -> str:
    """A validator problem's message without the entry and the key path it starts with."""
    text = re.sub(r"^(?:agreement|library) [^:\s]+: ", "", problem.message)
    text = re.sub(r"^[a-z_]+(?:\.[a-z0-9_]+)*: ", "", text)
    return text[:1].upper() + text[1:]


def _spans(text: str) -> list[tuple[Path, tuple[int, int], tuple[int, int]]]:
    """Every value of the entry with the key path that leads to it, and where it starts and
    ends (0-based line and column), keys included."""
    try:
        root = yamltext.guarded(YAML(typ="rt").compose, text)
    except Exception:  # noqa: BLE001 - not YAML: the problem has no field
        return []
    out: list[tuple[Path, tuple[int, int], tuple[int, int]]] = []

    def walk(node: Node, path: Path) -> None:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                here = (*path, str(key.value))
                out.append((here, _mark(key.start_mark), _mark(value.end_mark)))
                walk(value, here)
        elif isinstance(node, SequenceNode):
            for index, value in enumerate(node.value):
                out.append(((*path, index), _mark(value.start_mark), _mark(value.end_mark)))
                walk(value, (*path, index))

    if isinstance(root, MappingNode) and root.value:
        items = root.value[0][1]
        if isinstance(items, SequenceNode) and items.value:
            walk(items.value[0], ())
    return out


def _mark(mark: Any) -> tuple[int, int]:
    return int(mark.line), int(mark.column)
