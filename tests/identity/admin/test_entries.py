"""Editing one entry of an agreement set: the new set loads the same as what was validated, and
nothing else in the files changes (``identity.agreements.edits``)."""

from __future__ import annotations

import difflib
import functools
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

import policies
from identity.agreements import edits, entries, minifile
from identity.agreements.entries import EDITED, EntryRefused, Section
from identity.agreements.versions import export
from identity.store.models import AgreementVersion
from tests.conftest import EXAMPLES

Files = list[tuple[str, str]]


def _examples() -> Files:
    return [(Path(name).name, text) for name, text in policies.read(EXAMPLES)]


def _exported() -> Files:
    """The examples as ``hub`` exports a version: one file, PyYAML layout (``- id:`` at column 0
    under the key, block lists, every odd string quoted)."""
    files = [{"name": n, "text": t} for n, t in _examples()]
    version = cast(AgreementVersion, SimpleNamespace(id=7, files=files))  # what export reads
    return [("exported.yaml", export(version))]


def _crlf() -> Files:
    return [(name, text.replace("\n", "\r\n")) for name, text in _examples()]


def _bom() -> Files:
    return [(name, "\ufeff" + text) for name, text in _examples()]


SETS = {"examples": _examples, "exported": _exported, "crlf": _crlf, "bom": _bom}
EDITS = ("term", "comment", "delete")


def _edit(text: str, how: str) -> str | None:
    """The textarea after an administrator's edit: a changed value, an added comment, or none
    (deleted)."""
    if how == "delete":
        return None
    if how == "comment":
        lines = text.split("\n")
        dash = next(i for i, line in enumerate(lines) if line.lstrip().startswith("- id:"))
        column = len(lines[dash]) - len(lines[dash].lstrip())
        lines[dash + 1 : dash + 1] = [" " * (column + 2) + "# 2026 review: no change"]
        lines[dash:dash] = [" " * column + "# checked by the admin team"]
        return "\n".join(lines)
    for pattern, change in [
        (r"max_items: (\d+)", lambda m: f"max_items: {int(m[1]) + 1}"),
        (r"reason: (.*)", lambda m: f"reason: Reviewed. {m[1]}"),
        (r'name: "?([^"\n]*)"?', lambda m: f"name: {m[1]} (renamed)"),
    ]:
        changed, count = re.subn(pattern, change, text, count=1)
        if count:
            return changed
    raise AssertionError(f"nothing to change in {text}")


def _loaded(files: Files) -> tuple[dict[str, object], dict[str, object]]:
    loaded = policies.load_sources(files)
    return dict(loaded.libraries), dict(loaded.agreements)


def _outcome(files: Files) -> object:
    """What loading gives: the libraries and agreements, or what is wrong (without where)."""
    try:
        return _loaded(files)
    except policies.InvalidAgreements as exc:
        return sorted(p.message for p in exc.problems)


def _lines(text: str) -> list[str]:
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines  # "" after the last line's "\n" is no line


def _check_only_entry_changed(
    before: str, after: str, entry_lines: list[str], *, deleted: bool
) -> None:
    """Every changed line of ``before`` is one of the entry's lines, or the blank line next to
    it; a file's line endings and BOM are kept."""
    old, new = _lines(before), _lines(after)
    start = next(
        i for i in range(len(old)) if old[i : i + len(entry_lines)] == entry_lines
    )  # the entry as written in the file
    same_start = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    same_end = next(
        (i for i, (a, b) in enumerate(zip(old[::-1], new[::-1], strict=False)) if a != b),
        min(len(old), len(new)),
    )
    changed = range(same_start, max(same_start, len(old) - same_end))  # the lines replaced
    assert start - 1 <= changed.start and changed.stop <= start + len(entry_lines) + 1, (
        old[changed.start : changed.stop],
        entry_lines,
    )
    if deleted:  # with the blank line that separated it from its neighbour, if there was one
        around = (
            old[start - 1 : start] + old[start + len(entry_lines) : start + len(entry_lines) + 1]
        )
        assert len(old) - len(new) == len(entry_lines) + ("" in around)
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    assert ("\r\n" in after) == ("\r\n" in before)


def _cases() -> list[tuple[str, Section, str, str]]:
    return [
        (set_name, section, entry.id, how)
        for set_name in SETS
        for section in entries.SECTIONS
        for entry in entries.entries(_examples(), section)
        for how in EDITS
    ]


@pytest.mark.parametrize(("set_name", "section", "entry_id", "how"), _cases())
def test_an_edit_publishes_what_was_validated_and_nothing_else(
    set_name: str, section: Section, entry_id: str, how: str
) -> None:
    files = SETS[set_name]()
    shown = minifile.editable(files, section, entry_id)
    text = _edit(shown, how)
    applied = edits.apply(files, section, entry_id, text)
    validated = edits.candidate(files, section, entry_id, text)

    outcome = _outcome(applied)
    assert outcome == _outcome(validated)
    if section == "libraries" and how == "delete":  # the agreements that name it are refused
        assert isinstance(outcome, list) and any(f"'{entry_id}'" in p for p in outcome)
    else:
        assert isinstance(outcome, tuple)
        _check_the_entry_changed(set_name, section, entry_id, how, outcome)
    home = next(e.file for e in entries.entries(files, section) if e.id == entry_id)
    assert [n for n, _ in applied] == [n for n, _ in files]
    for (name, old), (_, new) in zip(files, applied, strict=True):
        if name != home:
            assert new == old
        else:
            _check_only_entry_changed(old, new, shown.split("\n")[1:-1], deleted=text is None)
    if text is not None:  # shown again, the entry is the text as it was typed
        assert minifile.editable(applied, section, entry_id) == text


@functools.cache
def _before(set_name: str) -> tuple[dict[str, object], dict[str, object]]:
    return _loaded(SETS[set_name]())


def _check_the_entry_changed(
    set_name: str,
    section: Section,
    entry_id: str,
    how: str,
    outcome: tuple[dict[str, object], dict[str, object]],
) -> None:
    index = 0 if section == "libraries" else 1
    ids, before = outcome[index], _before(set_name)[index]
    if how == "delete":
        assert entry_id not in ids
    elif how == "comment":
        assert ids == before
    else:
        assert ids[entry_id] != before[entry_id]
        assert {k: v for k, v in ids.items() if k != entry_id} == {
            k: v for k, v in before.items() if k != entry_id
        }
    assert outcome[1 - index] == _before(set_name)[1 - index]


@pytest.mark.parametrize("set_name", SETS)
@pytest.mark.parametrize(
    ("section", "kind", "into"),
    [
        ("agreements", "consortium", "caval.yaml"),
        ("agreements", "bilateral", "bilateral.yaml"),
        ("agreements", "suspension", "suspensions.yaml"),
        ("libraries", "bilateral", "libraries.yaml"),
    ],
)
def test_a_new_entry_goes_to_the_end_of_a_file_with_its_kind(
    set_name: str, section: Section, kind: entries.Kind, into: str
) -> None:
    files = SETS[set_name]()
    text = minifile.template(section, kind, libraries=["monash", "rmit", "vu"])
    applied = edits.apply(files, section, None, text)

    assert _loaded(applied) == _loaded(edits.candidate(files, section, None, text))
    new_id = {"libraries": "new-library"}.get(section, f"new-{kind}")
    assert new_id in _loaded(applied)[0 if section == "libraries" else 1]
    if set_name == "exported":
        into = "exported.yaml"
    for (name, old), (_, new) in zip(files, applied, strict=True):
        if name != into:
            assert new == old
            continue
        old_lines, new_lines = _lines(old), _lines(new)
        added = [ln for ln in difflib.ndiff(old_lines, new_lines) if ln[:2] in ("+ ", "- ")]
        assert all(ln.startswith("+ ") for ln in added)  # nothing removed or changed
        assert entries.find(applied, section, new_id) == entries.Entry(
            section,
            new_id,
            name,
            entries.find(applied, section, new_id).data,  # type: ignore[union-attr]
        )
        written = [ln.split("  #")[0].rstrip() for ln in new_lines]
        if set_name == "exported":  # moved to the file's own column: "- id:" under the key
            assert f"- id: {new_id}" in written
        else:
            assert f"  - id: {new_id}" in written
            assert new_lines[len(old_lines)] == ""  # a blank line, as between the others


def test_a_new_agreement_with_nowhere_to_go_gets_a_file_of_its_own() -> None:
    files = [(n, t) for n, t in _examples() if n == "libraries.yaml"]
    files.append(("agreements.yaml", "libraries:\n  - id: extra\n    name: Extra\n"))
    text = minifile.template("agreements", "bilateral", libraries=["rmit", "monash"])
    text = text.replace("categories: [staff]", "categories: [staff]")

    applied = edits.apply(files, "agreements", None, text)

    assert applied[:2] == files
    assert applied[2][0] == "agreements-2.yaml"
    assert "new-bilateral" in policies.load_sources(applied).agreements


def test_the_entries_in_load_order_and_where_they_are() -> None:
    files = _examples()
    found = entries.entries(files, "agreements")
    assert [e.id for e in found][:2] == ["monash-rmit-staff", "rmit-monash-staff"]
    assert len(found) == 10 and len(entries.entries(files, "libraries")) == 7
    rmit = entries.find(files, "libraries", "rmit")
    assert rmit is not None and rmit.file == "libraries.yaml"
    assert rmit.data["card_prefixes"] == ["2111"]
    assert entries.find(files, "libraries", "caval-2026") is None
    with pytest.raises(KeyError):
        minifile.editable(files, "agreements", "nope")


def test_removing_the_last_entries_of_a_file() -> None:
    files = _examples()
    once = edits.apply(files, "agreements", "latrobe-suspends-rmit", None)
    twice = edits.apply(once, "agreements", "vu-suspends-swinburne-undergrad", None)
    assert "suspensions.yaml" in [n for n, _ in once]
    assert "suspensions.yaml" not in [n for n, _ in twice]  # a file with nothing must not load
    assert _loaded(twice) == _loaded(
        edits.candidate(once, "agreements", "vu-suspends-swinburne-undergrad", None)
    )

    mixed = [
        *files[:2],
        (
            "mixed.yaml",
            "libraries:\n  - id: extra\n    name: Extra\n"
            "agreements:  # one\n  - id: extra-rmit\n    kind: suspension\n    lender: extra\n"
            "    borrowers_from: [rmit]\n    reason: Closed\n",
        ),
        *files[2:],
    ]
    applied = edits.apply(mixed, "agreements", "extra-rmit", None)
    assert applied[2][1] == "libraries:\n  - id: extra\n    name: Extra\nagreements: []  # one\n"
    assert "extra" in policies.load_sources(applied).libraries


YAML12 = """\
libraries:
  - id: no
    name: Norway Library
    card_prefixes: ["2111", "0777"]
    categories: {on: staff, Y: undergraduate}
  - id: rmit
    name: RMIT
    card_prefixes: ["2112"]
    categories: {UG: undergraduate, STAFF: staff}
agreements:
  - id: no-rmit
    kind: bilateral
    lender: no
    borrowers_from: [rmit]
    effective: {from: 2026-03-01, until: 2027-02-28}
    categories: [undergraduate]
    standing: {max_fines: 10.00}
    terms: {max_items: 3, loan_days: 14}
  - id: rmit-no
    kind: bilateral
    lender: rmit
    borrowers_from: [no]
    categories: [staff]
    standing:
      max_fines: 10.1
    terms: {max_items: 3, loan_days: 14}
"""


def test_yaml_1_2_values_survive_an_edit() -> None:
    files = [("net.yaml", YAML12)]
    text = minifile.editable(files, "agreements", "no-rmit").replace("3,", "4,")
    applied = edits.apply(files, "agreements", "no-rmit", text)
    written = applied[0][1]
    assert "standing: {max_fines: 10.00}" in written and "max_fines: 10.1\n" in written
    loaded = policies.load_sources(applied)
    assert "no" in loaded.libraries
    assert loaded.libraries["no"].card_prefixes == ("2111", "0777")
    assert loaded.libraries["no"].categories == {"on": "staff", "Y": "undergraduate"}
    agreement = loaded.agreements["no-rmit"]
    assert isinstance(agreement, policies.Bilateral)
    assert agreement.lender == "no" and agreement.terms.max_items == 4
    assert agreement.standing.max_fines == Decimal("10.00")
    assert str(agreement.effective.until) == "2027-02-28"

    renamed = minifile.editable(files, "libraries", "no").replace("Norway", "Norge")
    assert policies.load_sources(edits.apply(files, "libraries", "no", renamed)).libraries[
        "no"
    ].name == ("Norge Library")


def test_problems_in_the_textarea_carry_its_line_numbers() -> None:
    files = _examples()
    text = minifile.editable(files, "agreements", "caval-2026")
    text = text.replace("max_fines: 10.00", "max_fines: 10.005").replace("holds: 3,", "holdz: 3,")
    with pytest.raises(policies.InvalidAgreements) as raised:
        policies.load_sources(edits.candidate(files, "agreements", "caval-2026", text))
    lines = text.split("\n")
    where = {(p.file, p.line) for p in raised.value.problems}
    assert (EDITED, 1 + next(i for i, ln in enumerate(lines) if "10.005" in ln)) in where
    assert (EDITED, 1 + next(i for i, ln in enumerate(lines) if "holdz" in ln)) in where


def test_a_textarea_sent_back_with_crlf_and_a_bom() -> None:
    files = _examples()
    text = minifile.editable(files, "libraries", "vu").replace("Victoria", "Vic")
    applied = edits.apply(files, "libraries", "vu", "\ufeff" + text.replace("\n", "\r\n"))
    new = dict(applied)["libraries.yaml"]
    assert "\r" not in new and "\ufeff" not in new
    assert "    name: Vic University Library\n" in new


@pytest.mark.parametrize(
    ("entry_id", "text", "message", "line"),
    [
        ("vu", "libraries:\n  - id: vic\n    name: V\n", "the id cannot change", 2),
        (
            None,
            "libraries:\n  - id: rmit\n    name: R\n",
            "already a library with the id 'rmit'",
            2,
        ),
        ("gone", "libraries:\n  - id: gone\n    name: G\n", "no library 'gone'", None),
        ("vu", "libraries:\n  - id: vu\n    name: V\n  - id: v2\n    name: W\n", "2 entries", 1),
        ("vu", "libraries:\n  - id: vu\n    name: V\nagreements: []\n", "'agreements'", 4),
        ("vu", "agreements:\n  - id: vu\n    name: V\n", "unexpected key 'agreements'", 1),
        ("vu", "libraries: [{id: vu, name: V}]\n", "flow list", 1),
        ("vu", "libraries:\n  - name: V\n", "needs an id", 2),
        ("vu", "libraries:\n  - id: vu\n   name: [\n", "not valid YAML", None),
        ("vu", "- id: vu\n", "expected libraries:", 1),
        ("vu", "%YAML 1.1\n---\nlibraries:\n  - id: vu\n    name: V\n", "directives", 1),
    ],
)
def test_what_cannot_be_applied_is_refused(
    entry_id: str | None, text: str, message: str, line: int | None
) -> None:
    with pytest.raises(EntryRefused, match=re.escape(message)) as raised:
        edits.apply(_examples(), "libraries", entry_id, text)
    assert isinstance(raised.value, ValueError)
    assert raised.value.problem.file == EDITED and raised.value.line == line


def test_nothing_to_do_and_a_missing_entry_are_refused() -> None:
    with pytest.raises(EntryRefused):
        edits.apply(_examples(), "agreements", None, None)
    with pytest.raises(EntryRefused):
        edits.candidate(_examples(), "agreements", "nope", None)


FLOW = """\
# written by hand, flow style
agreements: [{id: a-b, kind: bilateral, lender: rmit, borrowers_from: [monash],
              categories: [staff], standing: {max_fines: 10.00},
              terms: {max_items: 2, loan_days: 7}},
             {id: b-a, kind: suspension, lender: monash, borrowers_from: [rmit], reason: "no"}]
"""


@pytest.mark.parametrize("entry_id", ["a-b", "b-a"])
@pytest.mark.parametrize("how", ["term", "delete"])
def test_entries_of_a_flow_list(entry_id: str, how: str) -> None:
    files = [*_examples(), ("flow.yaml", FLOW)]
    shown = minifile.editable(files, "agreements", entry_id)
    assert shown.startswith(f"agreements:\n  - id: {entry_id}\n")
    text = _edit(shown, how)
    applied = edits.apply(files, "agreements", entry_id, text)
    assert _loaded(applied) == _loaded(edits.candidate(files, "agreements", entry_id, text))
    assert applied[:-1] == files[:-1]
    written = applied[-1][1]
    assert written.startswith("# written by hand, flow style\nagreements: [")
    if how == "delete":
        assert entry_id not in policies.load_sources(applied).agreements
    if entry_id == "a-b" and how == "term":
        assert "max_fines: 10.00" in written and "max_items: 3" in written


def test_a_new_entry_is_not_added_to_a_flow_list() -> None:
    files = [(n, t) for n, t in _examples() if n != "suspensions.yaml"]
    files.insert(0, ("flow.yaml", FLOW))
    text = minifile.template("agreements", "suspension", libraries=["vu", "rmit"])
    applied = edits.apply(files, "agreements", None, text)
    assert applied[0] == files[0]
    assert entries.find(applied, "agreements", "new-suspension").file == "bilateral.yaml"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", entries.KINDS)
def test_every_template_is_a_valid_entry_once_its_libraries_exist(kind: entries.Kind) -> None:
    template = minifile.template("agreements", kind)
    assert template.startswith("agreements:\n") and "#" in template
    filled = minifile.template("agreements", kind, libraries=["rmit", "monash"])
    policies.load_sources([*_examples(), (EDITED, filled)])
    with pytest.raises(ValueError, match="unknown kind"):
        minifile.template("agreements", "reciprocal")  # type: ignore[arg-type]
