"""The locale an API answer is written in, from the request's ``Accept-Language`` (RFC 9110
12.5.4): the most preferred language the hub has (``i18n.languages()``); else
``identity.i18n.DEFAULT_LOCALE``. English, the language the messages are written in, keeps the
region asked for when Babel knows it (``en-AU`` writes A$25.50 as $25.50); a translated
language is its catalog's code (``fr-CA``: ``fr``), the locale its catalog is found by."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from identity import i18n

_MAX_TAGS = 20


def preferred(header: str | None) -> list[str]:
    """The language tags of ``header``, most preferred first (q=0 left out)."""
    tags: list[tuple[float, int, str]] = []
    for rank, part in enumerate((header or "").split(",")[:_MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and quality > 0:
            tags.append((-quality, rank, tag.strip()))
    return [tag for _, _, tag in sorted(tags)]


def locale_for(header: str | None) -> str:
    for tag in preferred(header):
        if tag == "*":
            break
        try:
            locale = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language in i18n.languages():
            return str(locale) if locale.language == i18n.DEFAULT_LOCALE else locale.language
    return i18n.DEFAULT_LOCALE
