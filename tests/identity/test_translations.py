"""Every patron-facing string is translated in every language the hub offers: the text of the
code and the patron templates, extracted as ``make translations`` extracts it (babel.cfg), has a
translation in each catalog, not empty, not fuzzy, with the same placeholders; and the compiled
catalogs the hub reads are those of the ``.po`` files committed beside them."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from identity import i18n

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [lang for lang in i18n.languages() if lang != i18n.DEFAULT_LOCALE]
#: ``%(name)s`` (Jinja's trans blocks, newstyle gettext) and ``{name}`` (str.format)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


@cache
def extracted() -> dict[str, tuple[str, ...]]:
    """Each message id the patron code and templates hold, with its plural (if any), as
    ``pybabel extract -F babel.cfg`` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: dict[str, tuple[str, ...]] = {}

    def wanted(path: str) -> bool:  # the hub's own package, not the tests or the SDK
        relative = Path(path).resolve().relative_to(ROOT).parts
        return not relative or relative[0] == "identity"

    messages = extract_from_dir(ROOT, method_map, options_map, directory_filter=wanted)
    for _, _, message, _, _ in messages:
        ids = (message,) if isinstance(message, str) else tuple(message)
        found[ids[0]] = ids
    return found


def catalog(lang: str) -> Catalog:
    path = i18n.LOCALES_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as po:
        return read_po(po, locale=lang)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_french_and_spanish_are_offered() -> None:
    assert {"fr", "es"} <= set(TRANSLATED)
    assert i18n.languages()[0] == "en"


def test_the_patron_pages_text_is_extracted() -> None:
    found = extracted()
    # from a template, a trans block with a variable, a plural, and the Python code
    assert "Privacy" in found and "Card number" in found
    assert "Sign in for %(lender)s" in found
    assert any(len(ids) == 2 and "%(days)s days" in ids[1] for ids in found.values())
    assert "{lender} lends to patrons of {libraries}." in found


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_patron_string_is_translated(lang: str) -> None:
    translations = catalog(lang)
    problems = []
    for msgid, ids in sorted(extracted().items()):
        entry = translations.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        string = entry.string
        forms = [str(f or "") for f in (string if isinstance(string, tuple | list) else [string])]
        if entry.fuzzy or not all(form.strip() for form in forms):
            problems.append(f"{'fuzzy' if entry.fuzzy else 'untranslated'}: {msgid!r}")
            continue
        if len(ids) != (2 if entry.pluralizable else 1):
            problems.append(f"plural forms differ from the code's: {msgid!r}")
        wanted = placeholders(" ".join(ids))
        for form in forms:
            if placeholders(form) != wanted:
                problems.append(f"placeholders {placeholders(form)} != {wanted}: {form!r}")
    assert problems == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalog_is_the_po_file(lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang))
    mo = i18n.LOCALES_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    assert mo.read_bytes() == compiled.getvalue(), f"run `make translations` ({mo.name} is stale)"


def test_text_and_values_follow_the_current_locale() -> None:
    token = i18n.current_locale.set("fr")
    try:
        assert i18n.gettext("Privacy") == "Confidentialité"
        assert i18n.money(Decimal("25.50"), "AUD") == "25,50\xa0$AU"
        assert i18n.day(date(2026, 12, 7)) == "7 décembre 2026"
        assert i18n.listing(["RMIT", "Monash", "Deakin"]) == "RMIT, Monash et Deakin"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.gettext("Privacy") == "Privacy"
    assert i18n.money(Decimal("25.50"), "AUD") == "A$25.50"


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,es;q=0.5", "es"),  # German is not offered: the next it accepts
        ("en;q=0.2,es-MX;q=0.9", "es"),  # by quality, not by order
        ("es;q=0", None),  # "not Spanish"
        ("de, *", None),
        ("", None),
        ("fr;q=nonsense,es", "es"),
    ],
)
def test_accept_language_is_negotiated(header: str, chosen: str | None) -> None:
    assert i18n.negotiate(header) == chosen


def test_a_language_is_added_by_adding_a_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    german = Catalog(locale="de")
    german.add("Privacy", "Datenschutz")
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "de" / "LC_MESSAGES" / "messages.mo").open("wb") as mo:
        write_mo(mo, german)
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.languages.cache_clear()
    i18n.translations.cache_clear()
    try:
        assert i18n.languages() == ("en", "de")
        assert i18n.native_name("de") == "Deutsch"
        assert i18n.negotiate("de-AT,fr;q=0.9") == "de"
        token = i18n.current_locale.set("de")
        assert i18n.gettext("Privacy") == "Datenschutz"
        i18n.current_locale.reset(token)
    finally:
        monkeypatch.undo()
        i18n.languages.cache_clear()
        i18n.translations.cache_clear()
    assert "de" not in i18n.languages()
