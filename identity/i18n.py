"""What patrons read, in their language: messages through gettext, and dates, numbers and
money formatted by Babel for the locale of the request being answered.

The web layer sets ``current_locale`` for each request (``identity.web.language``: the
patron's ``lang`` cookie, else ``Accept-Language``, else English); code below it (advice for a
decision, problem pages) calls ``gettext`` (imported as ``_``) with English text whose
placeholders are named (``_("You owe {amount} to {library}.").format(...)``), and formats
values with ``money``, ``day`` and ``number``, so every string can be extracted into a catalog.
Templates use the same functions through Jinja's i18n extension (``install``).

The languages are English (the text in the code) and one catalog per language under
``identity/locales/<lang>/LC_MESSAGES/messages.po``, compiled to ``messages.mo`` beside it
(``make translations``): a library adds a language by adding a catalog (docs/languages.md).
Each catalog is read once per process."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from jinja2 import Environment

DEFAULT_LOCALE = "en"
#: the catalogs: ``<lang>/LC_MESSAGES/messages.mo`` (compiled from the ``.po`` beside it)
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def languages() -> tuple[str, ...]:
    """The languages patrons may choose: English, then each language with a compiled catalog,
    in the order of their codes."""
    found = sorted(
        path.parent.parent.name
        for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.parent.parent.name != DEFAULT_LOCALE
    )
    return (DEFAULT_LOCALE, *found)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale``, read once; English (the messages as written) for English and
    for a locale without a catalog."""
    if locale == DEFAULT_LOCALE or locale not in languages():
        return NullTranslations()
    return Translations.load(LOCALES_DIR, [locale], DOMAIN)


def native_name(locale: str) -> str:
    """The language's name in itself, as a switcher offers it: ``English``, ``Français``."""
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (ValueError, UnknownLocaleError):
        return locale
    return name[:1].upper() + name[1:]


def negotiate(accept_language: str | None) -> str | None:
    """The language of ours an ``Accept-Language`` header prefers most (``fr-CA,en;q=0.8``:
    French), or None if it names none of them."""
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, n, tag.strip().replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(wanted)]
    found = Locale.negotiate(preferred, languages(), sep="-") if preferred else None
    return None if found is None else str(found)


def gettext(message: str) -> str:
    """The message in the current locale's language."""
    return translations(current_locale.get()).ugettext(message)


def N_(message: str) -> str:
    """``message`` as it is, marked for extraction: text kept in a constant or an exception
    and translated with ``gettext`` when it is shown (a module's constants are made once, in
    no request's language)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for ``n``, in the current locale's language."""
    return translations(current_locale.get()).ungettext(singular, plural, n)


def money(amount: Decimal, currency: str) -> str:
    """An amount of money as the current locale writes it: ``$25.50``, ``25,50 $``."""
    return format_currency(amount, currency, locale=current_locale.get())


def day(value: date) -> str:
    """A date as the current locale writes it in full: ``7 December 2026``."""
    return format_date(value, format="long", locale=current_locale.get())


def number(value: int | Decimal) -> str:
    """A number as the current locale writes it."""
    return format_decimal(value, locale=current_locale.get())


def listing(items: list[str]) -> str:
    """Items as the current locale lists them: ``A, B and C``, ``A, B et C``."""
    return format_list(items, locale=current_locale.get()) if items else ""


def install(environment: Environment) -> None:
    """Jinja's i18n extension in ``environment``, with these functions: ``{% trans %}`` blocks
    and ``_()`` in templates are translated for the request's locale (and escaped); and
    ``money``, ``day``, ``number`` and ``listing`` to format values for it."""
    environment.globals.update(money=money, day=day, number=number, listing=listing)
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
