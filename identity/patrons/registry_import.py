"""Importing a library's patrons into the hub's registry from CSV (``hub patrons import``).

The CSV has a header: ``card``, ``name``, ``category`` (the home ILS's code), one of ``pin`` or
``pin_hash`` (an argon2 or bcrypt hash exported from an ILS, kept as it is), and optionally
``expires`` (ISO date, empty for none), ``fines`` (decimal) and ``flags`` (comma-separated
names, docs/agreements.md). Names and category codes are read in Unicode NFC; a card must match the
library's ``card_pattern``, as at sign-in. Every row is checked before anything is written; by
default one bad row means nothing is imported. Existing cards are updated, new ones added,
others left alone.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from os import cpu_count
from pathlib import Path

from sqlmodel import Session, select

import policies
from identity.admin import audit
from identity.patrons.cards import NotACard, read_card
from identity.security import passwords
from identity.store.database import lock
from identity.store.models import RegistryPatron, utcnow

REQUIRED = ("card", "name", "category")
OPTIONAL = ("expires", "fines", "flags")
CARD = re.compile(r"[0-9A-Za-z]{1,64}")


class ImportRefused(Exception):
    """The file as a whole cannot be imported (its header, or the library); nothing was."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    card: str
    name: str
    category: str
    pin: str | None
    pin_hash: str | None
    expires: date | None
    fines: Decimal
    flags: tuple[str, ...]


@dataclass
class Checked:
    """The rows that passed, and ``(line, reason)`` for each row that did not."""

    rows: list[Row] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_csv(path: Path, library: policies.Library) -> Checked:
    """Check every row of the file against the library; raises ``ImportRefused`` for a file
    that is not a patron CSV at all."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return check_rows(csv.reader(handle), library)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportRefused(f"cannot read {path}: {exc}") from None


def read_text(data: bytes, library: policies.Library) -> Checked:
    """``read_csv`` for a file's bytes (an upload)."""
    return check_rows(parse(data), library)


def parse(data: bytes) -> list[list[str]]:
    """A file's lines, read as CSV with its header checked (``ImportRefused`` if it is not a
    patron CSV at all); its rows are not checked yet."""
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except UnicodeDecodeError:
        raise ImportRefused("the file is not UTF-8 text") from None
    except csv.Error as exc:
        raise ImportRefused(f"the file is not CSV: {exc}") from None
    _check_header([h.strip() for h in lines[0]] if lines else [])
    return lines


def patron_rows(lines: Sequence[list[str]]) -> int:
    """How many patron rows ``parse``'s lines have (not the header, nor blank lines)."""
    return sum(1 for values in lines[1:] if any(v.strip() for v in values))


def check_rows(
    lines: Iterable[list[str]],
    library: policies.Library,
    progress: Callable[[int], None] = lambda done: None,
) -> Checked:
    """Check each row; ``progress(n)`` is told as the n-th patron row is checked."""
    rows = iter(lines)
    header = [h.strip() for h in next(rows, [])]
    _check_header(header)
    checked = Checked()
    seen: dict[str, int] = {}
    done = 0
    for number, values in enumerate(rows, start=2):
        if not any(v.strip() for v in values):
            continue  # blank line
        done += 1
        progress(done)
        if len(values) != len(header):
            checked.rejected.append((number, f"{len(values)} fields, the header has {len(header)}"))
            continue
        record = dict(zip(header, (v.strip() for v in values), strict=True))
        try:
            row = _row(number, record, library)
        except ValueError as exc:
            checked.rejected.append((number, str(exc)))
            continue
        if row.card in seen:
            checked.rejected.append((number, f"card {row.card} is also on line {seen[row.card]}"))
            continue
        seen[row.card] = number
        checked.rows.append(row)
    return checked


def _check_header(header: Sequence[str]) -> None:
    if not header:
        raise ImportRefused("the file is empty; it needs a header line")
    missing = [c for c in REQUIRED if c not in header]
    secrets = [c for c in ("pin", "pin_hash") if c in header]
    unknown = [c for c in header if c not in (*REQUIRED, *OPTIONAL, "pin", "pin_hash")]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if len(secrets) != 1:
        problems.append("the header needs exactly one of pin and pin_hash")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if duplicated:
        problems.append(f"column(s) named twice: {', '.join(duplicated)}")
    if problems:
        raise ImportRefused("; ".join(problems))


def _row(line: int, record: dict[str, str], library: policies.Library) -> Row:
    card = record["card"]
    if not CARD.fullmatch(card):
        raise ValueError(f"card {card!r} is not 1-64 letters and digits")
    try:
        read_card(card, library)  # as at sign-in: its card_pattern
    except NotACard:
        raise ValueError(f"card {card} does not match {library.id}'s card_pattern") from None
    if library.card_prefixes and not card.startswith(tuple(library.card_prefixes)):
        raise ValueError(
            f"card {card} does not start with {library.id}'s prefixes "
            f"({', '.join(library.card_prefixes)})"
        )
    name = unicodedata.normalize("NFC", record["name"])
    if not name:
        raise ValueError("name is empty")
    category = unicodedata.normalize("NFC", record["category"])
    if library.hub_category(category) is None:
        codes = ", ".join(library.categories) or "none"
        raise ValueError(f"category {category!r} is not in {library.id}'s category map ({codes})")
    pin, pin_hash = record.get("pin"), record.get("pin_hash")
    if pin is not None and not 1 <= len(pin) <= 64:
        raise ValueError("pin is empty" if not pin else "pin is longer than 64 characters")
    if pin_hash is not None and not passwords.is_hash(pin_hash):
        raise ValueError("pin_hash is not an argon2 or bcrypt hash")
    return Row(
        line=line,
        card=card,
        name=name,
        category=category,
        pin=pin,
        pin_hash=pin_hash,
        expires=_date(record.get("expires", "")),
        fines=_fines(record.get("fines", "")),
        flags=_flags(record.get("flags", "")),
    )


def _date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expires {text!r} is not a date like 2027-02-28") from None


def _fines(text: str) -> Decimal:
    if not text:
        return Decimal(0)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"fines {text!r} is not an amount like 12.50") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"fines {text!r} is not an amount in cents, 0 or more")
    if amount >= Decimal("1e9"):
        raise ValueError(f"fines {text!r} is too large")
    return amount


def _flags(text: str) -> tuple[str, ...]:
    flags = tuple(sorted({f.strip() for f in text.split(",") if f.strip()}))
    unknown = [f for f in flags if f not in policies.FLAGS]
    if unknown:
        raise ValueError(f"unknown flag {unknown[0]!r}; the flags are: {', '.join(policies.FLAGS)}")
    return flags


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    #: patrons already in the registry whom the file does not list (left as they are)
    not_in_file: int = 0


def hash_pins(
    rows: Sequence[Row], progress: Callable[[int], None] = lambda done: None
) -> list[str]:
    """The PIN hash to store for each row, hashing plain PINs on every core (argon2 leaves the
    interpreter while it works); ``progress(n)`` is told after each of them, in order, and may
    raise to stop. Done before the import's transaction, which then holds the
    database's write lock only for the writing."""
    pool = ThreadPoolExecutor(max_workers=cpu_count() or 1)
    try:
        hashes = []
        for done, hashed in enumerate(pool.map(_pin_hash, rows), start=1):
            hashes.append(hashed)
            progress(done)
    finally:  # if progress raised (an import stopped), the rows not yet begun are not hashed
        pool.shutdown(cancel_futures=True)
    return hashes


def import_rows(
    *,
    session: Session,
    library: str,
    rows: Sequence[Row],
    hashes: Sequence[str],
    actor: str,
    rejected: int = 0,
) -> Imported:
    """Write ``rows`` (with their ``hash_pins``) into the registry of ``library`` in the
    caller's transaction, and audit it."""
    lock(session, f"patrons:{library}")
    existing = {
        p.card: p
        for p in session.exec(select(RegistryPatron).where(RegistryPatron.library == library))
    }
    added = 0
    now = utcnow()
    for row, pin_hash in zip(rows, hashes, strict=True):
        patron = existing.get(row.card)
        if patron is None:
            patron = RegistryPatron(
                library=library, card=row.card, pin_hash=pin_hash, name="", category=""
            )
            added += 1
        patron.pin_hash, patron.name, patron.category = pin_hash, row.name, row.category
        patron.expires, patron.fines, patron.flags = row.expires, row.fines, list(row.flags)
        patron.updated_at = now
        session.add(patron)
    result = Imported(
        added=added,
        updated=len(rows) - added,
        not_in_file=len(existing.keys() - {r.card for r in rows}),
    )
    audit.record(
        session=session,
        actor=actor,
        action="patrons.import",
        subject=f"library:{library}",
        after={"added": result.added, "updated": result.updated, "rejected": rejected},
    )
    return result


def _pin_hash(row: Row) -> str:
    if row.pin_hash is not None:
        return row.pin_hash
    assert row.pin is not None
    return passwords.hash_secret(row.pin)
