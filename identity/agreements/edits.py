"""An edit of one entry: the set to validate, and the new set, each file kept as written.

The edit is a splice of lines, not a re-dump: the entry's lines (``identity.agreements.layout``)
are cut out and the mini file's lines (``identity.agreements.minifile``) put in their place,
shifted to the column of the file's own list (``  - id:`` or PyYAML's ``- id:``). Every other byte
of the file is left exactly as written: comments, blank lines, quoting, ``10.00``, line endings.
Re-dumping the file through ruamel's round-trip mode would instead re-flow long flow mappings,
re-attach comments (ruamel hangs the comment above an entry on the entry before it, so deleting one
loses the next one's comment) and normalise line endings.

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
  first line); a leading byte-order mark stays.
- Flow lists (``agreements: [{id: a, ...}, ...]``): an entry is replaced or removed in place in
  the flow list, written back as one flow mapping; its comments cannot be kept there.
- Ids are fixed once made: an edit that changes the id is refused (``EntryRefused``).

The UI validates ``policies.load_sources(candidate(...))`` (problems in the textarea are reported
under the file name ``EDITED`` with the textarea's line numbers), then publishes ``apply(...)``,
which yields the same libraries and agreements.
"""

from __future__ import annotations

import re

from identity.agreements.entries import EDITED, EntryRefused, Files, Section, find, items_of, parsed
from identity.agreements.layout import BOM, Layout, blank, line_ending, locate, section_layout
from identity.agreements.minifile import Mini


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
    mini = Mini.parse(text, section)
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


def _replaced(
    files: list[tuple[str, str]], section: Section, entry_id: str, mini: Mini | None
) -> list[tuple[str, str]]:
    """``files`` with entry ``entry_id`` replaced by ``mini``, or removed when it is None."""
    located = locate(files, section, entry_id)
    if located is None:
        noun = "library" if section == "libraries" else "agreement"
        raise EntryRefused(f"there is no {noun} {entry_id!r} to change")
    position, layout, index = located
    name, text = files[position]
    bom = BOM if text.startswith(BOM) else ""
    if layout.flow:
        new = _flow_replaced(layout, index, mini)
    else:
        new = _block_replaced(layout, section, index, mini)
    out = files[:position]
    if (
        mini is not None
        or items_of(parsed(new), "libraries")
        or items_of(parsed(new), "agreements")
    ):
        out.append((name, bom + new))
    return out + files[position + 1 :]


def _block_replaced(layout: Layout, section: Section, index: int, mini: Mini | None) -> str:
    lines, span = list(layout.lines), layout.spans[index]
    first, end = span.first, span.end
    if mini is not None:
        lines[first:end] = mini.shifted(span.column, line_ending(lines))
        return "".join(lines)
    if first > 0 and blank(lines[first - 1]) and index > 0:
        first -= 1  # the blank line that separated it from the entry before
    elif end < len(lines) and blank(lines[end]) and index == 0:
        end += 1  # the blank line that separated it from the entry after
    del lines[first:end]
    if len(layout.spans) == 1:  # the list is empty now: say so
        key = lines[layout.key_line]
        written = re.fullmatch(rf"({section}[ \t]*:)([ \t]*(?:#.*)?)(\r\n|\r|\n)?", key)
        if written:
            lines[layout.key_line] = f"{written[1]} []{written[2]}{written[3] or ''}"
    return "".join(lines)


def _flow_replaced(layout: Layout, index: int, mini: Mini | None) -> str:
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


def _added(files: list[tuple[str, str]], section: Section, mini: Mini) -> list[tuple[str, str]]:
    kind = mini.data.get("kind")
    chosen: tuple[int, Layout] | None = None
    for same_kind in (True, False):
        for position, (_, text) in enumerate(files):
            items = items_of(parsed(text), section)
            if not items or (same_kind and not any(i.get("kind") == kind for i in items)):
                continue
            layout = section_layout(text, section)
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
    newline = line_ending(lines)
    if last.end > 0 and not lines[last.end - 1].endswith(("\n", "\r")):
        lines[last.end - 1] += newline
    if len(layout.spans) > 1:
        spaced = blank(lines[last.first - 1])
    else:
        spaced = last.end - last.first > 1
    lines[last.end : last.end] = ([newline] if spaced else []) + mini.shifted(last.column, newline)
    bom = BOM if text.startswith(BOM) else ""
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
