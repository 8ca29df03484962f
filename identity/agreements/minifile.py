"""The "mini file" of one entry: the text an administrator edits in a textarea.

A mini file is ``libraries:`` or ``agreements:`` and a one-item list. ``editable`` gives an
entry's mini file as written in its file (with the comments directly above it, LF line endings;
an entry of a flow list is shown as a block entry, via a ruamel round-trip dump); ``template``
gives a commented one for a new entry. ``Mini.parse`` reads the textarea's text back (a browser
sends it with CRLF, which is accepted), refusing with ``EntryRefused`` anything but exactly one
entry with an id, and ``Mini.shifted`` / ``Mini.flow`` give its lines as they go into a file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode

from identity.agreements.entries import KINDS, EntryRefused, Files, Kind, Section
from identity.agreements.layout import (
    BOM,
    LINE,
    MARKER,
    Layout,
    blank,
    dash_of,
    indent,
    locate,
    scalar,
    strip_end,
)
from policies import yamltext


def editable(files: Files, section: Section, entry_id: str) -> str:
    """The mini file of an entry for the textarea: ``section:`` and the entry's lines as written
    in its file (with the comments directly above it), LF line endings. KeyError if absent."""
    located = locate(files, section, entry_id)
    if located is None:
        raise KeyError(entry_id)
    _, layout, index = located
    span = layout.spans[index]
    if layout.flow:
        return _block_text(layout, section, index)
    body = [strip_end(line) for line in layout.lines[span.first : span.end]]
    return "\n".join([f"{section}:", *body]) + "\n"


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
    # or, a username and password checked at the directory (LDAP, Active Directory):
    # connector: {kind: ldap, url: "ldaps://ldap.example.edu", category: eduPersonAffiliation,
    #             search: {base: "ou=people,dc=example,dc=edu", filter: "(uid={card})",
    #                      bind_dn: "cn=hub,dc=example,dc=edu", password_env: NEW_LDAP_PASSWORD}}
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


@dataclass(frozen=True)
class Mini:
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
    def parse(cls, text: str, section: Section) -> Mini:
        body = text.removeprefix(BOM)
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
            if scalar(key) != section:
                where = key.start_mark
                raise EntryRefused(
                    f"unexpected key {scalar(key)!r}: {shape}", where.line + 1, where.column + 1
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
        lines = LINE.findall(body)
        for number, raw in enumerate(lines):
            if raw.startswith("%"):
                raise EntryRefused("YAML directives (%) are not allowed here", number + 1, 1)
        id_line, id_column = where.line + 1, where.column + 1
        if isinstance(node.value[0], MappingNode):
            for k, v in node.value[0].value:
                if scalar(k) == "id":
                    id_line, id_column = v.start_mark.line + 1, v.start_mark.column + 1
        dash, column = dash_of(lines, node.value[0])
        kept = []
        for number, raw in enumerate(lines):
            line = strip_end(raw)
            if number == key.start_mark.line or MARKER.fullmatch(line):
                continue
            if number < dash and line.lstrip(" ").startswith("#"):
                line = " " * min(column, indent(line)) + line.lstrip(" ")  # stays with the entry
            kept.append(line)
        while kept and blank(kept[0]):
            kept.pop(0)
        while kept and blank(kept[-1]):
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
                line = line[min(-shift, indent(line)) :]
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


def round_trip() -> YAML:
    """The ruamel round trip mini files are read and written with (quotes kept, no wrapping)."""
    return _yaml()


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


def _block_text(layout: Layout, section: Section, index: int) -> str:
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
