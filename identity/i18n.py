"""What patrons read, in their language: messages through gettext, and dates, numbers and
money formatted by Babel for the locale of the request being answered.

The web layer sets ``current_locale`` for each patron-facing request; code below it (advice
for a decision, problem pages) calls ``gettext`` (imported as ``_``) with English text whose
placeholders are named (``_("You owe {amount} to {library}.").format(...)``), and formats
values with ``money``, ``day`` and ``number``, so every string can be extracted into a catalog.
Until catalogs are loaded, messages are English."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

DEFAULT_LOCALE = "en"
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


def gettext(message: str) -> str:
    """The message in the current locale's language."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for ``n``, in the current locale's language."""
    return singular if n == 1 else plural


def money(amount: Decimal, currency: str) -> str:
    """An amount of money as the current locale writes it: ``$25.50``, ``25,50 $``."""
    return format_currency(amount, currency, locale=current_locale.get())


def day(value: date) -> str:
    """A date as the current locale writes it in full: ``7 December 2026``."""
    return format_date(value, format="long", locale=current_locale.get())


def number(value: int | Decimal) -> str:
    """A number as the current locale writes it."""
    return format_decimal(value, locale=current_locale.get())
