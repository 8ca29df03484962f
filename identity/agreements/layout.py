"""Where each entry's lines are in one file's text, so that an edit can be a splice of lines.

``ruamel.yaml`` composes the file (YAML 1.2, every node marked with its line and column) and
``section_layout`` gives, for each entry of a section, the ``Span`` of its lines: from the comment
lines directly above its ``-`` (no blank line between, not indented deeper than the ``-``) to its
last line that is not blank and not such a comment; for a flow list (``agreements: [{...}]``), the
characters of its flow mapping. ``locate`` finds the file and span of one entry by id. The small
line helpers (line endings, blank lines, indentation) are shared by ``identity.agreements.minifile``
and ``identity.agreements.edits``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from identity.agreements.entries import Files, Section, items_of, parsed
from policies import yamltext

LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
MARKER = re.compile(r"(---|\.\.\.)(\s.*)?")
BOM = "\ufeff"


@dataclass(frozen=True)
class Span:
    first: int  # first line: the comments directly above the entry, or its "-"
    dash: int  # the line of its "-"
    end: int  # one past its last line
    column: int  # the column of its "-" (0-based)
    start_index: int  # the entry's node in the text: [start_index, end_index)
    end_index: int


@dataclass(frozen=True)
class Layout:
    """Where the entries of one section are in one file's text (without its BOM). Shared by
    whoever asks for the same text's layout (``section_layout`` keeps the last few): read it,
    never change it."""

    lines: tuple[str, ...]
    key_line: int
    flow: bool
    node: SequenceNode | None  # None: the section is empty or absent
    spans: tuple[Span, ...]
    ids: tuple[str | None, ...]


def locate(files: Files, section: Section, entry_id: str) -> tuple[int, Layout, int] | None:
    for position, (_, text) in enumerate(files):
        if not any(item["id"] == entry_id for item in items_of(parsed(text), section)):
            continue
        layout = section_layout(text, section)
        if layout is not None and entry_id in layout.ids:
            return position, layout, layout.ids.index(entry_id)
    return None


@lru_cache(maxsize=64)
def section_layout(text: str, section: Section) -> Layout | None:
    """The section's entries in ``text``, or None when the file does not parse. An edit asks
    for the same file's layout several times (to show the entry, to validate the edit, to
    apply it), and composing the file is most of an edit's time: the last layouts made are
    kept."""
    body = text.removeprefix(BOM)
    try:
        root = yamltext.guarded(YAML(typ="rt").compose, body)
    except (yamltext.YamlRefused, YAMLError):
        return None
    data = parsed(text)
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        return None
    lines = tuple(LINE.findall(body))
    keys = [k for k, _ in root.value]
    found = next((i for i, k in enumerate(keys) if scalar(k) == section), None)
    if found is None:
        return Layout(lines, -1, False, None, (), ())
    key, node = root.value[found]
    raw = data.get(section)
    if not isinstance(node, SequenceNode) or not isinstance(raw, list):
        return Layout(lines, key.start_mark.line, False, None, (), ())
    ids = tuple(
        i.get("id") if isinstance(i, dict) and isinstance(i.get("id"), str) else None for i in raw
    )
    items: list[Node] = list(node.value)
    if node.flow_style:
        flow = tuple(
            Span(i.start_mark.line, i.start_mark.line, i.end_mark.line + 1, 0, *indices(i))
            for i in items
        )
        return Layout(lines, key.start_mark.line, True, node, flow, ids)
    bound = keys[found + 1].start_mark.line if found + 1 < len(keys) else len(lines)
    for number in range(key.start_mark.line + 1, bound):
        if MARKER.fullmatch(strip_end(lines[number])):
            bound = number
            break
    dashes = [dash_of(lines, item) for item in items]
    firsts: list[int] = []
    for n, (line, column) in enumerate(dashes):
        floor = dashes[n - 1][0] if n else key.start_mark.line
        first = line
        while first - 1 > floor and comment_at_most(lines[first - 1], column):
            first -= 1
        firsts.append(first)
    spans = []
    for n, ((line, column), item) in enumerate(zip(dashes, items, strict=True)):
        end = firsts[n + 1] if n + 1 < len(items) else bound
        while end - 1 > line and (blank(lines[end - 1]) or comment_at_most(lines[end - 1], column)):
            end -= 1
        spans.append(Span(firsts[n], line, end, column, *indices(item)))
    return Layout(lines, key.start_mark.line, False, node, tuple(spans), ids)


def indices(node: Node) -> tuple[int, int]:
    return node.start_mark.index, node.end_mark.index


def scalar(node: Node) -> object:
    return node.value if isinstance(node, ScalarNode) else None


def dash_of(lines: Sequence[str], item: Node) -> tuple[int, int]:
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


def strip_end(line: str) -> str:
    return line.rstrip("\r\n")


def blank(line: str) -> bool:
    return not line.strip()


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def comment_at_most(line: str, column: int) -> bool:
    return line.lstrip(" ").startswith("#") and indent(line) <= column


def line_ending(lines: Sequence[str]) -> str:
    first = lines[0] if lines else "\n"
    return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"
