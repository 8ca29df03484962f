"""An entry's form without the web: every example entry's form, posted unchanged, gives back its
text byte for byte; and the validator's problems with a form's text come back to the field they
concern (by the key path in the message, else the keys holding the line and column), or to none."""

from __future__ import annotations

from pathlib import Path

import pytest

import policies
from identity.agreements import edits, entries, formfields, forms, library_forms, minifile

EXAMPLES = Path(policies.__file__).parent / "examples"
FILES = [(Path(name).name, text) for name, text in policies.read(EXAMPLES)]
IN_FORCE = policies.load_sources(FILES)


@pytest.mark.parametrize("entry", entries.entries(FILES, "agreements"), ids=lambda e: e.id)
def test_an_agreement_posted_unchanged_is_written_as_it_was(entry: entries.Entry) -> None:
    text = minifile.editable(FILES, "agreements", entry.id)
    kind = entry.data["kind"]
    fields = forms.agreement_fields(kind, new=False)
    posted = formfields.shown(fields, entry.data)
    values, invalid = formfields.read(fields, posted, forms.options_of(IN_FORCE).ids())
    assert invalid == {}
    assert forms.agreement_text(text, kind, fields, values) == text


@pytest.mark.parametrize("entry", entries.entries(FILES, "libraries"), ids=lambda e: e.id)
def test_a_library_posted_unchanged_is_written_as_it_was(entry: entries.Entry) -> None:
    text = minifile.editable(FILES, "libraries", entry.id)
    posted = library_forms.library_shown(entry.data)
    fields = library_forms.fields_of(library_forms.kind_of(entry.data), new=False)
    values, invalid = formfields.read(fields, posted, forms.options_of(IN_FORCE).ids())
    categories, wrong = library_forms.categories_read(posted)
    assert invalid == {} and wrong == ""
    assert library_forms.library_text(text, fields, values, categories) == text


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"max_items": ["0"]}, "max_items"),
        ({"from": ["2026-05-01"], "until": ["2026-01-01"]}, "until"),  # the map's own problem
        ({"borrowers_from": ["rmit", "monash"]}, "borrowers_from"),  # the lender lends to itself
        ({"categories": ["staff", "public"]}, None),  # a warning elsewhere: not a problem
    ],
)
def test_the_validators_problems_come_back_to_their_field(
    edit: dict[str, list[str]], field: str | None
) -> None:
    entry = entries.find(FILES, "agreements", "monash-rmit-staff")
    assert entry is not None
    fields = forms.agreement_fields("bilateral", new=False)
    posted = formfields.shown(fields, entry.data) | edit
    values, invalid = formfields.read(fields, posted, forms.options_of(IN_FORCE).ids())
    assert invalid == {}
    base = minifile.editable(FILES, "agreements", entry.id)
    text = forms.agreement_text(base, "bilateral", fields, values)
    try:
        policies.load_sources(edits.candidate(FILES, "agreements", entry.id, text))
    except policies.InvalidAgreements as exc:
        aliases = forms.AGREEMENT_ALIASES
        found = {formfields.field_of(p, text, fields, aliases) for p in exc.problems}
    else:
        found = {None}
    assert found == {field}
