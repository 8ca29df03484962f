"""A patron's directory entry read as a ``CardHolder``, and Active Directory's account state.

- ``name``: the first value of the configured attribute (``cn`` by default), trimmed.
- ``category``: the configured attribute may hold several values (``eduPersonAffiliation``:
  member, student); the first code of the library's ``categories`` map that the entry holds is
  the patron's, else the entry's first value. No value: the empty code, which maps to nothing.
- ``expires``: one value, either a GeneralizedTime (RFC 4517 §3.3.13, ``20271231235959Z``), a
  date (``2027-12-31`` or ``20271231``), or a Windows FILETIME (100 ns since 1601, Active
  Directory's ``accountExpires``; 0 and 0x7FFFFFFFFFFFFFFF mean never). An instant is the
  moment the account stops: the card's last day is the UTC day before it (the same day, unless
  the instant is midnight). A date is the last day itself.
- Refused whatever the password: ``userAccountControl`` with ACCOUNTDISABLE (0x2) set, and
  ``accountExpires`` in the past. Both are asked for on every entry; other directories simply
  do not have them.

Values are UTF-8 (RFC 4517), read in Unicode NFC like every name and code that reaches the hub.
Anything that cannot be read as described is ``BadRecord``, never a guess (no "no expiry" for an
expiry the hub cannot read).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import policies
from identity.patrons.connectors import CardHolder
from identity.patrons.connectors.ldap.client import Entry
from identity.patrons.connectors.ldap.errors import BadRecord
from policies.model import FLAGS, LdapStanding
from policies.model import LdapConnector as LdapSettings

USER_ACCOUNT_CONTROL, ACCOUNT_EXPIRES = "userAccountControl", "accountExpires"
ACCOUNTDISABLE = 0x2
FILETIME_NEVER = (0, 0x7FFFFFFFFFFFFFFF)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_GENERALIZED = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?([0-9]{2})?([.,][0-9]+)?"
    r"(Z|[+-][0-9]{2}([0-9]{2})?)"
)
_DAY = re.compile(r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})")


@dataclass(frozen=True, slots=True)
class Reading:
    holder: CardHolder
    #: why the account cannot sign in whatever its password (disabled, expired), or None
    refused: str | None


def attributes(settings: LdapSettings, match: str | None = None) -> list[str]:
    """The attributes to ask for: the mapped ones, Active Directory's account state, and
    ``match`` (the card at the library's standing source) when the library names one."""
    wanted = [settings.name, settings.category, settings.expires, match]
    if isinstance(settings, LdapStanding):  # a standing source: fines and flags too
        wanted += [settings.fines, settings.flags]
    wanted += [USER_ACCOUNT_CONTROL, ACCOUNT_EXPIRES]
    names: dict[str, str] = {}
    for name in wanted:
        if name is not None:
            names.setdefault(name.lower(), name)
    return list(names.values())


def read(
    library: policies.Library, settings: LdapSettings, card: str, entry: Entry, now: datetime
) -> Reading:
    """What ``entry`` says about the patron, or ``BadRecord``."""
    values = _Values(entry)
    expires_at = values.only(settings.expires) if settings.expires else None
    holder = CardHolder(
        library=library.id,
        card=card,
        name=(values.all(settings.name) or ("",))[0].strip(),
        category=category(library, values.all(settings.category)),
        expires=None if expires_at is None else expiry(expires_at, settings.expires or ""),
        fines=Decimal(0),
        flags=frozenset(),
    )
    if isinstance(settings, LdapStanding):
        holder = replace(holder, fines=fines(values, settings), flags=flags(values, settings))
    elif library.standing is not None:  # the library's own entry: its card at the source
        found = [v.strip() for v in values.all(library.standing.match) if v.strip()]
        holder = replace(holder, standing_card=found[0] if found else None)
    return Reading(holder, refused(values, now))


def fines(values: _Values, settings: LdapStanding) -> Decimal:
    """A standing source's ``fines``: one plain number (``12.50``); none is nothing owed."""
    text = values.only(settings.fines) if settings.fines else None
    if text is None or not text.strip():
        return Decimal(0)
    if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,4})?", text.strip()):
        raise BadRecord(f"a {settings.fines} that is not an amount")
    return Decimal(text.strip())


def flags(values: _Values, settings: LdapStanding) -> frozenset[str]:
    """A standing source's ``flags``: each value a flag name of docs/agreements.md."""
    named = values.all(settings.flags) if settings.flags else ()
    unknown = [name for name in named if name not in FLAGS]
    if unknown:
        raise BadRecord(f"a {settings.flags} value that is not a patron flag")
    return frozenset(named)


def category(library: policies.Library, codes: tuple[str, ...]) -> str:
    for code in library.categories:
        if code in codes:
            return code
    return codes[0] if codes else ""


def refused(values: _Values, now: datetime) -> str | None:
    control = values.only(USER_ACCOUNT_CONTROL)
    if control is not None:
        try:
            flags = int(control)
        except ValueError:
            raise BadRecord(f"a {USER_ACCOUNT_CONTROL} that is not a number") from None
        if flags & ACCOUNTDISABLE:
            return "the account is disabled"
    ends = values.only(ACCOUNT_EXPIRES)
    if ends is not None:
        instant = filetime(ends, ACCOUNT_EXPIRES)
        if instant is not None and instant <= now:
            return "the account has expired"
    return None


def expiry(value: str, attribute: str) -> date | None:
    """The card's last day from an expiry value (see the module's docstring)."""
    text = value.strip()
    if text.isdigit() and (len(text) >= 15 or int(text) == 0):
        instant = filetime(text, attribute)
        return None if instant is None else last_day(instant)
    found = _GENERALIZED.fullmatch(text)
    try:
        if found is not None:
            year, month, day, hour, minute, second, fraction, zone, _ = found.groups()
            offset = timedelta(0)
            if zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
            instant = datetime(
                int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0),
                int((fraction or ".")[1:7].ljust(6, "0")),
                tzinfo=UTC,
            ) - offset  # fmt: skip
            return last_day(instant)
        found = _DAY.fullmatch(text)
        if found is not None:
            return date(int(found[1]), int(found[2]), int(found[3]))
    except (ValueError, OverflowError):
        pass
    raise BadRecord(f"an expiry ({attribute}) that is not a date")


def filetime(value: str, attribute: str) -> datetime | None:
    """A FILETIME as an instant; None for "never"."""
    try:
        ticks = int(value)
    except ValueError:
        raise BadRecord(f"an {attribute} that is not a number") from None
    if ticks in FILETIME_NEVER:
        return None
    if ticks < 0:
        raise BadRecord(f"an {attribute} that is not a date")
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None  # after the year 9999: never, in effect


def last_day(instant: datetime) -> date:
    return (instant - timedelta(microseconds=1)).astimezone(UTC).date()


class _Values:
    """An entry's attribute values as text, by attribute name in any case."""

    def __init__(self, entry: Entry) -> None:
        self._entry = entry

    def all(self, attribute: str) -> tuple[str, ...]:
        raw = self._entry.attributes.get(attribute.lower(), ())
        try:
            return tuple(unicodedata.normalize("NFC", value.decode()) for value in raw)
        except UnicodeDecodeError:
            raise BadRecord(f"a {attribute} that is not UTF-8") from None

    def only(self, attribute: str) -> str | None:
        found = self.all(attribute)
        if len(found) > 1:
            raise BadRecord(f"{len(found)} values of {attribute}, where one is read")
        return found[0] if found else None
