"""One entry (a library or an agreement) of an agreement set, edited on its own.

The admin UI shows one entry as a "mini file" (``agreements:`` and a one-item list) in a textarea,
validates the set with that entry replaced, then publishes the new set. This module is the pure
part: finding entries, the mini file of an entry, what to validate, and the new set.

The edit is a splice of lines, not a re-dump. ``ruamel.yaml`` composes each file (YAML 1.2, every
node marked with its line and column) to find where each entry's lines start and end; those lines
are cut out and the textarea's lines put in their place, shifted to the column of the file's own
list (``  - id:`` or PyYAML's ``- id:``). Every other byte of the file is left exactly as written:
comments, blank lines, quoting, ``10.00``, line endings. Re-dumping the file through ruamel's
round-trip mode would instead re-flow long flow mappings, re-attach comments (ruamel hangs the
comment above an entry on the entry before it, so deleting one loses the next one's comment) and
normalise line endings. The entry's own text is kept as the administrator wrote it.

An entry's lines: from the comment lines directly above its ``-`` (no blank line between, not
indented deeper than the ``-``) to its last line that is not blank and not such a comment.

Rules:

- New entries go to the first file (in load order) whose ``agreements`` hold one of the same
  ``kind`` (for libraries: that holds a library), else to the first file with entries of that
  section, else to a new file ``agreements.yaml`` / ``libraries.yaml`` (``agreements-2.yaml`` if
  the name is taken). They are appended at the end of the list, after a blank line when the
  list's entries are separated by blank lines. Files whose list is written in flow style are
  never chosen.
- A removed entry takes one blank separator line with it. A section left empty becomes
  ``agreements: []``; a file left with no entries at all leaves the set (the loader refuses a file
  with nothing in it).
- Line endings: each file keeps its own (the edited entry's lines take the ending of the file's
  first line); a leading byte-order mark stays. The mini file uses ``\\n`` and has no BOM; a
  browser sends the textarea back with CRLF, which is accepted.
- Flow lists (``agreements: [{id: a, ...}, ...]``): an entry is shown as a block entry (via a
  ruamel round-trip dump), and replaced or removed in place in the flow list, written back as one
  flow mapping; its comments cannot be kept there.
- Ids are fixed once made: an edit that changes the id is refused (``EntryRefused``).

The UI validates ``policies.load_sources(candidate(...))`` (problems in the textarea are reported
under the file name ``EDITED`` with the textarea's line numbers), then publishes
``apply(...)``, which yields the same libraries and agreements.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from policies import yamltext
from policies.errors import Problem

Section = Literal["libraries", "agreements"]
Kind = Literal["consortium", "bilateral", "suspension"]
SECTIONS: tuple[Section, ...] = get_args(Section)
KINDS: tuple[Kind, ...] = get_args(Kind)
#: the file name under which the textarea's text is validated
EDITED = "your change"

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_MARKER = re.compile(r"(---|\.\.\.)(\s.*)?")
_BOM = "\ufeff"

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


# --- reading --------------------------------------------------------------------------------


def entries(files: Files, section: Section) -> list[Entry]:
    """Every entry of ``section`` that has an id, in load order. Unreadable files are skipped
    (the loader reports them)."""
    found: list[Entry] = []
    for name, text in files:
        for item in _items(_data(text), section):
            found.append(Entry(section, item["id"], name, item))
    return found


def find(files: Files, section: Section, entry_id: str) -> Entry | None:
    """The entry of ``section`` with id ``entry_id``, or None."""
    return next((e for e in entries(files, section) if e.id == entry_id), None)


def editable(files: Files, section: Section, entry_id: str) -> str:
    """The mini file of an entry for the textarea: ``section:`` and the entry's lines as written
    in its file (with the comments directly above it), LF line endings. KeyError if absent."""
    located = _locate(files, section, entry_id)
    if located is None:
        raise KeyError(entry_id)
    _, layout, index = located
    span = layout.spans[index]
    if layout.flow:
        return _block_text(layout, section, index)
    body = [_strip_end(line) for line in layout.lines[span.first : span.end]]
    return "\n".join([f"{section}:", *body]) + "\n"


# --- changing -------------------------------------------------------------------------------


def candidate(
    files: Files, section: Section, entry_id: str | None, text: str | None
) -> list[tuple[str, str]]:
    """What to validate: the files without entry ``entry_id`` (if given), plus ``(EDITED,
    text)`` (if given), so that problems in the textarea carry its line numbers."""
    out = list(files)
    if entry_id is not None:
        out = _replaced(out, section, entry_id, None)
    if text is not None:
        out.append((EDITED, text))
    return out


def apply(
    files: Files, section: Section, entry_id: str | None, text: str | None
) -> list[tuple[str, str]]:
    """The new set: the entry of mini file ``text`` replaces entry ``entry_id`` in its file
    (``entry_id`` None: a new entry, added as the module docstring says; ``text`` None: entry
    ``entry_id`` removed). Raises ``EntryRefused`` when the edit cannot be made."""
    if entry_id is None and text is None:
        raise EntryRefused("nothing to do: neither an entry to change nor a new one")
    if text is None:
        assert entry_id is not None
        return _replaced(list(files), section, entry_id, None)
    mini = _Mini.parse(text, section)
    if entry_id is not None:
        if mini.id != entry_id:
            raise EntryRefused(
                f"the id cannot change ({entry_id!r} to {mini.id!r}): ids are fixed once made; "
                "add a new entry and remove this one instead",
                mini.id_line,
                mini.id_column,
            )
        return _replaced(list(files), section, entry_id, mini)
    if find(files, section, mini.id) is not None:
        noun = "a library" if section == "libraries" else "an agreement"
        raise EntryRefused(
            f"there is already {noun} with the id {mini.id!r}", mini.id_line, mini.id_column
        )
    return _added(list(files), section, mini)


def template(section: Section, kind: Kind = "bilateral", *, libraries: Sequence[str] = ()) -> str:
    """A commented mini file for a new entry: a library, or an agreement of ``kind``.
    ``libraries`` fills in the lender then the borrowers (a consortium's members); placeholders
    otherwise. It is meant to be edited: its ids and dates are examples."""
    if section == "libraries":
        return _LIBRARY_TEMPLATE
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    names = list(libraries) or ["lender-library", "borrowing-library"]
    if len(names) < 2:
        names.append("borrowing-library")
    lender, borrowers = names[0], ", ".join(names[1:])
    members = ", ".join(names)
    return _AGREEMENT_TEMPLATES[kind].format(lender=lender, borrowers=borrowers, members=members)


_LIBRARY_TEMPLATE = """\
libraries:
  - id: new-library                # lower-case letters, digits, . _ - (fixed once saved)
    name: New Library
    card_prefixes: ["9999"]        # quoted: the leading digits of this library's cards
    # home ILS patron category code -> hub category
    categories: {STAFF: staff, PG: postgraduate, UG: undergraduate}
    connector: {kind: registry}    # patrons imported into the hub; or, asked over SIP2:
    # connector: {kind: sip2, host: sip.example.org, port: 6001, institution: NEW,
    #             user: hub, password_env: NEW_SIP2_PASSWORD}
"""

_AGREEMENT_TEMPLATES: dict[Kind, str] = {
    "consortium": """\
agreements:
  # Every member lends to the patrons of every other member.
  - id: new-consortium             # fixed once saved
    name: New Consortium
    kind: consortium
    members: [{members}]
    effective: {{from: 2026-01-01, until: 2026-12-31}}   # inclusive; either may be left out
    categories: [staff, postgraduate]
    standing: {{max_fines: 10.00, card_must_be_valid: true,
               blocking_flags: [charge_denied, card_lost, blocked]}}
    terms: {{max_items: 3, loan_days: 14, renewals: 1, holds: 2, excluded_material: [reserve]}}
""",
    "bilateral": """\
agreements:
  # One way: the lender lends to patrons of each library in borrowers_from.
  - id: new-bilateral              # fixed once saved
    kind: bilateral
    lender: {lender}
    borrowers_from: [{borrowers}]
    effective: {{from: 2026-01-01}}   # inclusive; add until: to end it
    categories: [staff]
    standing: {{max_fines: 10.00, blocking_flags: [charge_denied, card_lost, blocked]}}
    terms: {{max_items: 5, loan_days: 28, renewals: 1, holds: 2}}
""",
    "suspension": """\
agreements:
  # The lender stops lending to patrons of borrowers_from, whatever else applies.
  - id: new-suspension             # fixed once saved
    kind: suspension
    lender: {lender}
    borrowers_from: [{borrowers}]
    # categories: [undergraduate]  # only these categories; all when left out
    effective: {{from: 2026-01-01}}
    reason: Say why, for the patrons who are refused
""",
}


# --- where entries are ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    first: int  # first line: the comments directly above the entry, or its "-"
    dash: int  # the line of its "-"
    end: int  # one past its last line
    column: int  # the column of its "-" (0-based)
    start_index: int  # the entry's node in the text: [start_index, end_index)
    end_index: int


@dataclass(frozen=True)
class _Layout:
    """Where the entries of one section are in one file's text (without its BOM)."""

    lines: list[str]
    key_line: int
    flow: bool
    node: SequenceNode | None  # None: the section is empty or absent
    spans: list[_Span]
    ids: list[str | None]


def _locate(files: Files, section: Section, entry_id: str) -> tuple[int, _Layout, int] | None:
    for position, (_, text) in enumerate(files):
        if not any(item["id"] == entry_id for item in _items(_data(text), section)):
            continue
        layout = _layout(text, section)
        if layout is not None and entry_id in layout.ids:
            return position, layout, layout.ids.index(entry_id)
    return None


def _data(text: str) -> Any:
    try:
        return yamltext.load(text)
    except (yamltext.YamlRefused, yaml_rs.YAMLDecodeError):
        return None


def _items(data: Any, section: Section) -> list[dict[str, Any]]:
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]


def _layout(text: str, section: Section) -> _Layout | None:
    """The section's entries in ``text``, or None when the file does not parse."""
    body = text.removeprefix(_BOM)
    try:
        root = yamltext.guarded(YAML(typ="rt").compose, body)
    except (yamltext.YamlRefused, YAMLError):
        return None
    data = _data(text)
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        return None
    lines = _LINE.findall(body)
    keys = [k for k, _ in root.value]
    found = next((i for i, k in enumerate(keys) if _scalar(k) == section), None)
    if found is None:
        return _Layout(lines, -1, False, None, [], [])
    key, node = root.value[found]
    raw = data.get(section)
    if not isinstance(node, SequenceNode) or not isinstance(raw, list):
        return _Layout(lines, key.start_mark.line, False, None, [], [])
    ids = [
        i.get("id") if isinstance(i, dict) and isinstance(i.get("id"), str) else None for i in raw
    ]
    items: list[Node] = list(node.value)
    if node.flow_style:
        spans = [
            _Span(i.start_mark.line, i.start_mark.line, i.end_mark.line + 1, 0, *_indices(i))
            for i in items
        ]
        return _Layout(lines, key.start_mark.line, True, node, spans, ids)
    bound = keys[found + 1].start_mark.line if found + 1 < len(keys) else len(lines)
    for number in range(key.start_mark.line + 1, bound):
        if _MARKER.fullmatch(_strip_end(lines[number])):
            bound = number
            break
    dashes = [_dash(lines, item) for item in items]
    firsts: list[int] = []
    for n, (line, column) in enumerate(dashes):
        floor = dashes[n - 1][0] if n else key.start_mark.line
        first = line
        while first - 1 > floor and _comment_at_most(lines[first - 1], column):
            first -= 1
        firsts.append(first)
    spans = []
    for n, ((line, column), item) in enumerate(zip(dashes, items, strict=True)):
        end = firsts[n + 1] if n + 1 < len(items) else bound
        while end - 1 > line and (
            _blank(lines[end - 1]) or _comment_at_most(lines[end - 1], column)
        ):
            end -= 1
        spans.append(_Span(firsts[n], line, end, column, *_indices(item)))
    return _Layout(lines, key.start_mark.line, False, node, spans, ids)


def _indices(node: Node) -> tuple[int, int]:
    return node.start_mark.index, node.end_mark.index


def _scalar(node: Node) -> object:
    return node.value if isinstance(node, ScalarNode) else None


def _dash(lines: list[str], item: Node) -> tuple[int, int]:
    """The line and column of the ``-`` that introduces a block list item."""
    line, column = item.start_mark.line, item.start_mark.column
    before = lines[line][:column].rstrip()
    if before.endswith("-"):
        return line, len(before) - 1
    while line > 0:  # "-" alone on its line, the entry below it
        line -= 1
        stripped = lines[line].lstrip()
        if stripped.startswith("-"):
            return line, len(lines[line]) - len(stripped)
    raise AssertionError("a block list item without a '-'")


def _strip_end(line: str) -> str:
    return line.rstrip("\r\n")


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _comment_at_most(line: str, column: int) -> bool:
    return line.lstrip(" ").startswith("#") and _indent(line) <= column


def _newline(lines: list[str]) -> str:
    first = lines[0] if lines else "\n"
    return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"


# --- the textarea's text ------------------------------------------------------------------


@dataclass(frozen=True)
class _Mini:
    """A mini file: one entry of one section, its lines without the ``section:`` line."""

    id: str
    data: dict[str, Any]
    lines: list[str]  # without line endings
    column: int  # the column of its "-"
    id_line: int | None
    id_column: int | None
    text: str  # without BOM
    section: Section

    @classmethod
    def parse(cls, text: str, section: Section) -> _Mini:
        body = text.removeprefix(_BOM)
        noun = "library" if section == "libraries" else "agreement"
        shape = f"expected {section}: and one {noun} under it, as a list item (- id: ...)"
        try:
            data = yamltext.load(body)
            root = yamltext.guarded(YAML(typ="rt").compose, body)
        except yamltext.YamlRefused as exc:
            raise EntryRefused(exc.message, exc.line, exc.column) from None
        except (yaml_rs.YAMLDecodeError, YAMLError) as exc:
            raise EntryRefused(f"not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict) or not isinstance(root, MappingNode):
            raise EntryRefused(shape, 1, 1)
        for key, _ in root.value:
            if _scalar(key) != section:
                where = key.start_mark
                raise EntryRefused(
                    f"unexpected key {_scalar(key)!r}: {shape}", where.line + 1, where.column + 1
                )
        key, node = root.value[0]
        items = data.get(section)
        line = key.start_mark.line + 1
        if not isinstance(items, list) or not isinstance(node, SequenceNode) or len(items) != 1:
            count = f"{len(items)} entries" if isinstance(items, list) else "no list"
            raise EntryRefused(f"{count} under {section}: {shape}", line, 1)
        if node.flow_style:
            raise EntryRefused(f"a flow list ([...]) under {section}: {shape}", line, 1)
        item = items[0]
        where = node.value[0].start_mark
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise EntryRefused(f"the {noun} needs an id: {shape}", where.line + 1, 1)
        lines = _LINE.findall(body)
        for number, raw in enumerate(lines):
            if raw.startswith("%"):
                raise EntryRefused("YAML directives (%) are not allowed here", number + 1, 1)
        id_line, id_column = where.line + 1, where.column + 1
        if isinstance(node.value[0], MappingNode):
            for k, v in node.value[0].value:
                if _scalar(k) == "id":
                    id_line, id_column = v.start_mark.line + 1, v.start_mark.column + 1
        dash, column = _dash(lines, node.value[0])
        kept = []
        for number, raw in enumerate(lines):
            line = _strip_end(raw)
            if number == key.start_mark.line or _MARKER.fullmatch(line):
                continue
            if number < dash and line.lstrip(" ").startswith("#"):
                line = " " * min(column, _indent(line)) + line.lstrip(" ")  # stays with the entry
            kept.append(line)
        while kept and _blank(kept[0]):
            kept.pop(0)
        while kept and _blank(kept[-1]):
            kept.pop()
        return cls(item["id"], item, kept, column, id_line, id_column, body, section)

    def shifted(self, column: int, newline: str) -> list[str]:
        """The entry's lines with its ``-`` moved to ``column``, each ending in ``newline``."""
        shift = column - self.column
        out = []
        for line in self.lines:
            if shift > 0 and line:
                line = " " * shift + line
            elif shift < 0:
                line = line[min(-shift, _indent(line)) :]
            out.append(line + newline)
        return out

    def flow(self) -> str:
        """The entry as one flow mapping, for a file that lists its entries in flow style."""
        yaml = _yaml()
        item = yamltext.guarded(yaml.load, self.text)[self.section][0]
        _set_flow(item)
        stream = io.StringIO()
        yaml.dump(item, stream)
        return stream.getvalue().strip()


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _set_flow(value: object) -> None:
    if isinstance(value, CommentedMap | CommentedSeq):
        value.fa.set_flow_style()
        for child in value.values() if isinstance(value, CommentedMap) else value:
            _set_flow(child)


def _block_text(layout: _Layout, section: Section, index: int) -> str:
    """A flow-list entry as a block mini file (ruamel's round-trip dump of it)."""
    yaml = _yaml()
    span = layout.spans[index]
    text = "".join(layout.lines)
    item = yamltext.guarded(
        yaml.load, f"{section}:\n  - {text[span.start_index : span.end_index]}\n"
    )
    entry = item[section][0]
    if isinstance(entry, CommentedMap):
        entry.fa.set_block_style()
    stream = io.StringIO()
    yaml.dump(item, stream)
    return stream.getvalue().replace("\r\n", "\n")


# --- splicing -------------------------------------------------------------------------------


def _replaced(
    files: list[tuple[str, str]], section: Section, entry_id: str, mini: _Mini | None
) -> list[tuple[str, str]]:
    """``files`` with entry ``entry_id`` replaced by ``mini``, or removed when it is None."""
    located = _locate(files, section, entry_id)
    if located is None:
        noun = "library" if section == "libraries" else "agreement"
        raise EntryRefused(f"there is no {noun} {entry_id!r} to change")
    position, layout, index = located
    name, text = files[position]
    bom = _BOM if text.startswith(_BOM) else ""
    if layout.flow:
        new = _flow_replaced(layout, index, mini)
    else:
        new = _block_replaced(layout, section, index, mini)
    out = files[:position]
    if mini is not None or _items(_data(new), "libraries") or _items(_data(new), "agreements"):
        out.append((name, bom + new))
    return out + files[position + 1 :]


def _block_replaced(layout: _Layout, section: Section, index: int, mini: _Mini | None) -> str:
    lines, span = list(layout.lines), layout.spans[index]
    first, end = span.first, span.end
    if mini is not None:
        lines[first:end] = mini.shifted(span.column, _newline(lines))
        return "".join(lines)
    if first > 0 and _blank(lines[first - 1]) and index > 0:
        first -= 1  # the blank line that separated it from the entry before
    elif end < len(lines) and _blank(lines[end]) and index == 0:
        end += 1  # the blank line that separated it from the entry after
    del lines[first:end]
    if len(layout.spans) == 1:  # the list is empty now: say so
        key = lines[layout.key_line]
        written = re.fullmatch(rf"({section}[ \t]*:)([ \t]*(?:#.*)?)(\r\n|\r|\n)?", key)
        if written:
            lines[layout.key_line] = f"{written[1]} []{written[2]}{written[3] or ''}"
    return "".join(lines)


def _flow_replaced(layout: _Layout, index: int, mini: _Mini | None) -> str:
    text = "".join(layout.lines)
    span = layout.spans[index]
    if mini is not None:
        return text[: span.start_index] + mini.flow() + text[span.end_index :]
    start, end = span.start_index, span.end_index
    if index + 1 < len(layout.spans):
        end = layout.spans[index + 1].start_index  # the comma and space after it
    elif index > 0:
        start = layout.spans[index - 1].end_index  # the comma before it
    return text[:start] + text[end:]


def _added(files: list[tuple[str, str]], section: Section, mini: _Mini) -> list[tuple[str, str]]:
    kind = mini.data.get("kind")
    chosen: tuple[int, _Layout] | None = None
    for same_kind in (True, False):
        for position, (_, text) in enumerate(files):
            items = _items(_data(text), section)
            if not items or (same_kind and not any(i.get("kind") == kind for i in items)):
                continue
            layout = _layout(text, section)
            if layout is not None and not layout.flow and layout.spans:
                chosen = position, layout
                break
        if chosen is not None:
            break
    if chosen is None:
        return [*files, (_new_name(files, section), "\n".join([f"{section}:", *mini.lines]) + "\n")]
    position, layout = chosen
    name, text = files[position]
    lines, last = list(layout.lines), layout.spans[-1]
    newline = _newline(lines)
    if last.end > 0 and not lines[last.end - 1].endswith(("\n", "\r")):
        lines[last.end - 1] += newline
    if len(layout.spans) > 1:
        spaced = _blank(lines[last.first - 1])
    else:
        spaced = last.end - last.first > 1
    lines[last.end : last.end] = ([newline] if spaced else []) + mini.shifted(last.column, newline)
    bom = _BOM if text.startswith(_BOM) else ""
    return [*files[:position], (name, bom + "".join(lines)), *files[position + 1 :]]


def _new_name(files: Files, section: Section) -> str:
    taken = {name for name, _ in files} | {
        name.replace("\\", "/").rsplit("/", 1)[-1] for name, _ in files
    }
    name, number = f"{section}.yaml", 1
    while name in taken:
        number += 1
        name = f"{section}-{number}.yaml"
    return name
